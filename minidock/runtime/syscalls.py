"""The syscall seam: thin ctypes wrappers over libc for what Python's `os` lacks (3.11).

Every wrapper raises `OSError(errno, message, path)` on failure, naming the failing value, so
callers can map errno to a typed error. Constants are the x86_64/aarch64 Linux values.
"""

from __future__ import annotations

import ctypes
import errno
import os

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long

# unshare/setns/clone flags
CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

# mount flags
MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_SYNCHRONOUS = 16
MS_REMOUNT = 32
MS_MANDLOCK = 64
MS_DIRSYNC = 128
MS_NOATIME = 1024
MS_NODIRATIME = 2048
MS_BIND = 4096
MS_REC = 16384
MS_SILENT = 32768
MS_UNBINDABLE = 1 << 17
MS_PRIVATE = 1 << 18
MS_SLAVE = 1 << 19
MS_SHARED = 1 << 20
MS_RELATIME = 1 << 21
MS_STRICTATIME = 1 << 24
MNT_DETACH = 2

# prctl options
PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_KEEPCAPS = 8
PR_CAPBSET_READ = 23
PR_CAPBSET_DROP = 24
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_RAISE = 2
PR_CAP_AMBIENT_CLEAR_ALL = 4
PR_GET_SECCOMP = 21
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2

# rlimit numbers (asm-generic: x86_64 and aarch64) under the `resource` module's names
RLIMITS: dict[str, int] = {
    "RLIMIT_CPU": 0, "RLIMIT_FSIZE": 1, "RLIMIT_DATA": 2, "RLIMIT_STACK": 3, "RLIMIT_CORE": 4,
    "RLIMIT_RSS": 5, "RLIMIT_NPROC": 6, "RLIMIT_NOFILE": 7, "RLIMIT_OFILE": 7, "RLIMIT_MEMLOCK": 8,
    "RLIMIT_AS": 9, "RLIMIT_LOCKS": 10, "RLIMIT_SIGPENDING": 11, "RLIMIT_MSGQUEUE": 12, "RLIMIT_NICE": 13,
    "RLIMIT_RTPRIO": 14, "RLIMIT_RTTIME": 15,
}
RLIM_INFINITY = -1  # "unlimited", as the resource module shows it
_RLIM_MASK = (1 << 64) - 1

_LINUX_CAPABILITY_VERSION_3 = 0x20080522
_MACHINE = os.uname().machine
_SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}.get(_MACHINE, 155)
_SYS_CAPGET = {"x86_64": 125, "aarch64": 90}.get(_MACHINE, 125)
_SYS_CAPSET = {"x86_64": 126, "aarch64": 91}.get(_MACHINE, 126)
_SYS_KEYCTL = {"x86_64": 250, "aarch64": 219}.get(_MACHINE, 250)
_KEYCTL_JOIN_SESSION_KEYRING = 1
_KEYCTL_SETPERM = 5
_KEYCTL_DESCRIBE = 6
_SYS_RT_SIGACTION = {"x86_64": 13, "aarch64": 134}.get(_MACHINE, 13)
_SYS_RT_SIGPROCMASK = {"x86_64": 14, "aarch64": 135}.get(_MACHINE, 14)
_NSIG = 64


def _check(rc: int, what: str, path: str | None = None) -> int:
    if rc < 0:
        e = ctypes.get_errno()
        raise OSError(e, f"{what}: {os.strerror(e).lower()}", path)
    return rc


def _b(s: str | None) -> bytes | None:
    return None if s is None else os.fsencode(s)


def mount(source: str | None, target: str, fstype: str | None, flags: int = 0, data: str | None = None) -> None:
    """mount(2): `mount -t fstype -o data source target`."""
    _check(_libc.mount(_b(source), _b(target), _b(fstype), ctypes.c_ulong(flags), _b(data)),
           f"mount {source or 'none'} on {target}", target)


