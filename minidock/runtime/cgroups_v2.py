"""cgroup v2 backend: one unified directory per group (`<root>/minidock/<id>`).

`create` first enables the controllers minidock uses (cpu, memory, pids, and cpuset or io when a limit
needs them — those the level offers in `cgroup.controllers`) in `cgroup.subtree_control` down the
parent chain, then writes the limits.
Pause is `cgroup.freeze` (waiting for `frozen 1` in `cgroup.events`), kill is `cgroup.kill` when the
kernel has it (5.14+), OOM kills are counted in `memory.events`.
"""

from __future__ import annotations

import os
import time

from minidock.errors import NotFoundError, RuntimeSetupError
from minidock.oci.runtimespec import Resources
from minidock.runtime.cgroupmap import Support, v2_controllers, v2_writes
from minidock.runtime.cgroups import (
    FREEZE_TIMEOUT,
    CgroupStats,
    group_name,
    make_dir,
    read_int,
    read_keyed,
    read_pids,
    read_text,
    remove_dir,
    removed_on_failure,
    signal_frozen,
    signal_pids,
    write_file,
)
from minidock.runtime.explain import NullTracer, Tracer

TYPE_CHECKING = False
if TYPE_CHECKING:
    import signal
else:  # why: signal.py only wraps _signal's numbers in enums, and enum's import costs a `run` ~3 ms
    import _signal as signal

WANTED: tuple[str, ...] = ("cpu", "memory", "pids")
_ORDER = ("cpu", "cpuset", "io", "memory", "pids")  # as the kernel lists them


def _limit(text: str) -> int | None:
    text = text.strip()
    return int(text) if text.isdigit() else None


class V2Cgroup:
    """A group that is one directory of the unified hierarchy."""

    def __init__(self, name: str, path: str, tracer: Tracer | None = None) -> None:
        self.name = name
        self.path = path
        self._tracer: Tracer = tracer or NullTracer()

    def add(self, pid: int) -> None:
        write_file(f"{self.path}/cgroup.procs", str(pid), self._tracer, "cgroup: join")

    def procs(self) -> list[int]:
        return read_pids(f"{self.path}/cgroup.procs")

    def oom_killed(self) -> bool:
        return read_keyed(f"{self.path}/memory.events").get("oom_kill", 0) > 0

    def stats(self) -> CgroupStats:
        return CgroupStats(
            cpu_usage_ns=read_keyed(f"{self.path}/cpu.stat").get("usage_usec", 0) * 1000,
            memory_usage=max(read_int(f"{self.path}/memory.current")
                             - read_keyed(f"{self.path}/memory.stat").get("inactive_file", 0), 0),
            memory_limit=_limit(read_text(f"{self.path}/memory.max")),
            pids_current=read_int(f"{self.path}/pids.current"),
            pids_limit=_limit(read_text(f"{self.path}/pids.max")),
            oom_kills=read_keyed(f"{self.path}/memory.events").get("oom_kill", 0),
            **_io(self.path),
        )

    def freeze(self) -> None:
        """Freeze the group; returns once `cgroup.events` says `frozen 1` (when the kernel keeps one)."""
        write_file(f"{self.path}/cgroup.freeze", "1", self._tracer, "cgroup: freeze")
        self._wait_frozen(1)

    def thaw(self) -> None:
        write_file(f"{self.path}/cgroup.freeze", "0", self._tracer, "cgroup: thaw")
        self._wait_frozen(0)

    def _wait_frozen(self, want: int) -> None:
        events = f"{self.path}/cgroup.events"
        deadline = time.monotonic() + FREEZE_TIMEOUT
        while os.path.exists(events) and read_keyed(events).get("frozen", want) != want:
            if time.monotonic() > deadline:
                raise RuntimeSetupError(f"cgroup {self.name}: frozen did not become {want} "
                                        f"within {FREEZE_TIMEOUT}s", stage="cgroup")
            time.sleep(0.005)

    def kill_all(self, sig: int = 9) -> None:
        """SIGKILL through `cgroup.kill` when present; otherwise signal every pid, frozen meanwhile."""
        if sig == signal.SIGKILL and os.path.exists(f"{self.path}/cgroup.kill"):
            write_file(f"{self.path}/cgroup.kill", "1", self._tracer, "cgroup: kill")
            return
        if not os.path.exists(f"{self.path}/cgroup.freeze"):
            signal_pids(self.procs(), sig)
            return
        signal_frozen(self, sig)

    def remove(self) -> None:
        remove_dir(self.path)

    def paths(self) -> dict[str, str]:
        return {"unified": self.path}

    def real_paths(self) -> dict[str, str]:
        return self.paths()


def _device_filter(path: str, resources: Resources, tracer: Tracer | None) -> None:
    """Attach the eBPF device program (v2 has no devices controller); a plain test tree gets none."""
    from minidock.runtime import devicefilter

    if not devicefilter.is_cgroup2(path):
        return
    tr = tracer or NullTracer()
    with tr.step("cgroup: device filter (eBPF)", f"bpftool cgroup attach {path} device <prog> multi"):
        try:
            devicefilter.install(path, resources.devices)
        except OSError as e:
            raise RuntimeSetupError(f"cgroup: device filter on {path}: {e.strerror}", stage="cgroup") from e


