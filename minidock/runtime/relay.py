"""Copying a container's output pipes to a sink while its PID 1 lives (the monitor's log, a foreground
run's terminal and log), then draining what is left; `run_teed` is the foreground run that does it.

`pump(streams, pid, sink)` polls the read ends in `streams` (fd -> "stdout"|"stderr") and a pidfd of
`pid`; every chunk read goes to `sink(stream, data)`. Once PID 1 has exited it keeps reading for
at most `drain` seconds (a process that PID 1 left behind may still hold a pipe open) and returns.
The caller closes the fds.
"""

from __future__ import annotations

import os
import select
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from minidock.oci.runtimespec import Spec
    from minidock.runtime.process import ExitStatus, RunOptions

    Sink = Callable[[str, bytes], None]

DRAIN_SECONDS = 1.0


def pump(streams: Mapping[int, str], pid: int, sink: Sink, drain: float = DRAIN_SECONDS) -> None:
    """Copy output into `sink` until PID 1 has exited and the pipes are drained (or `drain` passed)."""
    pidfd = os.pidfd_open(pid)
    poller = select.poll()
    poller.register(pidfd, select.POLLIN)
    open_fds = dict(streams)
    for fd in open_fds:
        poller.register(fd, select.POLLIN)
    deadline: float | None = None
    try:
        while open_fds:
            timeout = None if deadline is None else max(0.0, deadline - time.monotonic()) * 1000
            ready = poller.poll(timeout)
            if not ready and deadline is not None:
                return
            for fd, _ in ready:
                if fd == pidfd:
                    poller.unregister(pidfd)
                    deadline = time.monotonic() + drain
                elif not _read_into(fd, open_fds[fd], sink):
                    poller.unregister(fd)
                    del open_fds[fd]
    finally:
        os.close(pidfd)


def _read_into(fd: int, stream: str, sink: Sink) -> bool:
    """One read from `fd` into the sink; False at EOF (or EIO: the pty's last holder closed it)."""
    try:
        data = os.read(fd, 65536)
    except OSError:
        return False
    if data:
        sink(stream, data)
    return bool(data)


def tee_to(out: int, err: int, also: Sink) -> Sink:
    """A sink writing each stream to our own fd (`out`/`err`) and to `also`; once a reader of ours
    has gone (EPIPE: `run ... | head`), that stream is only logged, as the daemon would go on."""
    gone: set[str] = set()

    def sink(stream: str, data: bytes) -> None:
        if stream not in gone:
            fd = err if stream == "stderr" else out
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
            except OSError:
                gone.add(stream)
        also(stream, data)
    return sink


def run_teed(spec: Spec, opts: RunOptions, tee: Sink) -> ExitStatus:
    """process.run whose stdout/stderr are pipes copied to ours and to `tee` (Docker: a foreground
    container is logged too, and its output is not a terminal without -t)."""
    from minidock.runtime.process import RunOptions, create
    from minidock.runtime.sigproxy import forward_signals

    out_r, out_w = os.pipe2(os.O_CLOEXEC)
    err_r, err_w = os.pipe2(os.O_CLOEXEC)
    mine = RunOptions(tracer=opts.tracer, cgroup_root=opts.cgroup_root, stdin=opts.stdin, stdout=out_w,
                      stderr=err_w, on_namespaces=opts.on_namespaces, seccomp_cache=opts.seccomp_cache,
                      while_starting=opts.while_starting)
    try:
        c = create(spec, mine)
    finally:
        os.close(out_w)
        os.close(err_w)
    try:
        with forward_signals(c.pid):
            pump({out_r: "stdout", err_r: "stderr"}, c.pid, tee_to(opts.stdout, opts.stderr, tee))
            return c.wait()
    finally:
        os.close(out_r)
        os.close(err_r)
        c.cleanup()