def umount2(target: str, flags: int = 0) -> None:
    """umount2(2): `umount [-l] target`."""
    _check(_libc.umount2(_b(target), ctypes.c_int(flags)), f"umount {target}", target)


def pivot_root(new_root: str, put_old: str) -> None:
    """pivot_root(2) (no libc wrapper: raw syscall)."""
    _check(_libc.syscall(_SYS_PIVOT_ROOT, _b(new_root), _b(put_old)), f"pivot_root {new_root}", new_root)


_SYS_OPEN_TREE, _SYS_MOVE_MOUNT = 428, 429  # the same number on every architecture (Linux 5.2+)
_OPEN_TREE_CLONE, _AT_RECURSIVE, _AT_SYMLINK_NOFOLLOW = 1, 0x8000, 0x100
_AT_FDCWD, _MOVE_MOUNT_F_EMPTY_PATH = -100, 4


def clone_tree(path: str) -> int:
    """open_tree(2) with OPEN_TREE_CLONE|AT_RECURSIVE: a detached copy of the mounts at `path` (a
    final symlink is not followed), as an fd (close-on-exec) that `attach_tree` puts in place."""
    flags = _OPEN_TREE_CLONE | _AT_RECURSIVE | _AT_SYMLINK_NOFOLLOW | os.O_CLOEXEC
    return _check(_libc.syscall(ctypes.c_long(_SYS_OPEN_TREE), ctypes.c_int(_AT_FDCWD), _b(path),
                                ctypes.c_uint(flags)), f"open_tree {path}", path)


def attach_tree(fd: int, target: str) -> None:
    """move_mount(2): the detached tree `fd` (clone_tree) mounted at `target`."""
    _check(_libc.syscall(ctypes.c_long(_SYS_MOVE_MOUNT), ctypes.c_int(fd), b"", ctypes.c_int(_AT_FDCWD), _b(target),
                         ctypes.c_uint(_MOVE_MOUNT_F_EMPTY_PATH)), f"move_mount on {target}", target)


def unshare(flags: int) -> None:
    """unshare(2): detach the caller from the namespaces named by CLONE_NEW* flags."""
    _check(_libc.unshare(ctypes.c_int(flags)), f"unshare 0x{flags:x}")


def setns(fd: int, nstype: int = 0) -> None:
    """setns(2): join the namespace that fd (an open /proc/PID/ns/* file) refers to."""
    _check(_libc.setns(ctypes.c_int(fd), ctypes.c_int(nstype)), f"setns fd {fd}")


def sethostname(name: str) -> None:
    """sethostname(2) in the caller's UTS namespace."""
    raw = name.encode()
    _check(_libc.sethostname(raw, ctypes.c_size_t(len(raw))), f"sethostname {name}")


def setdomainname(name: str) -> None:
    """setdomainname(2) (the NIS domain name, `domainname`) in the caller's UTS namespace."""
    raw = name.encode()
    _check(_libc.setdomainname(raw, ctypes.c_size_t(len(raw))), f"setdomainname {name}")


def prctl(option: int, arg2: int = 0, arg3: int = 0, arg4: int = 0, arg5: int = 0) -> int:
    """prctl(2) with integer arguments."""
    args = [ctypes.c_ulong(a) for a in (arg2, arg3, arg4, arg5)]
    return _check(_libc.prctl(ctypes.c_int(option), *args), f"prctl {option}")


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


def capget(pid: int = 0) -> tuple[int, int, int]:
    """capget(2): (effective, permitted, inheritable) as 64-bit masks."""
    hdr = _CapHeader(_LINUX_CAPABILITY_VERSION_3, pid)
    data = (_CapData * 2)()
    _check(_libc.syscall(_SYS_CAPGET, ctypes.byref(hdr), data), f"capget {pid}")
    return tuple(getattr(data[0], f) | (getattr(data[1], f) << 32)
                 for f in ("effective", "permitted", "inheritable"))


