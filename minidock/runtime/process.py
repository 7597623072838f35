"""The parent side of a container: create it, wait for it, signal it, clean it up.

Lifecycle: `create(spec, opts)` returns a `Container` whose command has already exec'd (or raises a
`MinidockError` after undoing everything); then `wait()` (once) -> `ExitStatus`, `kill(sig)` any
time before, and `cleanup()` always (kills what is left, removes the cgroup, closes the pty).
`run(spec, opts)` is the foreground composition: create, forward signals, relay the pty, wait,
cleanup. The container's PID 1 is the calling process's child, forked straight into its PID
namespace (no intermediate process), and is SIGKILLed by the kernel when the calling process dies
(init._die_with_supervisor): a supervisor killed by SIGKILL leaves no running container. While it
supervises, the calling process is a child subreaper: a `--pid host` container's orphans come back
to it and are reaped at cleanup.
"""

from __future__ import annotations

import os

from minidock.errors import CannotInvokeError, CommandNotFoundError, MinidockError, RuntimeSetupError, UsageError
from minidock.nouns import NamedTuple
from minidock.runtime import caps, init, namespaces, sync
from minidock.runtime import syscalls as sc
from minidock.runtime.cgroupview import CgroupView, v1_view
from minidock.runtime.explain import NullTracer
from minidock.runtime.sigproxy import forward_signals

TYPE_CHECKING = False
if TYPE_CHECKING:
    import signal
    from collections.abc import Callable
    from typing import Any

    from _typeshed import StrPath

    from minidock.oci.runtimespec import Spec
    from minidock.runtime.cgroups import Cgroup
    from minidock.runtime.explain import Tracer
    from minidock.runtime.terminal import Detach
else:  # why: signal.py only wraps _signal's numbers in enums, and enum's import costs a `run` ~3 ms
    import _signal as signal


class ExitStatus(NamedTuple):
    """How the container ended, in Docker's terms: `code` is the status or 128+n for signal n."""

    code: int
    signal: int | None = None
    oom_killed: bool = False

    @classmethod
    def from_wait(cls, status: int, oom: bool = False) -> ExitStatus:
        code = os.waitstatus_to_exitcode(status)
        if code < 0:
            return cls(128 - code, -code, oom)
        return cls(code, None, oom)


class RunOptions:
    """How to run: tracer, cgroup root (None = no cgroup), stdio fds, and the namespace hook.

    `on_namespaces(pid)` runs after the container's namespaces exist and before its rootfs is
    built: the network helper moves a veth into /proc/PID/ns/net there. `seccomp_cache`: the
    directory of compiled seccomp programs (see runtime.seccomp)."""

    __slots__ = ("cgroup_root", "detach", "on_namespaces", "seccomp_cache", "stderr", "stdin", "stdout", "tee",
                 "tracer", "while_starting")

    def __init__(self, *, tracer: Tracer | None = None, cgroup_root: str | None = None, stdin: int = 0,
                 stdout: int = 1, stderr: int = 2, on_namespaces: Callable[[int], None] | None = None,
                 seccomp_cache: StrPath | None = None, tee: Callable[[str, bytes], None] | None = None,
                 while_starting: Callable[[int], None] | None = None, detach: Detach | None = None) -> None:
        self.tracer: Tracer = tracer if tracer is not None else NullTracer()
        self.cgroup_root = cgroup_root
        self.seccomp_cache = seccomp_cache  # where compiled seccomp programs are kept (None: compile each time)
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr
        self.on_namespaces = on_namespaces
        self.tee = tee  # run(): the output also goes here (a foreground container's log), through pipes
        # the caller's own bookkeeping, run while the container's PID 1 builds its file system (after
        # `go`, before its command): it overlaps the child's work; an exception stops the container
        self.while_starting = while_starting
        self.detach = detach  # a terminal relay that may let go of the container (runtime/attachable.py)


