"""The monitor of a detached container (the idea of conmon / containerd-shim), one per container.

Lifecycle: `spawn(job)` double-forks from the calling process (no exec cost) into a monitor that
runs in its own session with stdio on /dev/null and is a child subreaper. The monitor creates the
container (`runtime.process.create`), records it running (pid and monitor_pid), reports
`started` (or the failure) to `spawn` over a pipe, then copies the container's stdout/stderr (or
pty) into the json-file log, reaps it, records the exit code, finish time and OOM status, applies
the restart policy (with backoff; a user's `stop` sets `manual_stop` and ends it), removes
everything with `--rm`, and exits. The caller of `spawn` returns as soon as the report arrives.
"""

import contextlib
import os
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, NoReturn

from minidock.engine.logopts import LogOptions
from minidock.engine.logwriter import LogWriter
from minidock.engine.restart import RestartPolicy, backoff
from minidock.errors import (
    CannotInvokeError,
    CommandNotFoundError,
    MinidockError,
    NotFoundError,
    RuntimeSetupError,
)
from minidock.nouns import NamedTuple
from minidock.oci.runtimespec import Spec
from minidock.paths import Paths
from minidock.runtime import process, sync
from minidock.runtime import syscalls as sc
from minidock.store.alive import start_time
from minidock.store.containers import ContainerStore, now_rfc3339

if TYPE_CHECKING:
    from minidock.engine.netwire import NetSession

DRAIN_SECONDS = 1.0  # after PID 1 exits, how long to wait for the pipes' last output


class MonitorJob(NamedTuple):
    """Everything the monitor needs; made by the engine from the record and config.json."""

    paths: Paths
    cid: str
    spec: Spec
    restart: RestartPolicy
    auto_remove: bool = False
    log: LogOptions = LogOptions()
    keep_stdin: bool = False  # -i: hold a pipe open as the container's stdin
    cgroup_root: str = "/sys/fs/cgroup"
    network: "NetSession | None" = None  # wires the netns at each start; released at each exit
    healthcheck: Mapping[str, Any] | None = None  # the container's effective Healthcheck (engine/health.py)
    log_driver: str = "json-file"  # "none": output is read and dropped


def error_for(code: int, message: str) -> MinidockError:
    """The error class the CLI maps to `code` (126/127 like Docker, else 125)."""
    if code == 127:
        return CommandNotFoundError(message)
    if code == 126:
        return CannotInvokeError(message)
    return RuntimeSetupError(message)


def spawn(job: MonitorJob) -> int:
    """Start the monitor; returns the container's host pid once it has started (raises its failure)."""
    r, w = os.pipe2(os.O_CLOEXEC)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the intermediate only forks again
        try:
            os.close(r)
            os.setsid()  # why: the monitor must not die with the CLI's terminal or process group
            if os.fork() == 0:
                _monitor_main(job, w)
        finally:
            os._exit(0)
    os.close(w)
    os.waitpid(pid, 0)  # why: the intermediate exits at once; the monitor is reparented to init
    chan = sync.Channel(r)
    try:
        msg = chan.recv()
    finally:
        chan.close()
    if msg is None:
        raise RuntimeSetupError(f"start {job.cid[:12]}: the monitor exited before the container started")
    if msg.get("t") == "error":
        raise error_for(int(msg.get("code", 125)), str(msg.get("msg", "")))
    return int(msg["pid"])


