"""The cgroup flags Docker's daemon checks itself (cpuset, CFS quota/period, real-time, reservation,
swappiness, OOM killer, OOM score, block I/O weight), for `run`/`create` and `update`.

`settle(limits, support)` is Docker 20.10's verifyPlatformContainerResources for them: its checks
in its order and words (InvalidParameterError: `run` exits 125, `create` 1), and where the host's
cgroups lack what a flag needs (`Support`, Docker's sysinfo) the value is discarded with Docker's
warning, as on this kernel's v1 blkio without a weight file (`Your kernel does not support Block I/O
weight or the cgroup is not mounted. Weight discarded.`). The container's cgroup and its HostConfig
get what is left. The host is asked only when a flag needs it, once per process.
"""

from __future__ import annotations

import os

from minidock.errors import InvalidParameterError, UsageError
from minidock.nouns import NamedTuple

TYPE_CHECKING = False
if TYPE_CHECKING:
    from minidock.engine.request import RunRequest
    from minidock.oci.blockio import BlockDevice
    from minidock.oci.runtimespec import Resources
    from minidock.runtime.cgroupmap import Support

MIN_MEMORY = 6 << 20  # Docker's linuxMinMemory
LISTED_MAX = 8192  # the largest CPU or node a cpuset list may name (more when the host has more)
_SUPPORT: list[Support] = []  # the host's, once asked


class Limits(NamedTuple):
    """The limits as Docker's HostConfig holds them (0, "" or None: not given)."""

    memory: int = 0
    nano_cpus: int = 0
    cpu_quota: int = 0
    cpu_period: int = 0
    cpuset_cpus: str = ""
    cpuset_mems: str = ""
    memory_reservation: int = 0
    memory_swappiness: int | None = None
    oom_kill_disable: bool = False
    blkio_weight: int = 0
    cpu_rt_period: int = 0
    cpu_rt_runtime: int = 0
    oom_score_adj: int = 0
    block_devices: tuple[tuple[str, str, int], ...] = ()  # (kind as oci.blockio's, path, value), in BLKIO order

    def host_config(self) -> dict[str, object]:
        """Docker's HostConfig fields for these limits (inspect shows them as they are here)."""
        return {**block_fields(self.block_devices, self.blkio_discarded()),
                "BlkioWeight": self.blkio_weight, "CpuPeriod": self.cpu_period, "CpuQuota": self.cpu_quota,
                "CpuRealtimePeriod": self.cpu_rt_period, "CpuRealtimeRuntime": self.cpu_rt_runtime,
                "CpusetCpus": self.cpuset_cpus, "CpusetMems": self.cpuset_mems,
                "MemoryReservation": self.memory_reservation, "MemorySwappiness": self.memory_swappiness,
                "OomKillDisable": self.oom_kill_disable, "OomScoreAdj": self.oom_score_adj}

    def blkio_discarded(self) -> tuple[str, ...]:
        """The per-device kinds the host could not limit (kept as a marker: Docker shows them as [])."""
        return tuple(k for k, p, _ in self.block_devices if not p)

    def onto(self, r: Resources) -> Resources:
        """`r` with these limits set (--cpus already made r's quota and period)."""
        if self.block_devices:
            r = r._replace(block_devices=block_devices(self.block_devices))
        if self.cpu_quota or self.cpu_period:
            r = r._replace(cpu_quota=self.cpu_quota or None, cpu_period=self.cpu_period or None)
        return r._replace(cpuset_cpus=self.cpuset_cpus or None, cpuset_mems=self.cpuset_mems or None,
                          memory_reservation=self.memory_reservation or None,
                          memory_swappiness=self.memory_swappiness, oom_kill_disable=self.oom_kill_disable or None,
                          blkio_weight=self.blkio_weight or None, cpu_rt_period=self.cpu_rt_period or None,
                          cpu_rt_runtime=self.cpu_rt_runtime or None)


