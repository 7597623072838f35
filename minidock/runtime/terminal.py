"""Relay a container's pty to our stdin/stdout: raw mode, window size (SIGWINCH), until PID 1 exits.

`relay(master, pid, stdin, stdout)` returns when the container's PID 1 has exited (seen through a
pidfd) and its last output is copied, or when the pty hangs up. It restores the terminal mode and
the SIGWINCH handler on the way out. With a `Detach`, typing its keys (ctrl-p,ctrl-q) lets the
terminal go (`Detach.let_go`) and the relay goes on copying the output to the log only.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import select
import termios
from collections.abc import Callable, Iterator

from minidock.runtime.detachkeys import Scanner

TYPE_CHECKING = False
if TYPE_CHECKING:
    import signal
    from typing import Any
else:  # why: signal.py only wraps _signal's numbers in enums, and enum's import costs a `run` ~3 ms
    import _signal as signal

Tee = Callable[[str, bytes], None] | None


class Detach:
    """How an attached terminal lets go of a container that runs on: `keys` (the detach sequence,
    b"" for none) and `let_go()`, once: the terminal's mode restored, `fds` (our stdio) pointed at
    /dev/null (the output still reaches the log), then `then()` (tell the CLI it may end)."""

    __slots__ = ("done", "fds", "keys", "saved", "scanner", "then")

    def __init__(self, keys: bytes, then: Callable[[], None], fds: tuple[int, ...] = (0, 1, 2)) -> None:
        self.keys, self.then, self.fds = keys, then, fds
        self.scanner = Scanner(keys)
        self.saved: tuple[int, list[Any]] | None = None  # (terminal fd, its mode before raw)
        self.done = False

    def let_go(self) -> None:
        if self.done:
            return
        self.done = True
        if self.saved is not None:
            with contextlib.suppress(OSError, termios.error):
                termios.tcsetattr(self.saved[0], termios.TCSADRAIN, self.saved[1])
        null = os.open(os.devnull, os.O_RDWR)
        for fd in self.fds:
            with contextlib.suppress(OSError):
                os.dup2(null, fd)
        os.close(null)
        self.then()
_TIOCGWINSZ = termios.TIOCGWINSZ
_TIOCSWINSZ = termios.TIOCSWINSZ


def copy_winsize(src: int, dst: int) -> None:
    """Give the pty `dst` the window size of terminal `src` (nothing when src is not a terminal)."""
    with contextlib.suppress(OSError):
        size = fcntl.ioctl(src, _TIOCGWINSZ, b"\0" * 8)
        fcntl.ioctl(dst, _TIOCSWINSZ, size)


@contextlib.contextmanager
def raw_mode(fd: int) -> Iterator[list[Any] | None]:
    """Put terminal `fd` in raw mode while inside (keys go to the container's tty as typed); yields
    its previous mode (None: not a terminal)."""
    if not os.isatty(fd):
        yield None
        return
    import tty
    saved = termios.tcgetattr(fd)
    tty.setraw(fd, termios.TCSANOW)  # like docker: keep typeahead (TCSAFLUSH would drop it)
    try:
        yield saved
    finally:
        with contextlib.suppress(termios.error):  # why: a Detach may have put /dev/null there
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


def relay(master: int, pid: int, stdin: int, stdout: int, tee: Tee = None, *, detach: Detach | None = None
          ) -> None:
    """Copy stdin -> pty and pty -> stdout (and `tee`: a foreground container's log) until `pid`
    exits (its pidfd turns readable); `detach`: its keys typed let the terminal go."""
    pidfd = os.pidfd_open(pid)
    poller = select.poll()
    for fd in (master, pidfd):
        poller.register(fd, select.POLLIN)
    use_stdin = stdin >= 0
    if use_stdin:
        poller.register(stdin, select.POLLIN)
    try:
        with raw_mode(stdin) if use_stdin else contextlib.nullcontext() as saved, _follow_winsize(stdin, master):
            if detach is not None and saved is not None:
                detach.saved = (stdin, saved)
            while True:
                ready = dict(poller.poll())
                if master in ready and not _pump(master, stdout, tee):
                    return
                if pidfd in ready:
                    _drain(master, stdout, tee)
                    return
                if use_stdin and stdin in ready and not _typed(stdin, master, detach):
                    poller.unregister(stdin)  # our stdin ended (or we detached): the container runs on
                    use_stdin = False
    finally:
        os.close(pidfd)


def _typed(stdin: int, master: int, detach: Detach | None) -> bool:
    """Pass what was typed on to the pty; False when stdin ended or the detach keys were typed."""
    data = os.read(stdin, 65536)
    if not data or (detach is not None and detach.done):
        return False
    if detach is None:
        _write_all(master, data)
        return True
    passed, detached = detach.scanner.feed(data)
    _write_all(master, passed)
    if detached:
        detach.let_go()
    return not detached