def capset(effective: int, permitted: int, inheritable: int) -> None:
    """capset(2) on the calling thread, masks as 64-bit integers."""
    hdr = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    for i in (0, 1):
        data[i].effective = (effective >> (32 * i)) & 0xFFFFFFFF
        data[i].permitted = (permitted >> (32 * i)) & 0xFFFFFFFF
        data[i].inheritable = (inheritable >> (32 * i)) & 0xFFFFFFFF
    _check(_libc.syscall(_SYS_CAPSET, ctypes.byref(hdr), data), "capset")


_SIOCGIFFLAGS, _SIOCSIFFLAGS, _IFF_UP = 0x8913, 0x8914, 0x1


class _IfReq(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char * 16), ("flags", ctypes.c_short), ("pad", ctypes.c_char * 22)]


def link_up(name: str = "lo") -> None:
    """`ip link set NAME up` in the caller's network namespace (SIOCGIFFLAGS/SIOCSIFFLAGS on a socket)."""
    fd = _check(_libc.socket(2, 2 | 0o2000000, 0), "socket AF_INET")  # SOCK_DGRAM | SOCK_CLOEXEC
    try:
        req = _IfReq(name.encode(), 0)
        _check(_libc.ioctl(fd, ctypes.c_ulong(_SIOCGIFFLAGS), ctypes.byref(req)), f"get flags of {name}")
        req.flags |= _IFF_UP
        _check(_libc.ioctl(fd, ctypes.c_ulong(_SIOCSIFFLAGS), ctypes.byref(req)), f"set {name} up")
    finally:
        os.close(fd)


class _Rlimit(ctypes.Structure):
    _fields_ = [("cur", ctypes.c_uint64), ("max", ctypes.c_uint64)]


def _from_rlim(v: int) -> int:
    return v - (1 << 64) if v >= 1 << 63 else v  # as resource.getrlimit: RLIM_INFINITY -> -1


def getrlimit(which: int) -> tuple[int, int]:
    """resource.getrlimit without the extension module (prlimit(2) on the caller): (soft, hard), -1 unlimited."""
    old = _Rlimit()
    _check(_libc.prlimit(0, which, None, ctypes.byref(old)), f"getrlimit {which}")
    return _from_rlim(old.cur), _from_rlim(old.max)


def setrlimit(which: int, limits: tuple[int, int]) -> None:
    """resource.setrlimit without the extension module: same values (-1 unlimited), same errors."""
    new = _Rlimit(limits[0] & _RLIM_MASK, limits[1] & _RLIM_MASK)
    if _libc.prlimit(0, which, ctypes.byref(new), None) < 0:
        e = ctypes.get_errno()
        if e == errno.EINVAL:
            raise ValueError("current limit exceeds maximum limit")
        if e == errno.EPERM:
            raise ValueError("not allowed to raise maximum limit")
        raise OSError(e, f"setrlimit {which}: {os.strerror(e).lower()}")


