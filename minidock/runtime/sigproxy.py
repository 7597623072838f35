"""Signal proxying: while a foreground container runs, the signals we get go to its PID 1 (Docker's --sig-proxy).

Used by `process.run`, `relay.run_teed`, `execute` (a foreground exec) and `attachable` (the CLI side
of `run -it`). The signals forwarded are `FORWARDED`; SIGWINCH is the terminal relay's (runtime/terminal.py).
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    import signal
    from typing import Any
else:  # why: signal.py only wraps _signal's numbers in enums, and enum's import costs a `run` ~3 ms
    import _signal as signal

FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2)


class forward_signals:  # noqa: N801 - used as a function: `with forward_signals(pid):`
    """While inside, SIGINT/SIGTERM/SIGHUP/SIGQUIT/SIGUSR1/2 sent to us go to the container's PID 1.
    A class, not contextlib.contextmanager: contextlib (with collections, functools) costs `run` ~2 ms."""

    __slots__ = ("old", "pid")

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.old: dict[int, Any] = {}

    def _handler(self, sig: int, _frame: object) -> None:
        try:
            os.kill(self.pid, sig)
        except ProcessLookupError:
            pass

    def __enter__(self) -> None:
        self.old = {s: signal.signal(s, self._handler) for s in FORWARDED}

    def __exit__(self, *exc: object) -> None:
        for s, h in self.old.items():
            signal.signal(s, h)
