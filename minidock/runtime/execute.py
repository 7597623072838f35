"""`exec`: run one more process inside a running container (runc exec / nsenter, done by hand).

Lifecycle of `exec_process(target, io)`: fork a helper that joins the container's cgroup, then its
namespaces (/proc/PID/ns/*: user, cgroup, ipc, uts, net, pid, mnt - mount last), then forks again
so the pid namespace applies; that grandchild takes the container's identity (user from the
container's /etc/passwd, bounding set, capabilities, no_new_privs), cwd, env, optional pty, and
execs. A failure is one `error` message (126/127 like the container's own command). The helper
waits for the process and exits with its status, so the caller waits for the helper (or, detached,
does not: the process is then reparented to the container's PID 1).
"""

import contextlib
import fcntl
import os
from typing import TYPE_CHECKING, NoReturn

from minidock.errors import MinidockError
from minidock.nouns import NamedTuple
from minidock.oci.runtimespec import Capabilities, Process
from minidock.runtime import caps, command, confine, init, namespaces, sync, users
from minidock.runtime import syscalls as sc
from minidock.runtime.explain import NullTracer

if TYPE_CHECKING:
    import socket

    from minidock.runtime.cgroups import Cgroup
    from minidock.runtime.terminal import Detach

_TIOCSCTTY = 0x540E


class ExecTarget(NamedTuple):
    """What to run where: the container's PID 1, the namespace kinds it made, its cgroup, the process,
    the container's seccomp program (process.seccomp_program) and session keyring (process.keyring_name)."""

    pid: int
    namespaces: tuple[str, ...]
    process: Process
    cgroup: "Cgroup | None" = None
    seccomp: bytes | None = None
    keyring: str | None = None


class ExecIO(NamedTuple):
    """The caller's stdio for the process; `detach`: do not wait (stdio then is /dev/null)."""

    stdin: int = 0
    stdout: int = 1
    stderr: int = 2
    detach: bool = False
    letgo: "Detach | None" = None  # -it: the detach keys let the terminal go (runtime/attachable.py)


def exec_process(target: ExecTarget, io: ExecIO) -> int:
    """Run `target.process` in the container; its exit code (0 at once when detached)."""
    if io.detach:
        null = os.open("/dev/null", os.O_RDWR | os.O_CLOEXEC)
        io = ExecIO(null, null, null, detach=True)
    ours = theirs = None
    if target.process.terminal and not io.detach:
        # why: the pty must come from the container's own devpts (else `tty` inside finds no
        # /dev/pts/N of that name): the helper opens it there and hands the master back, as runc's
        # console socket does
        import socket

        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    up_r, up_w = sync.pipe()
    helper = os.fork()
    if helper == 0:  # pragma: no cover - the helper ends in os._exit
        up_r.close()
        if ours is not None:
            ours.close()
        _helper(target, io, theirs, up_w)
    up_w.close()
    master = None
    try:
        if ours is not None and theirs is not None:
            theirs.close()
            master = _receive_master(ours)
        child = _await_exec(up_r)
    except BaseException:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(helper, 0)
        raise
    finally:
        up_r.close()
        if ours is not None:
            ours.close()
    return _wait(helper, child, master, io)


def _receive_master(sock: "socket.socket") -> int | None:
    """The pty master the helper opened in the container (None: it failed first; its error follows)."""
    import socket

    _, fds, _, _ = socket.recv_fds(sock, 16, 1)
    return fds[0] if fds else None


def _await_exec(chan: sync.Channel) -> int:
    """The process's host pid once it exec'd (EOF); raise the typed error if it could not."""
    from minidock.runtime.process import error_from

    child = 0
    while (msg := chan.recv()) is not None:
        if msg.get("t") == "pid":
            child = int(msg["pid"])
        elif msg.get("t") == "error":
            raise error_from(msg)
    return child


def _wait(helper: int, child: int, master: int | None, io: ExecIO) -> int:
    from minidock.runtime.sigproxy import forward_signals

    if io.detach:
        os.waitpid(helper, 0)
        return 0
    with forward_signals(child or helper):
        if master is not None:
            from minidock.runtime import terminal

            try:
                terminal.relay(master, helper, io.stdin, io.stdout, detach=io.letgo)
            finally:
                os.close(master)
        _, status = os.waitpid(helper, 0)
    code = os.waitstatus_to_exitcode(status)
    return code if code >= 0 else 128 - code