class Container:
    """A created container: `pid` is its PID 1 on the host; `pty_master` is set for terminal specs."""

    def __init__(self, pid: int, cgroup: Cgroup | None, pty_master: int | None) -> None:
        self.pid = pid
        self.cgroup = cgroup
        self.pty_master = pty_master
        self.status: ExitStatus | None = None
        self.released = False  # the subreaper hold taken by create()

    def wait(self) -> ExitStatus:
        """Block until PID 1 exits; reap it and say how it ended (OOM from the cgroup)."""
        if self.status is None:
            _, st = os.waitpid(self.pid, 0)
            oom = os.waitstatus_to_exitcode(st) == -signal.SIGKILL and self._oom()
            self.status = ExitStatus.from_wait(st, oom)
        return self.status

    def _oom(self) -> bool:
        try:
            return self.cgroup is not None and self.cgroup.oom_killed()
        except (OSError, MinidockError):
            return False

    def kill(self, sig: int = signal.SIGTERM) -> None:
        """Send `sig` to PID 1 (nothing if it is already reaped)."""
        if self.status is None:
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass

    def cleanup(self) -> None:
        """Kill and reap whatever is left, remove the cgroup, close the pty. Idempotent."""
        if self.status is None:
            self.kill(signal.SIGKILL)
            self.wait()
        if self.pty_master is not None:
            os.close(self.pty_master)
            self.pty_master = None
        _remove_cgroup(self.cgroup)
        self.cgroup = None
        if not self.released:
            self.released = True
            _subreaper(False)


_supervised = 0  # containers this process created and has not cleaned up yet


def _subreaper(hold: bool) -> None:
    """Be a child subreaper while this process supervises a container, and only then.

    Why: the container's PID 1 is a grandchild that must be reaped here; but a long-lived library
    user (a test runner, a service) that stays a subreaper afterwards adopts every orphan of its
    descendants, such as a detached `exec`, and leaves them as zombies."""
    global _supervised  # noqa: PLW0603 - one count per process, like the kernel flag it mirrors
    _supervised += 1 if hold else -1
    if _supervised == (1 if hold else 0):
        sc.prctl(sc.PR_SET_CHILD_SUBREAPER, 1 if hold else 0)


def _make_cgroup(spec: Spec, opts: RunOptions) -> Cgroup | None:
    if opts.cgroup_root is None:
        return None
    from minidock.runtime import cgroups
    name = spec.linux.cgroups_path or f"minidock/{os.getpid()}-{os.urandom(4).hex()}"
    return cgroups.detect(opts.cgroup_root).create(name, spec.linux.resources, opts.tracer)


def _join_plan(cg: Cgroup | None) -> tuple[tuple[str, ...], CgroupView | None]:
    """The v1 `tasks` files the child writes "0" to, to move itself into `cg` (empty: v2 / no cgroup),
    and the container's /sys/fs/cgroup view.

    Why not the parent writing the pid to cgroup.procs: that takes the kernel's global threadgroup
    lock, whose RCU grace period costs 7-20 ms a run on this host; a single thread moving itself
    (`echo 0 > tasks`) skips that lock (kernel/cgroup/cgroup.c: cgroup_procs_write_start)."""
    if cg is None:
        return (), None
    reals = cg.real_paths()
    if list(reals) == ["unified"]:
        return (), CgroupView(2)
    files = tuple(os.path.join(d, "tasks") for d in sorted(set(reals.values())))
    view = v1_view(cg.name, reals)
    return (files if files and all(os.path.exists(f) for f in files) else ()), view


def _remove_cgroup(cg: Cgroup | None) -> None:
    """Kill what is left in the group, reap those that were reparented to us, remove the group."""
    if cg is None:
        return
    pids = cg.procs()
    if pids:  # why: an empty group cannot fill again by itself; freezing it to sweep costs ~0.5 ms
        cg.kill_all(signal.SIGKILL)
    for pid in pids:  # why: as a subreaper we inherit orphans; unreaped they would stay zombies
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass
    cg.remove()


