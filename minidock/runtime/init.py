"""The child side of container creation: everything after fork, ending in execve or os._exit.

One process runs this code: the container's PID 1, forked by the parent straight into the PID
namespace (the parent sets its own pid_for_children for that one fork: namespaces.fork_into).
`container_init` first joins/creates the other namespaces, moves itself into the v1 cgroup (see
process._join_plan), says `ready`, waits for `go` when the parent has work in between (it
moves the child into a v2 cgroup, wires the network; with neither, `ChildContext.await_go` is off
and no round trip is paid) and creates the cgroup namespace. Then it builds the file system view,
switches identity and capabilities, binds its life to the supervisor's (see
`_die_with_supervisor`) and execs the command. A failure anywhere becomes one `error` message
naming the stage; the process then _exits: a child never returns into the caller's Python stack.
"""

from __future__ import annotations

# Everything the child needs after pivot_root must be imported here, before it: the host's
# Python library is unreachable from inside the container (fcntl, struct are extension modules;
# rlimits use ctypes through `syscalls`, not resource).
import fcntl
import gc
import os
import struct

from minidock.runtime import caps, confine, namespaces, rootfs, users
from minidock.runtime import syscalls as sc
from minidock.runtime.cgroupview import CgroupView
from minidock.runtime.command import DEFAULT_PATH, ChildError, exec_failure, lookup
from minidock.runtime.explain import NullTracer, Tracer
from minidock.runtime.sync import Channel, ChildTracer, error_fields

TYPE_CHECKING = False
if TYPE_CHECKING:
    import signal
    from collections.abc import Mapping
    from typing import Any, NoReturn

    from minidock.oci.runtimespec import Spec
else:  # why: signal.py only wraps _signal's numbers in enums, and enum's import costs a `run` ~3 ms
    import _signal as signal

_TIOCSCTTY = 0x540E
_TIOCGWINSZ, _TIOCSWINSZ = 0x5413, 0x5414
_TIOCGPTN = 0x80045430
_TIOCSPTLCK = 0x40045431


class ChildContext:
    """What the child inherits from the parent at fork (and the stage it is at, for errors)."""

    __slots__ = ("await_go", "cgroup_files", "cgroup_view", "fd_socket", "from_parent", "keyring", "last_cap",
                 "seccomp", "spec", "stage", "stdio", "to_parent", "trace")

    def __init__(self, spec: Spec, to_parent: Channel, from_parent: Channel, stdio: tuple[int, int, int],
                 trace: bool, *, fd_socket: Any = None, cgroup_files: tuple[str, ...] = (),
                 cgroup_view: CgroupView | None = None, await_go: bool = True, last_cap: int = -1) -> None:
        self.spec = spec
        self.to_parent = to_parent
        self.from_parent = from_parent
        self.stdio = stdio
        self.trace = trace
        self.fd_socket = fd_socket  # socket.socket for passing the pty master (terminal only)
        self.cgroup_files = cgroup_files  # v1 `tasks` files to write "0" to (join the cgroup ourselves)
        self.cgroup_view = cgroup_view  # what /sys/fs/cgroup shows (None: no group of its own)
        self.await_go = await_go  # the parent has work to do between our `ready` and its `go`
        self.last_cap = last_cap  # the kernel's highest capability (-1: read it here)
        self.seccomp: bytes | None = None  # the compiled filter (seccomp.program), None: unconfined
        self.keyring: str | None = None  # the name of the container's session keyring (keyring_name)
        self.stage = "start"


def _tracer(ctx: ChildContext, where: str) -> Tracer:
    return ChildTracer(ctx.to_parent, where) if ctx.trace else NullTracer()


def _fail(ctx: ChildContext, exc: BaseException) -> NoReturn:
    try:
        ctx.to_parent.send("error", **error_fields(exc, ctx.stage))
    finally:
        os._exit(1)