def limits_of(req: RunRequest) -> Limits:
    """The flags of `req` as Docker's HostConfig holds them (sizes parsed, unset swappiness None)."""
    from minidock.runtime.cgroups import parse_bytes, parse_cpus

    return Limits(memory=max(parse_bytes(req.memory), 0) if req.memory else 0,
                  nano_cpus=parse_cpus(req.cpus)[0] * 10_000 if req.cpus else 0,
                  cpu_quota=req.cpu_quota, cpu_period=req.cpu_period, cpuset_cpus=req.cpuset_cpus,
                  cpuset_mems=req.cpuset_mems, memory_reservation=size(req.memory_reservation),
                  memory_swappiness=None if req.memory_swappiness == -1 else req.memory_swappiness,
                  oom_kill_disable=req.oom_kill_disable, blkio_weight=req.blkio_weight,
                  cpu_rt_period=req.cpu_rt_period, cpu_rt_runtime=req.cpu_rt_runtime, oom_score_adj=req.oom_score_adj,
                  block_devices=tuple((kind, *parse_block_device(text, kind)) for kind, attr, _ in BLKIO
                                      for text in getattr(req, attr)))


def size(text: str) -> int:
    """A size flag's bytes (0 when not given)."""
    from minidock.runtime.cgroups import parse_bytes

    return parse_bytes(text) if text else 0


def is_size(text: str) -> bool:
    """`text` is a size as Docker's RAMInBytes reads it ("-1" is not: a reservation is never unlimited)."""
    try:
        return not text.startswith("-") and size(text) >= 0
    except UsageError:
        return False


def settled(req: RunRequest) -> tuple[Limits, list[str]]:
    """The limits of `req` as the container gets them, and Docker's warnings (its client's first)."""
    limits = limits_of(req)
    client = ["Disabling the OOM killer on containers without setting a '-m/--memory' limit may be dangerous."] \
        if limits.oom_kill_disable and not limits.memory else []
    if req.dns:
        from minidock.runtime.net.netfiles import localhost_dns_warning

        client += localhost_dns_warning(req.dns)
    if limits == Limits(memory=limits.memory, nano_cpus=limits.nano_cpus):
        check_nano_cpus(limits.nano_cpus)  # why: the only check here a run without these flags needs
        return limits, client
    kept, warnings = settle(limits, host_support())
    return kept, client + warnings


def host_fields(req: RunRequest) -> dict[str, object]:
    """HostConfig's CpusetCpus, CpuQuota, MemoryReservation, ... as Docker's daemon keeps them, and the
    cgroup's parent and device rules as given."""
    return {**settled(req)[0].host_config(), "CgroupParent": req.cgroup_parent,
            "DeviceCgroupRules": list(req.device_cgroup_rules) or None}


def host_support() -> Support:
    """What this host's cgroups can limit (asked once per process)."""
    if not _SUPPORT:
        from minidock.engine.host import CGROUP_ROOT
        from minidock.runtime import cgroups

        _SUPPORT.append(cgroups.detect(CGROUP_ROOT).support())
    return _SUPPORT[0]


def settle(a: Limits, host: Support, *, update: bool = False) -> tuple[Limits, list[str]]:
    """Docker's checks and discards for `a` on `host` (pure): the limits kept and the warnings."""
    if not update:  # why: runconfig checks these when a container is made, never on update
        _check_realtime(a, host)
    a, warnings = _memory(a, host)
    a, more = _cpu(a, host)
    warnings += more
    if a.blkio_weight and not host.blkio_weight:
        warnings.append("Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.")
        a = a._replace(blkio_weight=0)
    if a.blkio_weight and not 10 <= a.blkio_weight <= 1000:
        raise InvalidParameterError("Range of blkio weight is from 10 to 1000")
    for kind, _, why in BLKIO:
        if any(k == kind and p for k, p, _ in a.block_devices) and kind not in host.blkio_devices:
            warnings.append(f"Your kernel does not support {why} or the cgroup is not mounted. {_DISCARDED[kind]}")
            a = a._replace(block_devices=tuple((k, "" if k == kind else p, v) for k, p, v in a.block_devices))
    if not -1000 <= a.oom_score_adj <= 1000:
        raise InvalidParameterError(f"Invalid value {a.oom_score_adj}, range for oom score adj is [-1000, 1000]")
    return a, warnings


def _check_realtime(a: Limits, host: Support) -> None:
    if (a.cpu_rt_period or a.cpu_rt_runtime) and not host.rt:
        raise InvalidParameterError("Your kernel does not support CPU real-time scheduler")
    if a.cpu_rt_period and a.cpu_rt_runtime and a.cpu_rt_runtime > a.cpu_rt_period:
        raise InvalidParameterError("cpu real-time runtime cannot be higher than cpu real-time period")


