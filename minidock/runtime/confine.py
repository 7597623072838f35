"""Confinement steps a container's processes share (run's init, exec, build RUN).

`seal(keep)`: from the moment a process of ours can be seen from a container, it is not dumpable
(its /proc/PID/{exe,fd,mem,...} closed to the container: CVE-2019-5736; the flag is inherited at
fork and reset by the command's execve) and holds no descriptor of the caller's (CVE-2024-21626).
`join_keyring`: a session keyring of the container's own. `load_seccomp`: the compiled filter.
"""

from __future__ import annotations

import errno

from minidock.runtime import seccomp
from minidock.runtime import syscalls as sc

TYPE_CHECKING = False
if TYPE_CHECKING:
    from minidock.runtime.explain import Tracer


def seal(keep: list[int]) -> None:
    """Make this process non-dumpable and close every descriptor above 2 but `keep`."""
    sc.prctl(sc.PR_SET_DUMPABLE, 0)
    sc.close_fds_except(keep)


def join_keyring(name: str | None, tracer: Tracer) -> None:
    """A session keyring of the container's own, so the host's (the caller's `_uid_ses`) is out of
    reach; named `name` so an `exec` joins the same one, and searchable by its owner (runc's way)."""
    with tracer.step(f"join a new session keyring {name or ''}".rstrip(), f"keyctl session {name or '-'}"):
        try:
            serial = sc.join_session_keyring(name)
        except OSError as e:
            # why: no keyrings in this kernel (ENOSYS), or keyctl refused to us (EPERM: a filter of
            # ours; then the container, under the same filter, cannot reach any keyring either)
            if e.errno in (errno.ENOSYS, errno.EPERM):
                return
            raise
        sc.keyring_add_perm(serial, 0x00080000)  # KEY_USR_SEARCH


def load_seccomp(bpf: bytes | None, tracer: Tracer) -> None:
    """Install the container's seccomp filter (nothing when unconfined)."""
    if bpf is None:
        return
    with tracer.step(f"seccomp: load a filter of {len(bpf) // 8} instructions", "# seccomp(SET_MODE_FILTER)"):
        seccomp.load(bpf)
