"""cgroups, pure: resources -> the files each backend writes, in a valid order (runc's mapping).

v1 writes (controller, file, value); v2 writes (file, value) in the one group directory. What v2
lacks (swappiness, the OOM-killer switch, real-time group scheduling) is the engine's to refuse or
discard first, as Docker's daemon does; here swappiness and the OOM switch are skipped on v2 and
real-time limits are refused. Block I/O weight on v2 is `io.bfq.weight` as given when BFQ is
there, else `io.weight` converted from the v1 range (runc's formula).
"""

from __future__ import annotations

from minidock.errors import UsageError
from minidock.nouns import NamedTuple

TYPE_CHECKING = False
if TYPE_CHECKING:
    from minidock.oci.runtimespec import Resources

DEFAULT_CFS_PERIOD = 100_000


class Support(NamedTuple):
    """What the host's cgroups can limit (Docker's sysinfo): the engine discards, with Docker's warning,
    a limit whose flag here is off. `cpus`/`mems`: the CPUs and memory nodes the root cpuset offers."""

    version: int = 1
    cpuset: bool = False
    cpus: str = ""
    mems: str = ""
    cfs: bool = False
    rt: bool = False
    memory_reservation: bool = False
    swappiness: bool = False
    oom_kill_disable: bool = False
    blkio_weight: bool = False
    blkio_devices: tuple[str, ...] = ()  # the per-device kinds it can limit (oci.blockio's: weight, read_bps...)


def _check(r: Resources) -> None:
    """Reject combinations the kernel (or docker) refuses, naming the values."""
    mem, swap = r.memory_limit, r.memory_swap
    if swap is not None and swap not in (-1, 0):
        if mem is None or mem <= 0:
            raise UsageError(f"memory-swap {swap}: needs a memory limit too")
        if swap < mem:
            raise UsageError(f"memory-swap {swap} is less than memory {mem}")
    if mem is not None and 0 < mem < 6 * 1024 * 1024:
        raise UsageError(f"memory {mem}: the minimum memory limit is 6m")
    if r.cpu_quota is not None and 0 < r.cpu_quota < 1000:
        raise UsageError(f"cpu quota {r.cpu_quota}: the minimum is 1000 microseconds")
    if r.cpu_period is not None and not 1000 <= r.cpu_period <= 1_000_000:
        raise UsageError(f"cpu period {r.cpu_period}: must be between 1000 and 1000000 microseconds")
    if r.cpu_shares is not None and r.cpu_shares < 0:
        raise UsageError(f"cpu shares {r.cpu_shares}: must not be negative")
    if r.memory_swappiness is not None and not 0 <= r.memory_swappiness <= 100:
        raise UsageError(f"memory swappiness {r.memory_swappiness}: must be between 0 and 100")
    if r.blkio_weight and not 10 <= r.blkio_weight <= 1000:
        raise UsageError(f"blkio weight {r.blkio_weight}: must be between 10 and 1000")
    if r.cpu_rt_runtime and r.cpu_rt_period and r.cpu_rt_runtime > r.cpu_rt_period:
        raise UsageError(f"cpu real-time runtime {r.cpu_rt_runtime} is more than its period {r.cpu_rt_period}")


def _pids_value(limit: int) -> str:
    return "max" if limit <= 0 else str(limit)


def v1_writes(r: Resources) -> list[tuple[str, str, str]]:
    """The (controller, file, value) writes for a fresh v1 group, in a valid order (memory before memsw,
    real-time period before runtime)."""
    _check(r)
    out: list[tuple[str, str, str]] = []
    if r.cpuset_cpus:
        out.append(("cpuset", "cpuset.cpus", r.cpuset_cpus))
    if r.cpuset_mems:
        out.append(("cpuset", "cpuset.mems", r.cpuset_mems))
    if r.memory_limit:  # 0 = unset, -1 = unlimited
        out.append(("memory", "memory.limit_in_bytes", str(max(r.memory_limit, -1))))
    if r.memory_swap:  # 0 = unset
        out.append(("memory", "memory.memsw.limit_in_bytes", str(r.memory_swap)))
    if r.memory_reservation:
        out.append(("memory", "memory.soft_limit_in_bytes", str(max(r.memory_reservation, -1))))
    if r.memory_swappiness is not None:
        out.append(("memory", "memory.swappiness", str(r.memory_swappiness)))
    if r.oom_kill_disable:
        out.append(("memory", "memory.oom_control", "1"))
    if r.cpu_shares:
        out.append(("cpu", "cpu.shares", str(max(r.cpu_shares, 2))))
    if r.cpu_period:
        out.append(("cpu", "cpu.cfs_period_us", str(r.cpu_period)))
    if r.cpu_quota:
        out.append(("cpu", "cpu.cfs_quota_us", str(max(r.cpu_quota, -1))))
    if r.cpu_rt_period:
        out.append(("cpu", "cpu.rt_period_us", str(r.cpu_rt_period)))
    if r.cpu_rt_runtime:
        out.append(("cpu", "cpu.rt_runtime_us", str(r.cpu_rt_runtime)))
    if r.pids_limit is not None:
        out.append(("pids", "pids.max", _pids_value(r.pids_limit)))
    if r.blkio_weight:  # the driver writes blkio.bfq.weight where only BFQ offers a weight (runc)
        out.append(("blkio", "blkio.weight", str(r.blkio_weight)))
    out += [("blkio", V1_BLKIO_FILES[d.kind], f"{d.major}:{d.minor} {d.value}") for d in r.block_devices]
    return out