def _helper(target: ExecTarget, io: ExecIO, console: "socket.socket | None", up: sync.Channel) -> NoReturn:
    """Join cgroup and namespaces, fork the process, wait for it and exit with its status; with a
    `console` socket, open a pty in the container's devpts first and send its master back on it."""
    stage = "cgroup"
    try:
        # why: from the moment it joins the container this process runs the host's interpreter:
        # its /proc/PID/{exe,fd,maps,...} must be closed to the container (CVE-2019-5736) until the
        # command's execve resets the flag, and none of the caller's descriptors may come along
        _own_stdio(io, console.fileno() if console is not None else None, up)
        sc.wipe_args_and_env()  # why: /proc/PID/{cmdline,environ} stay readable (-e values, the host's env)
        if io.detach and os.fork() != 0:
            # why: a detached process keeps a parent of its own (an exec shim, like conmon's) that
            # reaps it; the caller only waits for this short-lived helper
            os._exit(0)
        if io.detach:
            os.setsid()
        else:
            sc.prctl(sc.PR_SET_PDEATHSIG, 9)  # why: if the caller dies, nothing is left half-joined
        if target.cgroup is not None:
            target.cgroup.add(os.getpid())  # why: limits and stats cover the exec'd process too
        stage = "oom_score_adj"
        init.set_oom_score_adj(target.process.oom_score_adj, NullTracer())  # why: the container's, as runc exec
        stage = "namespaces"
        namespaces.join(namespaces.of_process(target.pid, target.namespaces), NullTracer())
        slave = None
        if console is not None:
            stage = "console"
            slave = _container_pty(console)
        stage = "fork"
        pid = os.fork()  # why: setns(pid) applies to children only
        if pid == 0:
            _child(target, io, slave, up)
        up.send("pid", pid=pid)
        up.close()
        _, status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        os._exit(code if code >= 0 else 128 - code)
    except BaseException as e:  # noqa: BLE001 - a child reports anything, then _exits
        with contextlib.suppress(BaseException):
            up.send("error", **sync.error_fields(e, stage))
        os._exit(125)


def _child(target: ExecTarget, io: ExecIO, slave: int | None, up: sync.Channel) -> NoReturn:
    """In the container: identity, capabilities, cwd, stdio, execve."""
    stage = "user"
    tracer = NullTracer()
    p = target.process
    try:
        os.setsid()
        stage = "keyring"
        confine.join_keyring(target.keyring, tracer)  # why: the container's keyring, never the caller's
        stage = "user"
        user = users.read_exec_user("/", p.user)
        stage = "seccomp"
        if not p.no_new_privileges:  # why: the order of the container's init (see init.container_init)
            confine.load_seccomp(target.seccomp, tracer)
        stage = "capabilities"
        caps.drop_bounding(p.capabilities.bounding, tracer, caps.last_cap())
        stage = "user"
        init._switch_user(user, tracer)
        stage = "capabilities"  # why: like the container's init, a non-root user keeps the bounding set only
        caps.apply_sets(p.capabilities if user.uid == 0 else Capabilities.of(p.capabilities.bounding, user.uid), tracer)
        if p.no_new_privileges:
            sc.prctl(sc.PR_SET_NO_NEW_PRIVS, 1)
            confine.load_seccomp(target.seccomp, tracer)
        stage = "cwd"
        os.chdir(p.cwd or "/")
        stage = "exec"
        env = _env(p, user)
        path = command.lookup(p.args[0], env.get("PATH", command.DEFAULT_PATH))
        _stdio(slave)
        sc.close_fds_except([up.fd])
        sc.reset_signals()  # why: execve keeps ignored signals and the mask (Python ignores SIGPIPE, SIGXFSZ)
        try:
            os.execve(path, list(p.args), env)
        except OSError as e:
            raise command.exec_failure(path, e) from e
    except BaseException as e:  # noqa: BLE001
        with contextlib.suppress(BaseException):
            up.send("error", **sync.error_fields(e, stage))
        os._exit(126 if isinstance(e, MinidockError) else 125)


def _container_pty(console: "socket.socket") -> int:
    """A pty of the container's devpts (we are in its mount namespace): the master goes to the
    caller over `console`, the slave (returned) becomes the process's terminal."""
    import socket

    master, slave, _ = init.open_pty("/dev/pts/ptmx" if os.path.exists("/dev/pts/ptmx") else "/dev/ptmx")
    socket.send_fds(console, [b"m"], [master])
    os.close(master)
    console.close()
    return slave


def _env(p: Process, user: users.ExecUser) -> dict[str, str]:
    env = dict(item.partition("=")[::2] for item in p.env)
    env.setdefault("HOME", user.home or "/")
    return env


def _own_stdio(io: ExecIO, console: int | None, up: sync.Channel) -> None:
    """The helper keeps only what it needs (the process's stdio as 0-2, the console socket, the report
    pipe) and is sealed (confine.seal: not dumpable) before it joins anything of the container's."""
    for target, fd in enumerate((io.stdin, io.stdout, io.stderr)):
        if fd != target:
            os.dup2(fd, target)
    confine.seal([up.fd] if console is None else [up.fd, console])


def _stdio(slave: int | None) -> None:
    """The pty slave becomes the controlling terminal and stdio (else 0-2 are set: _own_stdio)."""
    if slave is not None:
        fcntl.ioctl(slave, _TIOCSCTTY, 0)
        for fd in (0, 1, 2):
            os.dup2(slave, fd)