def _enter(ctx: ChildContext, tracer: Tracer) -> None:
    """The first steps of PID 1: stdio, sealed fds, namespaces, cgroup, the ready/go handshake."""
    # why: this process ends in execve or _exit within milliseconds; a collection would only
    # copy-on-write pages of every object the parent holds
    gc.disable()
    # why: if minidock dies during setup, this child must not live on
    sc.prctl(sc.PR_SET_PDEATHSIG, signal.SIGKILL)
    for target, fd in enumerate(ctx.stdio):  # why: the command's stdin/stdout/stderr
        if fd != target:
            os.dup2(fd, target)
    # why: the container must not reach this host program (its /proc/PID/exe, fds) nor our descriptors
    confine.seal([ctx.to_parent.fd, ctx.from_parent.fd,
                  *((ctx.fd_socket.fileno(),) if ctx.fd_socket is not None else ())])
    ctx.stage = "namespaces"
    new, joined = namespaces.split(ctx.spec)
    # why: join first (e.g. another container's network), then create the rest; the parent made or
    # joined the PID namespace for its fork (namespaces.fork_into), cgroup comes later
    namespaces.join([ns for ns in joined if ns.type != "pid"], tracer)
    namespaces.unshare([k for k in new if k not in ("cgroup", "pid")], tracer)
    ctx.stage = "cgroup"
    _join_cgroup(ctx.cgroup_files, tracer)
    ctx.to_parent.send("ready")
    # why: wait until the parent has put us in the cgroup and wired the network (if it has to)
    if ctx.await_go:
        msg = ctx.from_parent.recv()
        if msg is None or msg.get("t") != "go":
            os._exit(1)
    ctx.stage = "cgroup namespace"
    if "cgroup" in new:  # why: now, so the namespace's root is the container's own cgroup
        namespaces.unshare(["cgroup"], tracer)


def _join_cgroup(files: tuple[str, ...], tracer: Tracer) -> None:
    """Move this (single-threaded) process into the cgroup: the container inherits it at fork."""
    if not files:
        return
    with tracer.step(f"cgroup: join {len(files)} v1 hierarchies", f"echo 0 > {files[0]} ..."):
        for f in files:
            fd = os.open(f, os.O_WRONLY | os.O_CLOEXEC)
            try:
                os.write(fd, b"0")
            finally:
                os.close(fd)


def container_init(ctx: ChildContext) -> NoReturn:
    """PID 1 of the container: file system, hostname, limits, identity, capabilities, execve."""
    try:
        tracer = _tracer(ctx, "init")
        _enter(ctx, tracer)
        os.setsid()  # why: the container gets its own session (and can take a controlling tty)
        spec = ctx.spec
        ctx.stage = "oom_score_adj"
        set_oom_score_adj(spec.process.oom_score_adj, tracer)  # why: while /proc is still the host's
        ctx.stage = "keyring"
        confine.join_keyring(ctx.keyring, tracer)
        if spec.linux.sysctl:
            ctx.stage = "sysctl"
            set_sysctls(spec.linux.sysctl, tracer)
        ctx.stage = "rootfs"
        slave = _build_rootfs(ctx, tracer)
        _seal_view(ctx, tracer)
        ctx.stage = "rlimits"
        _set_rlimits(spec, tracer)
        ctx.stage = "user"
        user = users.read_exec_user("/", spec.process.user)
        ctx.stage = "cwd"
        _make_cwd(spec.process.cwd)
        nnp = spec.process.no_new_privileges
        if not nnp:  # why: without no_new_privs, loading a filter needs CAP_SYS_ADMIN: before the drop (runc)
            confine.load_seccomp(ctx.seccomp, tracer)
        ctx.stage = "capabilities"
        caps.drop_bounding(spec.process.capabilities.bounding, tracer,
                           ctx.last_cap if ctx.last_cap >= 0 else caps.last_cap())
        ctx.stage = "user"
        _switch_user(user, tracer)
        ctx.stage = "capabilities"
        caps.apply_sets(spec.process.capabilities, tracer)
        if nnp:  # why: setuid binaries and file caps cannot add privileges
            with tracer.step("no_new_privs", "setpriv --no-new-privs"):
                sc.prctl(sc.PR_SET_NO_NEW_PRIVS, 1)
            confine.load_seccomp(ctx.seccomp, tracer)  # why: as late as possible, so few syscalls run under it
        ctx.stage = "supervisor"
        _die_with_supervisor(ctx, tracer)  # why: after setuid, which clears the parent-death signal
        ctx.stage = "cwd"
        os.chdir(spec.process.cwd or "/")
        ctx.stage = "exec"
        _exec(ctx, user, slave, tracer)
    except BaseException as e:  # noqa: BLE001 - a child must report anything, then _exit
        _fail(ctx, e)