def _memory(a: Limits, host: Support) -> tuple[Limits, list[str]]:
    warnings = []
    if a.memory_swappiness is not None and not host.swappiness:
        warnings.append("Your kernel does not support memory swappiness capabilities or the cgroup is not mounted. "
                        "Memory swappiness discarded.")
        a = a._replace(memory_swappiness=None)
    if a.memory_reservation and not host.memory_reservation:
        warnings.append("Your kernel does not support memory soft limit capabilities or the cgroup is not mounted. "
                        "Limitation discarded.")
        a = a._replace(memory_reservation=0)
    if 0 < a.memory_reservation < MIN_MEMORY:
        raise InvalidParameterError("Minimum memory reservation allowed is 6MB")
    if a.memory > 0 and a.memory_reservation > a.memory:
        raise InvalidParameterError("Minimum memory limit can not be less than memory reservation limit, see usage")
    if a.oom_kill_disable and not host.oom_kill_disable:
        warnings.append("Your kernel does not support OomKillDisable. OomKillDisable discarded.")
        a = a._replace(oom_kill_disable=False)
    if a.oom_kill_disable and not a.memory:
        warnings.append("OOM killer is disabled for the container, but no memory limit is set, this can result in "
                        "the system running out of resources.")
    return a, warnings


def _cpu(a: Limits, host: Support) -> tuple[Limits, list[str]]:
    warnings = []
    if a.nano_cpus and a.cpu_period > 0:
        raise InvalidParameterError("Conflicting options: Nano CPUs and CPU Period cannot both be set")
    if a.nano_cpus and a.cpu_quota > 0:
        raise InvalidParameterError("Conflicting options: Nano CPUs and CPU Quota cannot both be set")
    check_nano_cpus(a.nano_cpus)
    if (a.cpu_period or a.cpu_quota) and not host.cfs:
        warnings.append("Your kernel does not support CPU CFS scheduler. CPU period/quota discarded.")
        a = a._replace(cpu_period=0, cpu_quota=0)
    if a.cpu_period and not 1000 <= a.cpu_period <= 1_000_000:
        raise InvalidParameterError("CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s "
                                    "(i.e. 1000000)")
    if 0 < a.cpu_quota < 1000:
        raise InvalidParameterError("CPU cfs quota can not be less than 1ms (i.e. 1000)")
    if (a.cpuset_cpus or a.cpuset_mems) and not host.cpuset:
        warnings.append("Your kernel does not support cpuset or the cgroup is not mounted. Cpuset discarded.")
        a = a._replace(cpuset_cpus="", cpuset_mems="")
    if not _available(a.cpuset_cpus, host.cpus, "cpus"):
        raise InvalidParameterError(f"Requested CPUs are not available - requested {a.cpuset_cpus}, "
                                    f"available: {host.cpus}")
    if not _available(a.cpuset_mems, host.mems, "mems"):
        raise InvalidParameterError(f"Requested memory nodes are not available - requested {a.cpuset_mems}, "
                                    f"available: {host.mems}")
    return a, warnings


# kind (oci.blockio's), RunRequest attribute, what Docker's warning calls it when the host cannot
BLKIO = (("weight", "blkio_weight_device", "Block I/O weight_device"),
         ("read_bps", "device_read_bps", "BPS Block I/O read limit"),
         ("write_bps", "device_write_bps", "BPS Block I/O write limit"),
         ("read_iops", "device_read_iops", "IOPS Block read limit"),
         ("write_iops", "device_write_iops", "IOPS Block write limit"))
_DISCARDED = {"weight": "Weight-device discarded.", "read_bps": "Block I/O BPS read limit discarded.",
              "write_bps": "Block I/O BPS write limit discarded.",
              "read_iops": "Block I/O IOPS read limit discarded.",
              "write_iops": "Block I/O IOPS write limit discarded."}
_HOST_KEYS = {"weight": "BlkioWeightDevice", "read_bps": "BlkioDeviceReadBps",
              "write_bps": "BlkioDeviceWriteBps", "read_iops": "BlkioDeviceReadIOps",
              "write_iops": "BlkioDeviceWriteIOps"}
_BPS_FORMAT = ("<device-path>:<number>[<unit>]. Number must be a positive integer. Unit is optional and can be kb, "
               "mb, or gb")