class _Creation:
    """The state of one create() while it runs, so a failure at any point can undo all of it."""

    def __init__(self, spec: Spec, opts: RunOptions) -> None:
        self.spec, self.opts = spec, opts
        self.cgroup: Cgroup | None = None
        self.init_pid = 0  # the container's PID 1 on the host (our child)
        self.pty_master: int | None = None
        self.up, self.down = sync.pipe(), sync.pipe()  # (reader, writer) each: child->parent, parent->child
        self.sock: Any = None
        self.child_sock: Any = None
        self.subreaper = False
        self.cgroup_files: tuple[str, ...] = ()
        self.cgroup_view: CgroupView | None = None
        self.handshake = True  # the parent has work between the child's `ready` and its `go`
        self.seccomp: bytes | None = None

    def close_fds(self) -> None:
        for ch in (*self.up, *self.down):
            ch.close()
        for s in (self.sock, self.child_sock):
            if s is not None:
                s.close()
        self.sock = self.child_sock = None

    def undo(self) -> None:
        """Kill and reap the child, remove the cgroup, close everything (after a failure)."""
        if self.init_pid:
            try:
                os.kill(self.init_pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                os.waitpid(self.init_pid, 0)
            except ChildProcessError:
                pass
        self.close_fds()
        if self.pty_master is not None:
            os.close(self.pty_master)
        try:
            _remove_cgroup(self.cgroup)
        except (OSError, MinidockError):
            pass


def create(spec: Spec, opts: RunOptions) -> Container:
    """Create and start the container; returns once its command has exec'd (EOF on the report pipe)."""
    if not spec.process.args:
        raise RuntimeSetupError("create: the spec has no process args", stage="spec")
    c = _Creation(spec, opts)
    try:
        # why: a bad profile fails here, before anything exists; the child only loads the program
        c.seccomp = seccomp_program(spec, opts.seccomp_cache, opts.tracer)
        # 1. why: limits must be in place before the first container process exists
        c.cgroup = _make_cgroup(spec, opts)
        c.cgroup_files, c.cgroup_view = _join_plan(c.cgroup)
        # why: with no v2 group to join and no hook, the child need not wait for a `go`
        c.handshake = (c.cgroup is not None and not c.cgroup_files) or opts.on_namespaces is not None
        # why: orphans of a container without its own PID namespace must be reaped here
        _subreaper(True)
        c.subreaper = True
        _fork(c)
        _handshake(c)
        if opts.while_starting is not None:
            opts.while_starting(c.init_pid)
        _await_exec(c)
    except BaseException:
        c.undo()
        if c.subreaper:
            _subreaper(False)
        raise
    c.close_fds()
    return Container(c.init_pid, c.cgroup, c.pty_master)


def seccomp_program(spec: Spec, cache: StrPath | None, tracer: Tracer) -> bytes | None:
    """The compiled seccomp filter of `spec` (None: unconfined), from the cache when it has it."""
    from minidock.runtime import seccomp

    profile = spec.linux.seccomp
    if profile == seccomp.UNCONFINED:
        return None
    if not seccomp.supported():  # why: Docker runs without its default profile there; a chosen one is an error
        if profile == seccomp.DEFAULT:
            return None
        raise UsageError(f"seccomp is not enabled in this kernel, cannot run with the profile {profile}")
    with tracer.step(f"seccomp: the {profile} profile's program", "# libseccomp: seccomp_export_bpf"):
        return seccomp.program(profile, spec.process.capabilities.bounding, cache)


def keyring_name(spec: Spec) -> str | None:
    """The session keyring of a container: `_ses.<container id>` (runc's name; the id is the last part of
    its cgroups path, so `exec` finds the same one); anonymous for one with no id (a build step)."""
    cid = spec.linux.cgroups_path.rsplit("/", 1)[-1]
    return f"_ses.{cid}" if cid else None


def _fork(c: _Creation) -> None:
    """2. fork the container's PID 1 into its PID namespace (it makes the others: see init.container_init)."""
    if c.spec.process.terminal:
        import socket
        c.sock, c.child_sock = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    o = c.opts
    ctx = init.ChildContext(c.spec, c.up[1], c.down[0], (o.stdin, o.stdout, o.stderr), o.tracer.enabled,
                            fd_socket=c.child_sock, cgroup_files=c.cgroup_files,
                            cgroup_view=c.cgroup_view,  # why: the child mounts the container's view of its groups
                            await_go=c.handshake,
                            last_cap=caps.last_cap())  # why: read here once, not in every container's init
    ctx.seccomp = c.seccomp
    ctx.keyring = keyring_name(c.spec)
    pid = namespaces.fork_into(c.spec, o.tracer)
    if pid == 0:  # the child never returns from here
        try:
            c.up[0].close()
            c.down[1].close()
            if c.sock is not None:
                c.sock.close()
        finally:
            init.container_init(ctx)
    c.init_pid = pid
    c.up[1].close()
    c.down[0].close()
    if c.child_sock is not None:
        c.child_sock.close()
        c.child_sock = None


def _handshake(c: _Creation) -> None:
    """3. the child's namespaces exist (and it is in the v1 cgroup): cgroup (v2), network, say go."""
    _read_until(c, "ready")
    if not c.handshake:
        return
    if c.cgroup is not None and not c.cgroup_files:
        c.cgroup.add(c.init_pid)  # why: before it forks or runs the command
    if c.opts.on_namespaces is not None:
        with c.opts.tracer.step("namespace hook (network)", f"# hook on pid {c.init_pid}"):
            c.opts.on_namespaces(c.init_pid)
    try:
        c.down[1].send("go")
    except BrokenPipeError:
        _read_until(c, "go")  # the child died: read its error


def _await_exec(c: _Creation) -> None:
    """4./5. read the init's steps until EOF (execve done); an error message raises its typed error."""
    _read_until(c, "")


def _read_until(c: _Creation, want: str) -> None:
    """Handle messages until one of type `want` (or EOF when `want` is empty)."""
    while True:
        msg = c.up[0].recv()
        if msg is None:
            if want:
                raise RuntimeSetupError(f"create: the child exited before {want!r}", stage="sync")
            return
        t = msg.get("t")
        if t == want:
            return
        if t == "step":
            c.opts.tracer.note(*_step_args(msg))
        elif t == "pty":
            import socket
            _, fds, _, _ = socket.recv_fds(c.sock, 16, 1)
            c.pty_master = fds[0]
        elif t == "error":
            raise error_from(msg)


def _step_args(msg: dict[str, Any]) -> tuple[str, str, float, str]:
    s = sync.step_of(msg)
    return s.title, s.shell, s.ms, s.where


def error_from(msg: dict[str, Any]) -> MinidockError:
    """The typed error for a child's `error` message."""
    stage, kind, text = str(msg.get("stage", "")), str(msg.get("kind", "")), str(msg.get("msg", ""))
    if kind == "notfound":
        return CommandNotFoundError(text, stage=stage)
    if kind == "noinvoke":
        return CannotInvokeError(text, stage=stage)
    if kind in ("RuntimeSetupError", "UsageError"):
        return RuntimeSetupError(text, stage=stage)
    return RuntimeSetupError(f"{stage}: {text}", stage=stage)


def run(spec: Spec, opts: RunOptions) -> ExitStatus:
    """Foreground: create, forward signals, relay the pty (terminal specs), wait, clean up. With
    `opts.tee` the output goes through pipes (or the pty) to our stdout/stderr and to the tee."""
    if opts.tee is not None and not spec.process.terminal:
        from minidock.runtime.relay import run_teed

        return run_teed(spec, opts, opts.tee)
    c = create(spec, opts)
    try:
        with forward_signals(c.pid):
            if c.pty_master is not None:
                from minidock.runtime import terminal
                terminal.relay(c.pty_master, c.pid, opts.stdin, opts.stdout, opts.tee, detach=opts.detach)
            return c.wait()
    finally:
        c.cleanup()