def set_oom_score_adj(value: int | None, tracer: Tracer) -> None:
    """Give this process (and all it forks) the OOM score adjustment `value`, as runc does before
    exec; nothing when None, or when it is already that (the usual 0: no write, no step)."""
    if value is None:
        return
    fd = os.open("/proc/self/oom_score_adj", os.O_RDWR | os.O_CLOEXEC)
    try:
        if os.read(fd, 16).strip() == str(value).encode():
            return
        with tracer.step(f"oom_score_adj {value}", f"echo {value} > /proc/self/oom_score_adj"):
            try:
                os.write(fd, str(value).encode())
            except PermissionError:  # why: lowering it takes CAP_SYS_RESOURCE, which a sandbox may lack
                raise ChildError("setup", f"echo {value} > /proc/self/oom_score_adj: permission denied "
                                 "(lowering it needs CAP_SYS_RESOURCE)") from None
    finally:
        os.close(fd)


def set_sysctls(values: Mapping[str, str], tracer: Tracer) -> None:
    """Namespaced kernel parameters: /proc/sys belongs to the namespaces this process is in now
    (network, IPC), whichever proc mount the path goes through."""
    for key, value in values.items():
        path = "/proc/sys/" + key.replace(".", "/")
        with tracer.step(f"sysctl {key}={value}", f"sysctl -w {key}={value}"):
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
            except FileNotFoundError:
                raise ChildError("setup", f"sysctl {key}: no such kernel parameter") from None
            try:
                os.write(fd, value.encode())
            finally:
                os.close(fd)


def _seal_view(ctx: ChildContext, tracer: Tracer) -> None:
    """What the container sees of the host once its root is in place: hostname, masked and read-only paths."""
    spec = ctx.spec
    ctx.stage = "hostname"
    if spec.hostname and spec.has_namespace("uts"):
        with tracer.step(f"set hostname {spec.hostname}", f"hostname {spec.hostname}"):
            sc.sethostname(spec.hostname)
    if spec.domainname and spec.has_namespace("uts"):
        with tracer.step(f"set domain name {spec.domainname}", f"domainname {spec.domainname}"):
            sc.setdomainname(spec.domainname)
    ctx.stage = "masked paths"
    rootfs.mask_paths(spec.linux.masked_paths, tracer)
    rootfs.readonly_paths(spec.linux.readonly_paths, tracer)
    if spec.root.readonly:
        ctx.stage = "readonly rootfs"
        rootfs.readonly_root(tracer)


def _die_with_supervisor(ctx: ChildContext, tracer: Tracer) -> None:
    """SIGKILL this PID 1 (and so its whole PID namespace) when the supervisor - the process that
    forked it (the monitor of `run -d`, the CLI of a foreground run) - dies: a container nobody
    supervises would leak. prctl(2): the signal set at fork is cleared by a change of euid/egid,
    so it is set again here, after `_switch_user`; if the supervisor died in between, the pipe it
    alone writes (held open until our execve) shows EOF and we end now. An exec of a set-user-ID
    binary without no_new_privs clears it too (then `rm` kills what is left through the cgroup)."""
    with tracer.step("die with the supervisor", "setpriv --pdeathsig KILL"):
        sc.prctl(sc.PR_SET_PDEATHSIG, signal.SIGKILL)
        fd = ctx.from_parent.fd
        os.set_blocking(fd, False)
        try:
            gone = os.read(fd, 1) == b""  # EOF: the supervisor (the pipe's only writer) has died
        except BlockingIOError:
            gone = False
        ctx.from_parent.close()
    if gone:
        os._exit(1)


