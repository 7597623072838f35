"""The stdin side of `attach` and `start -i`: what is typed goes to a running container's stdin.

No daemon holds the container's stdin: its supervisor (the monitor of a detached container, or the
supervisor a detached `run -it` left behind) holds the other end, a pipe's write end (`-i`) or the
pty's master (`-t`). `endpoint(supervisor, pid)` takes a copy of that descriptor (pidfd_getfd:
the one in the supervisor matching the container's fd 0), and `StdinCopy` copies our stdin into it
on a thread of its own (the main thread streams the output from the log): with a terminal, keys go
as typed (raw mode, the window size follows ours) and the detach keys end the attach.

Lifecycle: `start()`, then the caller streams output; `detached` is set (and `on_detach` called,
from the copying thread) when the keys were typed; `close()` restores the terminal.
"""

from __future__ import annotations

import contextlib
import os
import threading

from minidock.runtime import syscalls as sc

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any


def endpoint(supervisor: int, pid: int) -> tuple[int, bool] | None:
    """(a copy of the supervisor's end of `pid`'s stdin, whether it is a pty master); None when the
    container's stdin is not one its supervisor writes (no -i, /dev/null, a closed fd)."""
    try:
        target = os.readlink(f"/proc/{pid}/fd/0")
        fds = {n: os.readlink(f"/proc/{supervisor}/fd/{n}") for n in os.listdir(f"/proc/{supervisor}/fd")}
    except OSError:
        return None
    tty = target.startswith("/dev/pts/")
    found = [int(n) for n, link in fds.items() if (link.endswith("ptmx") if tty else link == target)]
    if not target.startswith(("pipe:", "/dev/pts/")) or not found:
        return None
    pidfd = os.pidfd_open(supervisor)
    try:
        return sc.pidfd_getfd(pidfd, min(found)), tty
    except OSError:
        return None
    finally:
        os.close(pidfd)


class StdinCopy:
    """Our stdin -> the container's, on a thread (see the module docstring)."""

    def __init__(self, dst: int, tty: bool, keys: bytes, on_detach: Callable[[], None], stdin: int = 0) -> None:
        from minidock.runtime.detachkeys import Scanner

        self.dst, self.tty, self.stdin, self.on_detach = dst, tty, stdin, on_detach
        self.scanner = Scanner(keys if tty else b"")  # Docker: detach keys only with a terminal
        self.detached = False
        self.saved: list[Any] | None = None

    def start(self) -> None:
        if self.tty and os.isatty(self.stdin):
            import termios
            import tty

            from minidock.runtime.terminal import copy_winsize

            self.saved = termios.tcgetattr(self.stdin)
            tty.setraw(self.stdin, termios.TCSANOW)
            copy_winsize(self.stdin, self.dst)
        threading.Thread(target=self._copy, daemon=True).start()

    def _copy(self) -> None:
        with contextlib.suppress(OSError):
            while data := os.read(self.stdin, 65536):
                passed, detached = self.scanner.feed(data)
                view = memoryview(passed)
                while view:
                    view = view[os.write(self.dst, view):]
                if detached:
                    self.detached = True
                    self.close()
                    self.on_detach()
                    return

    def close(self) -> None:
        """Give the terminal its mode back (once)."""
        if self.saved is not None:
            import termios

            with contextlib.suppress(termios.error):
                termios.tcsetattr(self.stdin, termios.TCSADRAIN, self.saved)
            self.saved = None