# oci.blockio's kinds -> their v1 file, their v2 io.max key
V1_BLKIO_FILES = {"weight": "blkio.weight_device", "read_bps": "blkio.throttle.read_bps_device",
                  "write_bps": "blkio.throttle.write_bps_device", "read_iops": "blkio.throttle.read_iops_device",
                  "write_iops": "blkio.throttle.write_iops_device"}
_IO_MAX_KEYS = {"read_bps": "rbps", "write_bps": "wbps", "read_iops": "riops", "write_iops": "wiops"}


def _v2_block_devices(r: Resources, bfq: bool) -> list[tuple[str, str]]:
    """Per-device lines: throttles as `MAJ:MIN rbps=N` in io.max (runc), weights in io.bfq.weight as
    given, else in io.weight converted from the v1 range."""
    out = []
    for d in r.block_devices:
        dev = f"{d.major}:{d.minor}"
        if d.kind != "weight":
            out.append(("io.max", f"{dev} {_IO_MAX_KEYS[d.kind]}={d.value or 'max'}"))
        else:
            out.append(("io.bfq.weight", f"{dev} {d.value}") if bfq else
                       ("io.weight", f"{dev} {blkio_to_io_weight(d.value)}"))
    return out


def shares_to_weight(shares: int) -> int:
    """cpu.shares [2, 262144] -> cpu.weight [1, 10000], the OCI/runc formula."""
    shares = min(max(shares, 2), 262144)
    return 1 + ((shares - 2) * 9999) // 262142


def blkio_to_io_weight(weight: int) -> int:
    """blkio.weight [10, 1000] -> io.weight [1, 10000], runc's ConvertBlkIOToIOWeightValue."""
    return 1 + (weight - 10) * 9999 // 990


def v2_swap_max(swap: int | None, memory: int | None) -> str | None:
    """memory.swap.max from docker's memory+swap total (runc's ConvertMemorySwapToCgroupV2Value)."""
    if not swap:
        return "max" if memory == -1 else None
    if swap == -1:
        return "max"
    assert memory is not None  # _check made sure
    return str(swap - memory)


def v2_writes(r: Resources, bfq: bool = False) -> list[tuple[str, str]]:
    """The (file, value) writes for a fresh v2 group; `bfq`: the group has `io.bfq.weight`."""
    _check(r)
    if r.cpu_rt_period or r.cpu_rt_runtime:
        raise UsageError("cpu real-time period and runtime: cgroup v2 has no real-time group scheduling")
    out: list[tuple[str, str]] = []
    if r.cpuset_cpus:
        out.append(("cpuset.cpus", r.cpuset_cpus))
    if r.cpuset_mems:
        out.append(("cpuset.mems", r.cpuset_mems))
    if r.memory_limit:
        out.append(("memory.max", "max" if r.memory_limit < 0 else str(r.memory_limit)))
    if r.memory_reservation:
        out.append(("memory.low", "max" if r.memory_reservation < 0 else str(r.memory_reservation)))
    swap = v2_swap_max(r.memory_swap, r.memory_limit)
    if swap is not None:
        out.append(("memory.swap.max", swap))
    if r.cpu_shares:
        out.append(("cpu.weight", str(shares_to_weight(r.cpu_shares))))
    if r.cpu_quota or r.cpu_period:
        quota = str(r.cpu_quota) if r.cpu_quota and r.cpu_quota > 0 else "max"
        out.append(("cpu.max", f"{quota} {r.cpu_period or DEFAULT_CFS_PERIOD}"))
    if r.pids_limit is not None:
        out.append(("pids.max", _pids_value(r.pids_limit)))
    if r.blkio_weight:
        out.append(("io.bfq.weight", str(r.blkio_weight)) if bfq else
                   ("io.weight", str(blkio_to_io_weight(r.blkio_weight))))
    return out + _v2_block_devices(r, bfq)


def v2_controllers(r: Resources) -> tuple[str, ...]:
    """The v2 controllers a group needs beyond cpu, memory and pids (enabled only when asked for)."""
    return (*(("cpuset",) if r.cpuset_cpus or r.cpuset_mems else ()),
            *(("io",) if r.blkio_weight or r.block_devices else ()))


_TITLES = {
    "memory.limit_in_bytes": "limit memory", "memory.max": "limit memory",
    "memory.memsw.limit_in_bytes": "limit memory+swap", "memory.swap.max": "limit swap",
    "cpu.shares": "set cpu shares", "cpu.weight": "set cpu weight", "cpu.max": "limit cpu",
    "cpu.cfs_period_us": "set cpu period", "cpu.cfs_quota_us": "limit cpu quota",
    "pids.max": "limit pids", "cgroup.subtree_control": "enable controllers",
    "cpuset.cpus": "pin to cpus", "cpuset.mems": "pin to memory nodes",
    "memory.soft_limit_in_bytes": "set memory reservation", "memory.low": "set memory reservation",
    "memory.swappiness": "set swappiness", "memory.oom_control": "disable the OOM killer",
    "cpu.rt_period_us": "set real-time period", "cpu.rt_runtime_us": "set real-time runtime",
    "blkio.weight": "set block I/O weight", "blkio.bfq.weight": "set block I/O weight",
    "io.weight": "set block I/O weight", "io.bfq.weight": "set block I/O weight",
    "blkio.weight_device": "set a device's block I/O weight", "io.max": "limit block I/O",
    "blkio.throttle.read_bps_device": "limit block reads (bytes/s)",
    "blkio.throttle.write_bps_device": "limit block writes (bytes/s)",
    "blkio.throttle.read_iops_device": "limit block reads (IO/s)",
    "blkio.throttle.write_iops_device": "limit block writes (IO/s)",
}


def title_for(file: str) -> str:
    """The --explain title of a write to `file`."""
    return "cgroup: " + _TITLES.get(file, f"write {file}")
