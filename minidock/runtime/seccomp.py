"""Seccomp for a container: the BPF program its spec asks for (compiled once, then cached), and loading it.

A spec names its profile (`Linux.seccomp`): "default" (Docker's, shipped as seccomp_default.json:
see seccomp_profile), "unconfined" (no filter), or the path of a profile in Docker's JSON format.
`program(profile, caps, cache_dir)` runs in the parent before fork: the cache file is named by
the digest of the profile's bytes, the bounding set, the architecture and the kernel release (the
things a profile's conditions depend on), so the run path only reads and hashes the profile
(~13 KB) and reads the program back; a miss resolves the profile (seccomp_profile) and compiles it
with libseccomp (seccomp_compile, ~10 ms). `load(program)` runs in the child, as late as it can
(see init.container_init for the order runc uses).
"""

from __future__ import annotations

import os

from minidock.errors import UsageError
from minidock.oci.digest import sha256_hex
from minidock.runtime import syscalls as sc

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable

DEFAULT = "default"
UNCONFINED = "unconfined"
_FORMAT = b"minidock-seccomp-2"  # part of every cache key: change it when the compiler's output changes
DEFAULT_PROFILE = os.path.join(os.path.dirname(__file__), "seccomp_default.json")


def profile_path(profile: str) -> str:
    """The file a spec's profile reference names."""
    return DEFAULT_PROFILE if profile == DEFAULT else profile


def read_profile(profile: str) -> bytes:
    """The bytes of the profile `profile` names (UsageError naming it when unreadable)."""
    path = profile_path(profile)
    try:
        return sc.read_file(path)
    except OSError as e:
        raise UsageError(f"seccomp profile {path}: {(e.strerror or str(e)).lower()}") from e


def cache_key(data: bytes, caps: Iterable[str], machine: str, release: str) -> str:
    """The name of the compiled program of profile bytes `data` for this bounding set, arch and kernel."""
    material = b"\n".join((_FORMAT, sha256_hex(data).encode(), machine.encode(), release.encode(),
                           ",".join(sorted(set(caps))).encode()))
    return sha256_hex(material)


def program(profile: str, caps: Iterable[str], cache_dir: str | os.PathLike[str] | None,
            where: str = "") -> bytes | None:
    """The BPF program (struct sock_filter[]) of `profile` for bounding set `caps`; None when unconfined.

    `cache_dir` holds compiled programs (None: compile every time, as tests may); `where` names the
    profile in errors (default: its path)."""
    if profile == UNCONFINED:
        return None
    caps = tuple(caps)
    data = read_profile(profile)
    uname = os.uname()
    path = None
    if cache_dir is not None:
        path = os.path.join(cache_dir, cache_key(data, caps, uname.machine, uname.release) + ".bpf")
        try:
            cached = sc.read_file(path)
            if cached and len(cached) % 8 == 0:
                return cached
        except OSError:
            pass
    bpf = compile_profile(data, where or profile_path(profile), caps, uname)
    if path is not None:
        _store(path, bpf)
    return bpf


def compile_profile(data: bytes, where: str, caps: tuple[str, ...], uname: os.uname_result) -> bytes:
    """Resolve and compile a profile (the cache's miss path; imports json and libseccomp's binding)."""
    from minidock.runtime import seccomp_compile, seccomp_profile

    doc = seccomp_profile.parse(data, where)
    try:
        resolved = seccomp_profile.resolve(doc, caps, uname.machine, seccomp_profile.kernel_version(uname.release))
    except UsageError as e:
        raise UsageError(f"seccomp profile {where}: {e}") from e
    return seccomp_compile.compile_filter(resolved)


def _store(path: str, bpf: bytes) -> None:
    """Write the program where the next run finds it: private, whole or not at all (temp + rename)."""
    d = os.path.dirname(path)
    try:
        os.makedirs(d, mode=0o700, exist_ok=True)
        tmp = f"{path}.{os.getpid()}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        try:
            os.write(fd, bpf)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except OSError:
        pass  # a cache that cannot be written only costs the next run a compile


_supported: list[bool] = []


def supported() -> bool:
    """Whether this kernel filters syscalls (PR_GET_SECCOMP answers; EINVAL: built without seccomp)."""
    if not _supported:
        try:
            sc.prctl(sc.PR_GET_SECCOMP)
            _supported.append(True)
        except OSError:
            _supported.append(False)
    return _supported[0]


def load(bpf: bytes) -> None:
    """Install the program on the calling process (inherited by its children and kept across execve).

    Without no_new_privs the caller needs CAP_SYS_ADMIN (the container's init still has it)."""
    sc.seccomp_filter(bpf)