def _build_rootfs(ctx: ChildContext, tracer: Tracer) -> int | None:
    """Mounts before pivot_root; returns the pty slave fd when the spec wants a terminal."""
    spec = ctx.spec
    root = os.path.abspath(spec.root.path)
    rootfs.make_private(tracer)  # why: nothing we mount may leak to the host
    rootfs.mount_rootfs(root, spec.rootfs_mounts, tracer)  # why: the host never holds the rootfs mount
    view = _cgroup_view(ctx) if any(m.type == "cgroup" for m in spec.mounts) else None
    host_cgroupns = _group_namespace_for_mounts(spec, view, tracer)
    rootfs.mount_all(root, spec.mounts, tracer, view)
    if host_cgroupns is not None:
        with tracer.step("back to the host's cgroup namespace", "nsenter --cgroup=/proc/1/ns/cgroup"):
            sc.setns(host_cgroupns, sc.CLONE_NEWCGROUP)
        os.close(host_cgroupns)
    if any(m.destination == "/dev" for m in spec.mounts):  # why: a fresh /dev tmpfs is empty
        rootfs.populate_dev(root, tracer, spec.linux.devices)
    slave = None
    if spec.process.terminal:
        ctx.stage = "console"
        slave = _open_console(ctx, root, tracer)
    ctx.stage = "pivot_root"
    rootfs.pivot(root, tracer)  # why: the old root (the host) must be unreachable, not just hidden
    return slave


def _cgroup_view(ctx: ChildContext) -> CgroupView:
    """What /sys/fs/cgroup shows inside: the container's own groups (nothing without a group of its own)."""
    return CgroupView(0) if ctx.cgroup_view is None else ctx.cgroup_view


def _group_namespace_for_mounts(spec: Spec, view: CgroupView | None, tracer: Tracer) -> int | None:
    """`--cgroupns host`: /sys/fs/cgroup still shows only the container's own groups (runc binds
    them): cgroup mounts made in a cgroup namespace rooted at its group do, so one is made for the
    mounts and left after them. The host's namespace as an fd to go back to (None: nothing to do)."""
    if view is None or view.version == 0 or spec.has_namespace("cgroup"):
        return None
    host = os.open("/proc/self/ns/cgroup", os.O_RDONLY | os.O_CLOEXEC)
    namespaces.unshare(["cgroup"], tracer)
    return host


