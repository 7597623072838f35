"""Relay a container's pty to our stdin/stdout: raw mode, window size (SIGWINCH), until PID 1 exits.

`relay(master, pid, stdin, stdout)` returns when the container's PID 1 has exited (seen through a
pidfd) and its last output is copied, or when the pty hangs up. It restores the terminal mode and
the SIGWINCH handler on the way out.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import select
import termios
from collections.abc import Callable, Iterator

TYPE_CHECKING = False
if TYPE_CHECKING:
    import signal
else:  # why: signal.py only wraps _signal's numbers in enums, and enum's import costs a `run` ~3 ms
    import _signal as signal

Tee = Callable[[str, bytes], None] | None
_TIOCGWINSZ = termios.TIOCGWINSZ
_TIOCSWINSZ = termios.TIOCSWINSZ


def copy_winsize(src: int, dst: int) -> None:
    """Give the pty `dst` the window size of terminal `src` (nothing when src is not a terminal)."""
    with contextlib.suppress(OSError):
        size = fcntl.ioctl(src, _TIOCGWINSZ, b"\0" * 8)
        fcntl.ioctl(dst, _TIOCSWINSZ, size)


@contextlib.contextmanager
def raw_mode(fd: int) -> Iterator[None]:
    """Put terminal `fd` in raw mode while inside (keys go to the container's tty as typed)."""
    if not os.isatty(fd):
        yield
        return
    import tty
    saved = termios.tcgetattr(fd)
    tty.setraw(fd, termios.TCSANOW)  # like docker: keep typeahead (TCSAFLUSH would drop it)
    try:
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


@contextlib.contextmanager
def _follow_winsize(src: int, master: int) -> Iterator[None]:
    copy_winsize(src, master)
    old = signal.signal(signal.SIGWINCH, lambda _s, _f: copy_winsize(src, master))
    try:
        yield
    finally:
        signal.signal(signal.SIGWINCH, old)


def _write_all(fd: int, data: bytes) -> None:
    while data:
        data = data[os.write(fd, data):]


def _pump(master: int, stdout: int, tee: Tee = None) -> bool:
    """Copy what the pty has to stdout (and `tee`); False when it hung up (no process holds the slave)."""
    try:
        data = os.read(master, 65536)
    except OSError as e:
        if e.errno == errno.EIO:
            return False
        raise
    if not data:
        return False
    _write_all(stdout, data)
    if tee is not None:
        tee("stdout", data)
    return True


def _drain(master: int, stdout: int, tee: Tee = None) -> None:
    """Copy the output still buffered in the pty after PID 1 exited."""
    os.set_blocking(master, False)
    with contextlib.suppress(BlockingIOError):
        while _pump(master, stdout, tee):
            pass


def relay(master: int, pid: int, stdin: int, stdout: int, tee: Tee = None) -> None:
    """Copy stdin -> pty and pty -> stdout (and `tee`: a foreground container's log) until `pid`
    exits (its pidfd turns readable)."""
    pidfd = os.pidfd_open(pid)
    poller = select.poll()
    for fd in (master, pidfd):
        poller.register(fd, select.POLLIN)
    use_stdin = stdin >= 0
    if use_stdin:
        poller.register(stdin, select.POLLIN)
    try:
        with raw_mode(stdin) if use_stdin else contextlib.nullcontext(), _follow_winsize(stdin, master):
            while True:
                ready = dict(poller.poll())
                if master in ready and not _pump(master, stdout, tee):
                    return
                if pidfd in ready:
                    _drain(master, stdout, tee)
                    return
                if use_stdin and stdin in ready:
                    data = os.read(stdin, 65536)
                    if not data:  # our stdin ended: stop reading it, the container keeps running
                        poller.unregister(stdin)
                        use_stdin = False
                    else:
                        _write_all(master, data)
    finally:
        os.close(pidfd)
