"""Namespaces: spec namespace names -> CLONE_* flags, creating them (unshare) and joining them (setns).

`split(spec)` says which namespaces a container creates and which it joins; `join(paths)` enters
existing ones (a `--network container:x` or, later, `exec` into /proc/PID/ns/*).
"""

from __future__ import annotations

import os

from minidock.oci.runtimespec import Namespace
from minidock.runtime import syscalls as sc

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable

    from minidock.oci.runtimespec import Spec
    from minidock.runtime.explain import Tracer

FLAGS: dict[str, int] = {
    "pid": sc.CLONE_NEWPID, "network": sc.CLONE_NEWNET, "ipc": sc.CLONE_NEWIPC,
    "uts": sc.CLONE_NEWUTS, "mount": sc.CLONE_NEWNS, "cgroup": sc.CLONE_NEWCGROUP,
    "user": sc.CLONE_NEWUSER,
}
# the name of each namespace under /proc/PID/ns/
PROC_NAMES: dict[str, str] = {
    "pid": "pid", "network": "net", "ipc": "ipc", "uts": "uts", "mount": "mnt", "cgroup": "cgroup",
    "user": "user",
}
_UNSHARE_OPTS: dict[str, str] = {
    "pid": "--pid", "network": "--net", "ipc": "--ipc", "uts": "--uts", "mount": "--mount",
    "cgroup": "--cgroup", "user": "--user",
}


def flags_of(kinds: Iterable[str]) -> int:
    """The CLONE_NEW* mask of namespace kinds ("pid", "network", ...)."""
    mask = 0
    for k in kinds:
        if k not in FLAGS:
            raise ValueError(f"unknown namespace type {k!r}")
        mask |= FLAGS[k]
    return mask


def split(spec: Spec) -> tuple[list[str], list[Namespace]]:
    """(kinds to create, namespaces to join by path) for the container; unlisted kinds are the host's."""
    new = [n.type for n in spec.linux.namespaces if not n.path]
    joined = [n for n in spec.linux.namespaces if n.path]
    return new, joined


def unshare_shell(kinds: Iterable[str]) -> str:
    """The util-linux equivalent of unsharing `kinds`."""
    opts = " ".join(_UNSHARE_OPTS[k] for k in kinds)
    return f"unshare {opts} --fork" if "pid" in kinds else f"unshare {opts}"


def unshare(kinds: list[str], tracer: Tracer) -> None:
    """Create new namespaces of `kinds` for the caller (pid: for its next child)."""
    if not kinds:
        return
    with tracer.step(f"new namespaces: {', '.join(kinds)}", unshare_shell, kinds):
        sc.unshare(flags_of(kinds))
    if "network" in kinds:
        # why: a new network namespace starts with `lo` down; every container wants it up (as
        # Docker does for --network none), and two ioctls here cost far less than the parent
        # entering the namespace over netlink
        with tracer.step("loopback up", "ip link set lo up"):
            sc.link_up("lo")


def join(namespaces: Iterable[Namespace], tracer: Tracer) -> None:
    """setns into each namespace file (a pid namespace applies to the caller's next child)."""
    for ns in namespaces:
        with tracer.step(f"join {ns.type} namespace {ns.path}",
                         f"nsenter {_UNSHARE_OPTS[ns.type]}={ns.path}"):
            fd = os.open(ns.path, os.O_RDONLY | os.O_CLOEXEC)
            try:
                sc.setns(fd, FLAGS[ns.type])
            finally:
                os.close(fd)


def fork_into(spec: Spec, tracer: Tracer) -> int:
    """os.fork() with the child in the container's PID namespace (a new one, or one the spec joins),
    so the child is that namespace's PID 1 (or a member) and no intermediate process is needed.

    unshare/setns(CLONE_NEWPID) change only the caller's pid_for_children; the parent sets it for
    this one fork and restores its own right after (allowed: it is the caller's active namespace)."""
    pid_ns = [n for n in spec.linux.namespaces if n.type == "pid"]
    if not pid_ns:
        return os.fork()
    if pid_ns[0].path:
        join(pid_ns, tracer)
    else:
        unshare(["pid"], tracer)
    try:
        pid = os.fork()
    except BaseException:
        _restore_pid_for_children()
        raise
    if pid:
        _restore_pid_for_children()
    return pid


def _restore_pid_for_children() -> None:
    """Our own PID namespace for our next children again. A pidfd of ourselves names it (Linux 5.8+:
    no path walk, ~0.1 ms less than opening /proc/self/ns/pid); the file on older kernels."""
    try:
        fd = os.pidfd_open(os.getpid())
    except OSError:
        fd = -1
    try:
        if fd >= 0:
            try:
                sc.setns(fd, sc.CLONE_NEWPID)
                return
            except OSError:
                pass
        with open("/proc/self/ns/pid", "rb", buffering=0) as f:
            sc.setns(f.fileno(), sc.CLONE_NEWPID)
    finally:
        if fd >= 0:
            os.close(fd)


def of_process(pid: int, kinds: Iterable[str]) -> list[Namespace]:
    """The namespaces of a running process as join-able Namespace(path=/proc/PID/ns/X) entries.

    For `exec`: join user first, mount last (joining mount changes how later paths resolve, so
    the files are opened by `join` one at a time in this safe order)."""
    order = ["user", "cgroup", "ipc", "uts", "network", "pid", "mount"]
    wanted = set(kinds)
    return [Namespace(k, f"/proc/{pid}/ns/{PROC_NAMES[k]}") for k in order if k in wanted]