def parse_block_device(text: str, kind: str) -> tuple[str, int]:
    """`DEVICE:VALUE` as Docker's client reads it (ValidateWeightDevice, ValidateThrottleBpsDevice,
    ValidateThrottleIOpsDevice): (path, value); ValueError in its words."""
    path, sep, value = text.partition(":")
    if not sep:
        raise ValueError(f"bad format: {text}")
    if not path.startswith("/dev/"):
        raise ValueError(f"bad format for device path: {text}")
    digits = value.isascii() and value.isdigit()
    if kind == "weight":
        if not digits or (int(value) > 0 and not 10 <= int(value) <= 1000):
            raise ValueError(f"invalid weight for device: {text}")
        return path, int(value)
    if kind.endswith("iops"):
        if not digits or int(value) >= 1 << 64:
            raise ValueError(f"invalid rate for device: {text}. The correct format is <device-path>:<number>. "
                             "Number must be a positive integer")
        return path, int(value)
    try:
        rate = size(value) if value.strip() else -1
    except UsageError:
        rate = -1
    if rate < 0:
        raise ValueError(f"invalid rate for device: {text}. The correct format is {_BPS_FORMAT}")
    return path, rate


def block_fields(devices: tuple[tuple[str, str, int], ...], discarded: tuple[str, ...]) -> dict[str, object]:
    """HostConfig's BlkioWeightDevice (a list, [] by default) and BlkioDevice{Read,Write}{Bps,IOps} (null
    by default; [] when the host could not limit them), as Docker's inspect shows them."""
    out: dict[str, object] = {key: [] if kind == "weight" or kind in discarded else None
                              for kind, key in _HOST_KEYS.items()}
    for kind, path, value in devices:
        if path:
            entry = {"Path": path, "Weight" if kind == "weight" else "Rate": value}
            out[_HOST_KEYS[kind]] = [*(out[_HOST_KEYS[kind]] or []), entry]  # type: ignore[misc]
    return out


def block_devices(devices: tuple[tuple[str, str, int], ...]) -> tuple[BlockDevice, ...]:
    """The kept per-device limits with each device's major:minor (Docker's daemon stats the path)."""
    from minidock.oci.blockio import BlockDevice

    out = []
    for kind, path, value in devices:
        if path:
            try:
                st = os.stat(path)
            except OSError as e:
                raise UsageError(f"stat {path}: {(e.strerror or '').lower()}") from None
            out.append(BlockDevice(kind, os.major(st.st_rdev), os.minor(st.st_rdev), value))
    return tuple(out)


def check_nano_cpus(nano: int) -> None:
    """--cpus at most the CPUs this process may run on (Docker's sysinfo.NumCPU)."""
    if nano and nano > (n := len(os.sched_getaffinity(0))) * 1_000_000_000:
        raise InvalidParameterError(f"Range of CPUs is from 0.01 to {n}.00, as there are only {n} CPUs available")


def _available(provided: str, available: str, what: str) -> bool:
    """Docker's isCpusetListAvailable: every number of `provided` is in `available`."""
    have = uint_list(available)
    try:
        want = uint_list(provided, max(LISTED_MAX, len(have)))
    except ValueError as e:
        raise InvalidParameterError(f"Invalid value {provided} for cpuset {what}: {e}") from None
    return want <= have


def uint_list(text: str, maximum: int = 0) -> set[int]:
    """A cgroup list ("0-3,7") as Docker's ParseUintListMaximum reads it (ValueError in its words)."""
    out: set[int] = set()
    if not text:
        return out
    for part in text.split(","):
        low_text, dash, high_text = part.partition("-")
        low, high = _atoi(low_text, text), _atoi(high_text if dash else low_text, text)
        if high < low:
            raise ValueError(f"invalid format: {text}")
        if maximum and high > maximum:
            raise ValueError(f"value of out range, maximum is {maximum}")
        out.update(range(low, high + 1))
    return out


def _atoi(word: str, text: str) -> int:
    """Go's strconv.Atoi (an optional sign, then ASCII digits)."""
    digits = word[1:] if word[:1] in ("+", "-") else word
    if not (digits.isascii() and digits.isdigit()):
        raise ValueError(f"invalid format: {text}")
    return int(word)