def read_file(path: str | os.PathLike[str]) -> bytes:
    """A small file's bytes by raw reads: no buffered-file machinery on the run path (cgroup and
    /proc files, a container's /etc/passwd). OSError (FileNotFoundError, ...) as os.open raises it."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        chunks = []
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
    finally:
        os.close(fd)
    return b"".join(chunks)


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def seccomp_filter(program: bytes) -> None:
    """prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog): install a classic BPF program (struct sock_filter[])."""
    buf = ctypes.create_string_buffer(program, len(program))
    prog = _SockFprog(len(program) // 8, ctypes.cast(buf, ctypes.c_void_p))
    _check(_libc.prctl(ctypes.c_int(PR_SET_SECCOMP), ctypes.c_ulong(SECCOMP_MODE_FILTER), ctypes.byref(prog),
                       ctypes.c_ulong(0), ctypes.c_ulong(0)), "load the seccomp filter")


def join_session_keyring(name: str | None) -> int:
    """keyctl(KEYCTL_JOIN_SESSION_KEYRING, name): a new session keyring (an existing one of that name
    when the caller may search it); returns its serial."""
    return _check(_libc.syscall(ctypes.c_long(_SYS_KEYCTL), ctypes.c_long(_KEYCTL_JOIN_SESSION_KEYRING), _b(name)),
                  f"join session keyring {name or '(anonymous)'}")


def keyring_add_perm(serial: int, bits: int) -> None:
    """Add permission bits to a key (KEYCTL_DESCRIBE's perm field | bits, then KEYCTL_SETPERM), as runc does."""
    buf = ctypes.create_string_buffer(256)
    n = _check(_libc.syscall(ctypes.c_long(_SYS_KEYCTL), ctypes.c_long(_KEYCTL_DESCRIBE), ctypes.c_long(serial),
                             buf, ctypes.c_long(len(buf))), f"describe key {serial}")
    fields = buf.raw[:max(n - 1, 0)].split(b";")  # type;uid;gid;perm;description
    perm = int(fields[3], 16) if len(fields) > 3 else 0
    _check(_libc.syscall(ctypes.c_long(_SYS_KEYCTL), ctypes.c_long(_KEYCTL_SETPERM), ctypes.c_long(serial),
                         ctypes.c_long(perm | bits)), f"set permissions of key {serial}")


def close_fds_except(keep: list[int]) -> None:
    """Close every descriptor above 2 except those in `keep` (close_range(2) over the gaps)."""
    lo = 3
    for fd in sorted(k for k in keep if k >= 3):
        if fd > lo:
            os.closerange(lo, fd)
        lo = max(lo, fd + 1)
    os.closerange(lo, 0x7FFFFFFF)


def reset_signals() -> None:
    """Every signal's disposition back to SIG_DFL and an empty signal mask, just before execve.

    execve resets caught signals only: ignored ones stay ignored and the mask stays, so without
    this a container would inherit Python's SIG_IGN for SIGPIPE and SIGXFSZ (`yes | head` would
    never end). Raw rt_sigaction/rt_sigprocmask reach every signal, glibc's internal 32 and 33
    too (a zeroed kernel `struct sigaction` is SIG_DFL, no flags, empty mask on every arch). Best
    effort, no error: it runs under the container's seccomp filter, which Docker's profile lets through."""
    zero = ctypes.create_string_buffer(32)
    for sig in range(1, _NSIG + 1):
        if sig not in (9, 19):  # SIGKILL and SIGSTOP cannot be changed
            _libc.syscall(ctypes.c_long(_SYS_RT_SIGACTION), ctypes.c_long(sig), zero, None, ctypes.c_long(8))
    _libc.syscall(ctypes.c_long(_SYS_RT_SIGPROCMASK), ctypes.c_long(2), zero, None, ctypes.c_long(8))  # SIG_SETMASK


def wipe_args_and_env() -> None:
    """Zero this process's original argv and environment strings (what /proc/PID/cmdline and
    /proc/PID/environ show; Python keeps its own copies). For a process about to enter a container:
    the caller's command line and environment are the host's business."""
    text = read_file("/proc/self/stat").decode()
    fields = text[text.rindex(")") + 2:].split()  # after "pid (comm) ": fields 3.. of proc(5)
    arg_start, arg_end, env_start, env_end = (int(f) for f in fields[45:49])  # fields 48-51
    for start, end in ((arg_start, arg_end), (env_start, env_end)):
        if 0 < start < end:
            ctypes.memset(start, 0, end - start)


_SYS_PIDFD_GETFD = 438  # the same number on every architecture (Linux 5.6+)


def pidfd_getfd(pidfd: int, fd: int) -> int:
    """A copy (close-on-exec) of descriptor `fd` of the process behind `pidfd` (needs ptrace rights: root)."""
    return _check(_libc.syscall(ctypes.c_long(_SYS_PIDFD_GETFD), ctypes.c_int(pidfd), ctypes.c_int(fd),
                                ctypes.c_uint(0)), f"pidfd_getfd {fd}")