def _detach_stdio(keep: int) -> None:
    """stdio on /dev/null, every other inherited fd but `keep` closed (the CLI's pipes must see EOF)."""
    null = os.open("/dev/null", os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.closerange(3, keep)
    os.closerange(keep + 1, 65536)


def _monitor_main(job: MonitorJob, report_fd: int) -> NoReturn:
    """The monitor process: never returns."""
    try:
        _detach_stdio(report_fd)
        sc.prctl(sc.PR_SET_CHILD_SUBREAPER, 1)  # why: the container's PID 1 is our grandchild
        Supervisor(job, sync.Channel(report_fd)).run()
    except BaseException as e:  # noqa: BLE001 - the monitor records anything, then _exits
        with contextlib.suppress(BaseException):
            ContainerStore(job.paths).update(job.cid, status="exited", pid=0, exit_code=125,
                                             error=f"monitor: {e}", finished_at=now_rfc3339())
    os._exit(0)


class _Attempt:
    """One run of the container: the runtime handle and the fds the monitor reads."""

    def __init__(self, container: process.Container, streams: dict[int, str], stdin_w: int | None) -> None:
        self.container = container
        self.streams = streams  # read fd -> "stdout" | "stderr"
        self.stdin_w = stdin_w

    def close(self) -> None:
        for fd in list(self.streams):
            if fd != self.container.pty_master:
                os.close(fd)
        self.streams = {}
        if self.stdin_w is not None:
            os.close(self.stdin_w)
            self.stdin_w = None


class Supervisor:
    """The monitor's work: start, log, reap, record, restart, remove."""

    def __init__(self, job: MonitorJob, report: sync.Channel | None) -> None:
        self.job, self.report = job, report
        self.records = ContainerStore(job.paths)
        log_path = f"{self.records.dir(job.cid)}/log"
        record = self.records.find(job.cid) if job.log_driver != "none" else None
        attrs = job.log.record_attrs(record.to_json()) if record is not None else None
        self.log = LogWriter(os.devnull if job.log_driver == "none" else log_path, job.log, attrs)
        self.log.whole_lines = not job.spec.process.terminal  # why: `attach` shows a prompt as it comes

    def _report(self, t: str, **fields: object) -> None:
        if self.report is not None:
            with contextlib.suppress(OSError):
                self.report.send(t, **fields)
            self.report.close()
            self.report = None

    def run(self) -> None:
        try:
            restarts = self.records.get(self.job.cid).restart_count
            while True:
                code = self._run_once()
                if code is None:
                    return  # could not start: recorded and reported
                rec = self.records.get(self.job.cid)
                policy = RestartPolicy.from_json(rec.host_config.get("RestartPolicy")) \
                    if rec.host_config.get("RestartPolicy") else self.job.restart  # why: `update` may change it
                if not policy.should_restart(code, restarts, rec.manual_stop):
                    break
                if not self._backoff(restarts):
                    break
                restarts += 1
                self.records.update(self.job.cid, status="restarting", restart_count=restarts)
        except NotFoundError:
            return  # removed under us (rm -f): nothing left to record
        finally:
            self.log.close()
        if self.job.auto_remove and not self._restart_asked():
            from minidock.engine.containers import remove_files
            from minidock.store.store import Store

            remove_files(Store.open(self.job.paths), self.job.cid, volumes=True)

    def _restart_asked(self) -> bool:
        """`restart` stops an --rm container to start it again: it must not be removed in between."""
        try:
            return self.records.get(self.job.cid).restarting
        except NotFoundError:
            return False

    def _backoff(self, restarts: int) -> bool:
        """Sleep before the next restart; False when a `stop` arrives meanwhile."""
        deadline = time.monotonic() + backoff(restarts)
        while time.monotonic() < deadline:
            if self.records.get(self.job.cid).manual_stop:
                return False
            time.sleep(0.02)
        return not self.records.get(self.job.cid).manual_stop

    def _run_once(self) -> int | None:
        """Create, run and reap the container once; its exit code (None when it could not start)."""
        try:
            attempt = self._create()
        except MinidockError as e:
            self.records.update(self.job.cid, status="exited" if self.report is None else "created", pid=0,
                                exit_code=e.exit_code, error=str(e), finished_at=now_rfc3339())
            self._report("error", code=e.exit_code, msg=str(e))
            return None
        c = attempt.container
        checker = 0
        try:
            self.records.update(self.job.cid, status="running", pid=c.pid, monitor_pid=os.getpid(),
                                monitor_start=start_time(os.getpid()), started_at=now_rfc3339(), exit_code=0,
                                error="", oom_killed=False)
            self._report("started", pid=c.pid)
            self._event("start")
            checker = self._start_health()
            _pump(attempt, self.log)
            status = c.wait()
        finally:
            if checker:
                from minidock.engine.health import stop_checker

                stop_checker(checker)
            attempt.close()
            with contextlib.suppress(OSError, MinidockError):
                c.cleanup()
            self._release_network()
        self.log.flush()
        self.records.update(self.job.cid, status="exited", pid=0, exit_code=status.code,
                            oom_killed=status.oom_killed, finished_at=now_rfc3339())
        if status.oom_killed:
            self._event("oom")
        self._event("die", exitCode=str(status.code))
        return status.code

    def _event(self, action: str, **extra: str) -> None:
        from minidock.engine.events import emit_container

        with contextlib.suppress(NotFoundError, OSError):
            emit_container(self.job.paths, self.records.get(self.job.cid), action, **extra)

    def _start_health(self) -> int:
        """The health checker's pid (0: the container has no health check)."""
        check = self.job.healthcheck
        if not check or (check.get("Test") or ["NONE"])[0] == "NONE":
            return 0
        from minidock.engine.health import start_checker

        return start_checker(self.job.paths, self.job.cid, check)

    def _hook(self) -> Callable[[int], None] | None:
        """The runtime's namespace hook: only a bridge network has work to do there."""
        net = self.job.network
        return net.on_namespaces if net is not None and net.net.kind == "bridge" else None

    def _release_network(self) -> None:
        net = self.job.network
        if net is not None:
            from minidock.engine import netwire

            with contextlib.suppress(OSError, MinidockError):
                net.close()
                netwire.release(self.job.paths, self.job.cid, net.attachment)

    def _create(self) -> _Attempt:
        """The container with its stdio on our pipes (or a pty)."""
        null = os.open("/dev/null", os.O_RDWR | os.O_CLOEXEC)
        stdin_r, stdin_w = os.pipe2(os.O_CLOEXEC) if self.job.keep_stdin else (null, None)
        out_r, out_w = os.pipe2(os.O_CLOEXEC)
        err_r, err_w = os.pipe2(os.O_CLOEXEC)
        opts = process.RunOptions(cgroup_root=self.job.cgroup_root, stdin=stdin_r, stdout=out_w, stderr=err_w,
                                  on_namespaces=self._hook(), seccomp_cache=self.job.paths.seccomp_cache)
        try:
            c = process.create(self.job.spec, opts)
        except BaseException:
            self._release_network()
            for fd in (out_r, err_r, *((stdin_w,) if stdin_w is not None else ())):
                os.close(fd)
            raise
        finally:
            for fd in {null, stdin_r, out_w, err_w}:
                os.close(fd)
        streams = {out_r: "stdout", err_r: "stderr"}
        if c.pty_master is not None:
            streams[c.pty_master] = "stdout"
        return _Attempt(c, streams, stdin_w)


def _pump(a: _Attempt, log: LogWriter) -> None:
    """Copy output into the log until PID 1 has exited and the pipes are drained (runtime/relay.py)."""
    from minidock.runtime.relay import pump

    pump(a.streams, a.container.pid, log.write, DRAIN_SECONDS)
