"""cgroup v1 backend: one directory per controller (`<root>/<controller>/minidock/<id>`), hybrid hosts too.

The group joins every v1 hierarchy mounted under `root` (co-mounted ones such as `cpu,cpuacct`
share one directory), the limit-less ones (net_cls, perf_event, hugetlb, `name=systemd`, ...)
included, as runc does: inside its cgroup namespace the container then sees its own group as the
root of each, never a host group. Limits go to memory, cpu, pids, cpuset and blkio; cpuacct gives cpu
usage, freezer gives pause and race-free kill, cpuset gets its cpus/mems copied from the parent so tasks
can join (then the ones asked for are written). The hybrid host's cgroup2 mount (`unified`) is left to systemd.
"""

from __future__ import annotations

import os
import time

from minidock.errors import NotFoundError, RuntimeSetupError
from minidock.oci.runtimespec import DeviceRule, Resources
from minidock.runtime.cgroupmap import V1_BLKIO_FILES, Support, v1_writes
from minidock.runtime.cgroups import (
    FREEZE_TIMEOUT,
    UNLIMITED_V1,
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

V1_CONTROLLERS: tuple[str, ...] = ("cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids")
# hierarchies a group joins (when mounted) without writing limits there; "systemd" is name=systemd
V1_JOIN_ONLY: tuple[str, ...] = ("net_cls", "net_prio", "perf_event", "hugetlb", "rdma", "misc", "systemd")


def order_memory_writes(writes: list[tuple[str, str, str]], current_limit: int) -> list[tuple[str, str, str]]:
    """memsw must stay >= memory at every instant: write memsw first when raising past the current limit.

    runc's rule: memsw first when it becomes unlimited or exceeds the current memory limit; else memory first.
    """
    memsw = [w for w in writes if w[1] == "memory.memsw.limit_in_bytes"]
    if not memsw:
        return writes
    swap = int(memsw[0][2])
    if swap != -1 and current_limit >= swap:
        return writes
    rest = [w for w in writes if w is not memsw[0]]
    return memsw + rest


def _hierarchies(root: str) -> dict[str, str]:
    """name -> real directory of each hierarchy (directory, or symlink to one) under `root`.

    One listing instead of a stat per known name; symlinks (co-mounts: `cpu -> cpu,cpuacct`) resolved once."""
    real_root = os.path.realpath(root)
    out: dict[str, str] = {}
    try:
        entries = list(os.scandir(root))
    except (FileNotFoundError, NotADirectoryError):
        return out
    for e in entries:
        if e.is_dir():
            out[e.name] = os.path.realpath(e.path) if e.is_symlink() else f"{real_root}/{e.name}"
    return out


def device_writes(rules: tuple[DeviceRule, ...]) -> list[tuple[str, str]]:
    """The (file, line) writes that give a fresh v1 devices group what `rules` mean: the default
    (`a`), then the exceptions sorted by major, minor, type (runc's emulator: devices.list reads the same; a
    wildcard, -1, first)."""
    from minidock.runtime.devicefilter import rules_to_filter

    f = rules_to_filter(rules)
    out = [("devices.allow" if f.default_allow else "devices.deny", "a")]
    for r in sorted(f.exceptions, key=lambda r: (r.major, r.minor, r.type)):
        out.append(("devices.allow" if r.allow else "devices.deny", r.v1()))
    return out


def write_device_rules(group: str, rules: tuple[DeviceRule, ...], tracer: Tracer | None = None) -> None:
    """The device rules as one traced step (`echo a > devices.deny; echo 'c 1:3 rwm' > devices.allow ...`)."""
    writes = device_writes(rules)
    tr = tracer or NullTracer()
    with tr.step("cgroup: device rules", _devices_shell, writes):
        for f, line in writes:
            write_file(f"{group}/{f}", line)


def _devices_shell(writes: list[tuple[str, str]]) -> str:
    return "; ".join(f"echo '{line}' > {f}" for f, line in writes)


class V1Cgroup:
    """A group that spans the v1 controllers in `dirs` (controller -> group directory)."""

    def __init__(self, name: str, dirs: dict[str, str], tracer: Tracer | None = None,
                 real: dict[str, str] | None = None) -> None:
        self.name = name
        self._dirs = dirs
        self._tracer: Tracer = tracer or NullTracer()
        self._real = real  # controller -> the group's directory with symlinks resolved (None: ask realpath)

    def real_paths(self) -> dict[str, str]:
        """controller -> the group's real directory (co-mounted controllers share one)."""
        if self._real is None:
            self._real = {c: os.path.realpath(d) for c, d in self._dirs.items()}
        return self._real

    def _unique(self) -> dict[str, str]:
        """One controller per real directory (co-mounted controllers share it)."""
        seen: dict[str, str] = {}
        for c, d in self.real_paths().items():
            seen.setdefault(d, c)
        return {c: self._dirs[c] for c in seen.values()}

    def _dir(self, *controllers: str) -> str | None:
        return next((self._dirs[c] for c in controllers if c in self._dirs), None)

    def add(self, pid: int) -> None:
        for c, d in self._unique().items():
            write_file(f"{d}/cgroup.procs", str(pid), self._tracer, f"cgroup: join {c}")

    def procs(self) -> list[int]:
        d = self._dir("pids", "memory", "freezer", "cpu")
        return read_pids(f"{d}/cgroup.procs") if d else []

    def oom_killed(self) -> bool:
        d = self._dir("memory")
        if d is None:
            return False
        ctl = read_keyed(f"{d}/memory.oom_control")
        if "oom_kill" in ctl:  # the kill counter (kernel 4.13+): exact
            return ctl["oom_kill"] > 0
        return ctl.get("under_oom", 0) == 1

    def stats(self) -> CgroupStats:
        mem, pids, acct = self._dir("memory"), self._dir("pids"), self._dir("cpuacct")
        limit = read_int(f"{mem}/memory.limit_in_bytes") if mem else 0
        pmax = read_text(f"{pids}/pids.max").strip() if pids else ""
        ctl = read_keyed(f"{mem}/memory.oom_control") if mem else {}
        return CgroupStats(
            cpu_usage_ns=read_int(f"{acct}/cpuacct.usage") if acct else 0,
            memory_usage=self._memory_usage(mem) if mem else 0,
            memory_limit=limit if 0 < limit < UNLIMITED_V1 else None,
            pids_current=read_int(f"{pids}/pids.current") if pids else 0,
            pids_limit=int(pmax) if pmax.isdigit() else None,
            oom_kills=ctl.get("oom_kill", ctl.get("under_oom", 0)),
            **_blkio(self._dir("blkio")),
        )

    @staticmethod
    def _memory_usage(mem: str) -> int:
        """Usage as `docker stats` shows it: charged bytes less the inactive file cache."""
        inactive = read_keyed(f"{mem}/memory.stat").get("total_inactive_file", 0)
        return max(read_int(f"{mem}/memory.usage_in_bytes") - inactive, 0)

    def freeze(self) -> None:
        """Freeze every task; returns once the freezer reports FROZEN (re-asking while FREEZING)."""
        d = self._freezer()
        deadline = time.monotonic() + FREEZE_TIMEOUT
        while True:
            write_file(f"{d}/freezer.state", "FROZEN", self._tracer, "cgroup: freeze")
            if read_text(f"{d}/freezer.state").strip() == "FROZEN":
                return
            if time.monotonic() > deadline:
                self.thaw()
                raise RuntimeSetupError(f"cgroup {self.name}: did not freeze within {FREEZE_TIMEOUT}s",
                                        stage="cgroup")
            time.sleep(0.005)

    def thaw(self) -> None:
        write_file(f"{self._freezer()}/freezer.state", "THAWED", self._tracer, "cgroup: thaw")

    def _freezer(self) -> str:
        d = self._dir("freezer")
        if d is None:
            raise RuntimeSetupError(f"cgroup {self.name}: the freezer controller is not mounted", stage="cgroup")
        return d

    def kill_all(self, sig: int = 9) -> None:
        """Signal every task; frozen meanwhile (when a freezer exists) so none can fork past the sweep."""
        if "freezer" not in self._dirs or not os.path.isdir(self._dirs["freezer"]):
            signal_pids(self.procs(), sig)
            return
        signal_frozen(self, sig)

    def remove(self) -> None:
        """Every controller's directory, each tried even when one fails (the first failure is raised)."""
        failed: RuntimeSetupError | None = None
        for d in self._unique().values():
            try:
                remove_dir(d)
            except RuntimeSetupError as e:
                failed = failed or e
        if failed is not None:
            raise failed

    def paths(self) -> dict[str, str]:
        return dict(self._dirs)


class V1Driver:
    """Groups in the v1 controllers mounted at `<root>/<controller>`."""

    version = 1

    def __init__(self, root: str = "/sys/fs/cgroup") -> None:
        self.root = root
        self._tops = _hierarchies(root)
        self.controllers = [c for c in (*V1_CONTROLLERS, *V1_JOIN_ONLY) if c in self._tops]

    def _dirs(self, name: str) -> dict[str, str]:
        return {c: f"{self.root}/{c}/{name}" for c in self.controllers}

    def _real(self, name: str) -> dict[str, str]:
        """controller -> real directory of group `name` (below a hierarchy only directories we made)."""
        return {c: f"{self._tops[c]}/{name}" for c in self.controllers}

    def create(self, name: str, resources: Resources, tracer: Tracer | None = None) -> V1Cgroup:
        """Make the group in every controller, then write the limits; undone on any failure."""
        name = group_name(name)
        writes = v1_writes(resources)  # validate before touching the file system
        for c in {w[0] for w in writes} - set(self.controllers):
            raise RuntimeSetupError(f"cgroup: the {c} controller is not mounted at {self.root}", stage="cgroup")
        cg = V1Cgroup(name, self._dirs(name), tracer, self._real(name))
        with removed_on_failure(cg):
            for c, d in cg._unique().items():
                make_dir(d, tracer, f"cgroup: create {c} group")
            if "cpuset" in cg._dirs:
                self._fill_cpuset(name, tracer)
            self._apply(cg, writes, tracer)
            if resources.devices and "devices" in cg._dirs:
                write_device_rules(cg._dirs["devices"], resources.devices, tracer)
        return cg

    def _fill_cpuset(self, name: str, tracer: Tracer | None) -> None:
        """A new v1 cpuset starts with empty cpus/mems, which refuses tasks: copy them down from the parent."""
        level = f"{self.root}/cpuset"
        for part in name.split("/"):
            parent, level = level, f"{level}/{part}"
            for f in ("cpuset.cpus", "cpuset.mems"):
                if not read_text(f"{level}/{f}").strip():
                    value = read_text(f"{parent}/{f}").strip()
                    write_file(f"{level}/{f}", value, tracer, f"cgroup: copy {f} from parent")

    def _apply(self, cg: V1Cgroup, writes: list[tuple[str, str, str]], tracer: Tracer | None) -> None:
        mem = cg._dir("memory")
        if mem is not None and any(w[1] == "memory.memsw.limit_in_bytes" for w in writes):  # else: no order to keep
            writes = order_memory_writes(writes, read_int(f"{mem}/memory.limit_in_bytes", UNLIMITED_V1))
        for c, f, value in writes:
            path = f"{cg._dirs[c]}/{f}"
            if f == "memory.memsw.limit_in_bytes" and not os.path.exists(path):
                continue  # swap accounting is off: there is no memsw to limit
            if f == "blkio.weight" and not os.path.exists(path) and os.path.exists(f"{cg._dirs[c]}/blkio.bfq.weight"):
                path = f"{cg._dirs[c]}/blkio.bfq.weight"  # why: only BFQ offers a weight on this kernel (runc)
            write_file(path, value, tracer)

    def update(self, name: str, resources: Resources) -> None:
        """Write the limits `resources` sets (those left None stay as they are) to the existing group."""
        self._apply(self.open(name), v1_writes(resources._replace(devices=())), None)

    def support(self) -> Support:
        """What this host can limit, read from the hierarchies' roots (as Docker's sysinfo reads them)."""
        tops = self._tops

        def has(controller: str, *files: str) -> bool:
            return controller in tops and any(os.path.exists(f"{tops[controller]}/{f}") for f in files)

        cpuset = "cpuset" in tops
        return Support(version=1, cpuset=cpuset, cfs=has("cpu", "cpu.cfs_period_us"),
                       cpus=read_text(f"{tops['cpuset']}/cpuset.cpus").strip() if cpuset else "",
                       mems=read_text(f"{tops['cpuset']}/cpuset.mems").strip() if cpuset else "",
                       rt=has("cpu", "cpu.rt_period_us") and has("cpu", "cpu.rt_runtime_us"),
                       memory_reservation=has("memory", "memory.soft_limit_in_bytes"),
                       swappiness=has("memory", "memory.swappiness"),
                       oom_kill_disable=has("memory", "memory.oom_control"),
                       blkio_weight=has("blkio", "blkio.weight", "blkio.bfq.weight"),
                       blkio_devices=tuple(k for k, f in V1_BLKIO_FILES.items() if has("blkio", f)))

    def open(self, name: str) -> V1Cgroup:
        """The existing group `name` (made by `create`, maybe in another process)."""
        name = group_name(name)
        dirs = {c: d for c, d in self._dirs(name).items() if os.path.isdir(d)}
        if not dirs:
            raise NotFoundError(f"cgroup {name}: not found under {self.root}")
        return V1Cgroup(name, dirs, None, {c: r for c, r in self._real(name).items() if c in dirs})


def _blkio(blkio: str | None) -> dict[str, int]:
    """Bytes read and written (blkio.throttle.io_service_bytes_recursive: `MAJ:MIN Read N` lines)."""
    out = {"io_read": 0, "io_write": 0}
    if blkio is None:
        return out
    for line in read_text(f"{blkio}/blkio.throttle.io_service_bytes_recursive").splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in ("Read", "Write") and parts[2].isdigit():
            out["io_read" if parts[1] == "Read" else "io_write"] += int(parts[2])
    return out
