"""`--ulimit`, `--shm-size` and `--sysctl` as Docker reads them (pure: text -> spec values)."""

from __future__ import annotations

from minidock.errors import UsageError
from minidock.oci.runtimespec import Mount, Rlimit

ULIMITS = ("as", "core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile", "nproc",
           "rss", "rtprio", "rttime", "sigpending", "stack")
UNLIMITED = 2**64 - 1  # RLIM_INFINITY as the spec carries it
# Docker's allow list (opts.ValidateSysctl): IPC and network parameters that are per namespace
_IPC_SYSCTLS = ("kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall",
                "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced")


def parse_ulimit(text: str) -> Rlimit:
    """`NAME=SOFT[:HARD]` (-1: unlimited; HARD defaults to SOFT)."""
    name, eq, value = text.partition("=")
    if not eq or name not in ULIMITS:
        raise UsageError(f"invalid argument {text!r} for \"--ulimit\" flag: invalid ulimit type: {name}")
    soft_text, _, hard_text = value.partition(":")
    try:
        soft = int(soft_text)
        hard = int(hard_text) if hard_text else soft
    except ValueError:
        raise UsageError(f"invalid argument {text!r} for \"--ulimit\" flag: invalid ulimit value") from None
    soft, hard = (UNLIMITED if v == -1 else v for v in (soft, hard))
    if min(soft, hard) < 0:
        raise UsageError(f"invalid argument {text!r} for \"--ulimit\" flag: negative ulimit value")
    if soft > hard:
        raise UsageError(f"invalid argument {text!r} for \"--ulimit\" flag: ulimit soft limit must be less than "
                         f"or equal to hard limit: {soft} > {hard}")
    return Rlimit(f"RLIMIT_{name.upper()}", soft, hard)


def ulimits(texts: tuple[str, ...]) -> tuple[Rlimit, ...]:
    """Every --ulimit, the last of each name winning."""
    by_type = {r.type: r for r in map(parse_ulimit, texts)}
    return tuple(by_type.values())


def with_shm_size(mounts: tuple[Mount, ...], text: str) -> tuple[Mount, ...]:
    """The mounts with /dev/shm sized by `--shm-size` (bytes with an optional b/k/m/g unit)."""
    if not text:
        return mounts
    from minidock.runtime.cgroups import parse_bytes

    size = parse_bytes(text)
    if size <= 0:
        raise UsageError(f"invalid --shm-size {text!r}: must be greater than 0")
    return tuple(m._replace(options=(*(o for o in m.options if not o.startswith("size=")), f"size={size}"))
                 if m.destination == "/dev/shm" else m for m in mounts)


def sysctls(texts: tuple[str, ...], network: str) -> dict[str, str]:
    """`--sysctl KEY=VALUE`: only namespaced parameters, and net.* only with a network namespace of
    the container's own (Docker's rules and messages)."""
    out: dict[str, str] = {}
    for text in texts:
        key, eq, value = text.partition("=")
        if not eq or not key:
            raise UsageError(f"invalid argument {text!r} for \"--sysctl\" flag: sysctl must be KEY=VALUE")
        if key.startswith("net."):
            if network == "host" or network.startswith("container:"):
                raise UsageError(f"sysctl {key!r} not allowed in host network namespace")
        elif not (key in _IPC_SYSCTLS or key.startswith("fs.mqueue.")):
            raise UsageError(f"invalid argument {text!r} for \"--sysctl\" flag: sysctl {key!r} is not whitelisted")
        out[key] = value
    return out