def open_pty(ptmx: str) -> tuple[int, int, str]:
    """A new pty of the devpts that `ptmx` belongs to: (master, slave, the slave's path), with the
    window size of our stdin when it is a terminal."""
    master = os.open(ptmx, os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
    fcntl.ioctl(master, _TIOCSPTLCK, struct.pack("i", 0))
    n = struct.unpack("I", fcntl.ioctl(master, _TIOCGPTN, struct.pack("I", 0)))[0]
    slave_path = os.path.join(os.path.dirname(ptmx), str(n))
    try:
        fcntl.ioctl(master, _TIOCSWINSZ, fcntl.ioctl(0, _TIOCGWINSZ, b"\0" * 8))  # fd 0: the caller's stdin
    except OSError:  # why: the command may ask its size at once, before the caller's relay
        pass
    return master, os.open(slave_path, os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC), slave_path


def _open_console(ctx: ChildContext, root: str, tracer: Tracer) -> int:
    """A pty in the container's own devpts: master goes to the parent, slave becomes /dev/console."""
    import socket  # before pivot_root: fine here

    ptmx = os.path.join(root, "dev/pts/ptmx")
    if not os.path.exists(ptmx):
        ptmx = "/dev/ptmx"
    with tracer.step("open the container's pty", f"open {ptmx}"):
        master, slave, slave_path = open_pty(ptmx)
    if os.path.isdir(os.path.join(root, "dev")):
        rootfs.bind_console(root, slave_path, tracer)
    socket.send_fds(ctx.fd_socket, [b"m"], [master])
    ctx.to_parent.send("pty")
    os.close(master)
    return slave


def _set_rlimits(spec: Spec, tracer: Tracer) -> None:
    """Apply the spec's rlimits (OCI's uint64, 2**64-1 unlimited); a refused one (past fs.nr_open,
    say) fails the start, as runc's does."""
    for r in spec.process.rlimits:
        which = sc.RLIMITS.get(r.type)
        if which is None:
            raise ChildError("setup", f"unknown rlimit {r.type}")
        soft, hard = (sc.RLIM_INFINITY if v >= 1 << 63 or v < 0 else v for v in (r.soft, r.hard))
        with tracer.step(f"rlimit {r.type} {soft}:{hard}", f"prlimit --{r.type[7:].lower()}={soft}:{hard}"):
            try:
                sc.setrlimit(which, (soft, hard))
            except ValueError as e:
                raise ChildError("setup", f"setrlimit {r.type} {soft}:{hard}: {e}") from None


def _make_cwd(cwd: str) -> None:
    """Create the working directory if the image lacks it (Docker does, as root, mode 0755)."""
    if cwd and not os.path.isdir(cwd):
        os.makedirs(cwd, 0o755, exist_ok=True)


def _switch_user(user: users.ExecUser, tracer: Tracer) -> None:
    """setgroups, setgid, setuid; PR_SET_KEEPCAPS keeps the permitted set for the capset after."""
    with tracer.step(f"switch to uid {user.uid} gid {user.gid}", _setpriv_shell, user):
        os.setgroups(list(user.sgids))
        os.setgid(user.gid)
        if user.uid != 0:
            sc.prctl(sc.PR_SET_KEEPCAPS, 1)
            os.setuid(user.uid)
            sc.prctl(sc.PR_SET_KEEPCAPS, 0)


def _setpriv_shell(user: users.ExecUser) -> str:
    return f"setpriv --reuid={user.uid} --regid={user.gid} --groups={','.join(map(str, user.sgids)) or '-'}"


def _env(spec: Spec, user: users.ExecUser) -> dict[str, str]:
    env: dict[str, str] = {}
    for item in spec.process.env:
        k, _, v = item.partition("=")
        env[k] = v
    env.setdefault("HOME", user.home or "/")  # why: runc sets HOME from passwd when the image does not
    return env


def _exec(ctx: ChildContext, user: users.ExecUser, slave: int | None, tracer: Tracer) -> NoReturn:
    """Look the command up, set up stdio, execve; map execve's errno to Docker's 126/127."""
    spec = ctx.spec
    env = _env(spec, user)
    path = lookup(spec.process.args[0], env.get("PATH", DEFAULT_PATH))
    if slave is not None:  # why: the pty becomes the controlling terminal and stdio of PID 1
        fcntl.ioctl(slave, _TIOCSCTTY, 0)
        for fd in (0, 1, 2):
            os.dup2(slave, fd)
        os.close(slave)
    sc.close_fds_except([ctx.to_parent.fd])  # why: no host fd may reach the command (the report pipe is CLOEXEC)
    if tracer.enabled:
        tracer.note("execve " + " ".join(spec.process.args), "exec " + " ".join(spec.process.args))
    sc.reset_signals()  # why: execve keeps ignored signals and the mask (Python ignores SIGPIPE, SIGXFSZ)
    try:
        os.execve(path, list(spec.process.args), env)
    except OSError as e:
        raise exec_failure(path, e) from e