class V2Driver:
    """Groups in the cgroup2 hierarchy mounted at `root`."""

    version = 2

    def __init__(self, root: str = "/sys/fs/cgroup") -> None:
        self.root = root

    def create(self, name: str, resources: Resources, tracer: Tracer | None = None) -> V2Cgroup:
        """Enable controllers down the chain, make the group, write the limits; undone on failure."""
        name = group_name(name)
        writes = v2_writes(resources)  # validate before touching the file system
        path = f"{self.root}/{name}"
        self._enable_chain(name, tracer, v2_controllers(resources))
        make_dir(path, tracer, "cgroup: create group")
        cg = V2Cgroup(name, path, tracer)
        with removed_on_failure(cg):
            if resources.blkio_weight or resources.block_devices:  # why: BFQ's weight when the kernel has
                # it, else io.weight (runc)
                writes = v2_writes(resources, bfq=os.path.exists(f"{path}/io.bfq.weight"))
            for f, value in writes:
                if (f == "memory.swap.max" and os.path.exists(f"{path}/cgroup.controllers")
                        and not os.path.exists(f"{path}/{f}")):
                    continue  # why: the kernel keeps no swap accounting (swapaccount=0): like v1's memsw
                write_file(f"{path}/{f}", value, tracer)
            if resources.devices:
                _device_filter(path, resources, tracer)
        return cg

    def _enable_chain(self, name: str, tracer: Tracer | None, extra: tuple[str, ...] = ()) -> None:
        """Make every level from root down to the parent of group `name` hand cpu/memory/pids (and
        `extra`) to its children."""
        level, offered = self.root, set(read_text(f"{self.root}/cgroup.controllers").split())
        wanted = {*WANTED, *extra}
        for part in [*name.split("/")[:-1], ""]:
            enabled = {w.lstrip("+") for w in read_text(f"{level}/cgroup.subtree_control").split()}
            want = [c for c in _ORDER if c in wanted and c in offered]
            if not enabled.issuperset(want):  # "+c" for one already on is a no-op, so ask for all
                write_file(f"{level}/cgroup.subtree_control", " ".join("+" + c for c in want), tracer)
            if not part:
                return
            make_dir(f"{level}/{part}", tracer, "cgroup: create parent group")
            level = f"{level}/{part}"
            # a new level offers what its parent enables (the kernel fills the file; a plain tree may not)
            listed = read_text(f"{level}/cgroup.controllers").split()
            offered = set(listed) if os.path.exists(f"{level}/cgroup.controllers") else enabled | set(want)

    def update(self, name: str, resources: Resources) -> None:
        """Write the limits `resources` sets (those left None stay as they are) to the existing group."""
        cg = self.open(name)
        if v2_controllers(resources):  # why: cpuset/io may not be enabled yet above this group
            self._enable_chain(cg.name, None, v2_controllers(resources))
        bfq = bool(resources.blkio_weight or resources.block_devices) and os.path.exists(f"{cg.path}/io.bfq.weight")
        for f, value in v2_writes(resources._replace(devices=()), bfq=bfq):
            if f == "memory.swap.max" and not os.path.exists(f"{cg.path}/{f}"):
                continue  # why: no swap accounting (as at create)
            write_file(f"{cg.path}/{f}", value)

    def support(self) -> Support:
        """What this host can limit (Docker's sysinfo on cgroup2): no swappiness, OOM-killer switch or
        real-time scheduling; cpuset, io, memory and cpu when the root offers those controllers."""
        offered = set(read_text(f"{self.root}/cgroup.controllers").split())
        cpuset = "cpuset" in offered
        return Support(version=2, cpuset=cpuset, cfs="cpu" in offered, memory_reservation="memory" in offered,
                       cpus=read_text(f"{self.root}/cpuset.cpus.effective").strip() if cpuset else "",
                       mems=read_text(f"{self.root}/cpuset.mems.effective").strip() if cpuset else "",
                       blkio_weight="io" in offered,
                       blkio_devices=("weight", "read_bps", "write_bps", "read_iops", "write_iops")
                       if "io" in offered else ())

    def open(self, name: str) -> V2Cgroup:
        """The existing group `name` (made by `create`, maybe in another process)."""
        name = group_name(name)
        path = f"{self.root}/{name}"
        if not os.path.isdir(path):
            raise NotFoundError(f"cgroup {name}: not found under {self.root}")
        return V2Cgroup(name, path, None)


def _io(path: str) -> dict[str, int]:
    """Bytes read and written (io.stat: `MAJ:MIN rbytes=N wbytes=N ...` lines)."""
    out = {"io_read": 0, "io_write": 0}
    for line in read_text(f"{path}/io.stat").splitlines():
        for field in line.split()[1:]:
            key, _, value = field.partition("=")
            if key in ("rbytes", "wbytes") and value.isdigit():
                out["io_read" if key == "rbytes" else "io_write"] += int(value)
    return out
