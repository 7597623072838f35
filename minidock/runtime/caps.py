"""Capabilities: names <-> bits (pure), and applying a spec's five sets to the calling process.

Order matters (runc's): `drop_bounding` while still root with CAP_SETPCAP, then the user switch
(PR_SET_KEEPCAPS keeps the permitted set across setuid), then `apply_sets` sets inheritable,
permitted and effective exactly and raises the ambient set.
"""

from __future__ import annotations

import os

from minidock.errors import UsageError
from minidock.runtime import syscalls as sc

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable

    from minidock.oci.runtimespec import Capabilities
    from minidock.runtime.explain import Tracer

NAMES: tuple[str, ...] = (
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
    "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
)
NUMBERS: dict[str, int] = {n: i for i, n in enumerate(NAMES)}


def mask(names: Iterable[str]) -> int:
    """The bit mask of capability names (CAP_X or X, any case)."""
    m = 0
    for raw in names:
        n = raw.upper() if raw.upper().startswith("CAP_") else "CAP_" + raw.upper()
        if n not in NUMBERS:
            raise UsageError(f"unknown capability {raw!r}")
        m |= 1 << NUMBERS[n]
    return m


def names_of(m: int) -> list[str]:
    """The names of the bits set in `m` (known capabilities only)."""
    return [n for i, n in enumerate(NAMES) if m >> i & 1]


_last_cap: list[int] = []  # the kernel's answer, read once per process


def last_cap() -> int:
    """The highest capability this kernel knows."""
    if not _last_cap:
        try:
            fd = os.open("/proc/sys/kernel/cap_last_cap", os.O_RDONLY | os.O_CLOEXEC)
            try:
                _last_cap.append(int(os.read(fd, 64)))
            finally:
                os.close(fd)
        except OSError:
            return len(NAMES) - 1
    return _last_cap[0]


def drop_bounding(keep: Iterable[str], tracer: Tracer, top: int) -> None:
    """Drop every capability not in `keep` from the bounding set (up to cap number `top`)."""
    keep_mask = mask(keep)
    dropped = [i for i in range(top + 1) if not keep_mask >> i & 1]
    with tracer.step(f"drop {len(dropped)} capabilities from the bounding set", _drop_shell, dropped):
        for i in dropped:
            sc.prctl(sc.PR_CAPBSET_DROP, i)


def apply_sets(caps: Capabilities, tracer: Tracer) -> None:
    """Set effective/permitted/inheritable exactly, then raise the ambient set."""
    eff, perm, inh = mask(caps.effective), mask(caps.permitted), mask(caps.inheritable)
    amb = mask(caps.ambient)
    with tracer.step(f"capabilities: effective 0x{eff:016x}", _capsh_shell, caps):
        sc.capset(eff, perm | eff, inh | amb)
        sc.prctl(sc.PR_CAP_AMBIENT, sc.PR_CAP_AMBIENT_CLEAR_ALL)
        for i in range(len(NAMES)):
            if amb >> i & 1:
                sc.prctl(sc.PR_CAP_AMBIENT, sc.PR_CAP_AMBIENT_RAISE, i)


def _drop_shell(dropped: list[int]) -> str:
    return "capsh --drop=" + ",".join(NAMES[i].lower() if i < len(NAMES) else str(i) for i in dropped)


def _capsh_shell(caps: Capabilities) -> str:
    eff = ",".join(n.lower() for n in caps.effective)
    return f"capsh --caps='{eff}+ep'" if eff else "capsh --caps='='"
