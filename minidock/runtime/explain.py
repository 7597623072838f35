"""Tracer: records each kernel step of container creation with its shell equivalent and its time.

`--explain` passes a Tracer whose `sink` prints each step as it ends; everywhere else the
NullTracer costs one attribute lookup. Lifecycle: create one per container start, call
`step(title, shell)` as a context manager around each kernel operation (or `note()` for a step
already done), read `steps` afterwards. Child processes send their steps to the parent over the
sync pipe as (title, shell, ms) so one ordered list comes out.

`shell` may be a function and its arguments instead of a string: it is called only when the step
is recorded, so a disabled tracer never builds command text (the run path is latency-critical).
"""

from __future__ import annotations

import time

from minidock.nouns import NamedTuple

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from types import TracebackType
    from typing import Any

    Shell = str | Callable[..., str]


class Step(NamedTuple):
    """One kernel step: what it did, the shell command that does the same, how long it took."""

    title: str
    shell: str
    ms: float
    where: str = "parent"


def shell_text(shell: Shell, args: tuple[Any, ...]) -> str:
    """The command text of a step: `shell` itself, or what the function `shell(*args)` returns."""
    return shell if isinstance(shell, str) else shell(*args)


class _Timed:
    """The context of one traced step: times the block, then notes it (also when the block raises)."""

    __slots__ = ("args", "shell", "t0", "title", "tracer")

    def __init__(self, tracer: Tracer, title: str, shell: Shell, args: tuple[Any, ...]) -> None:
        self.tracer, self.title, self.shell, self.args = tracer, title, shell, args
        self.t0 = 0.0

    def __enter__(self) -> None:
        self.t0 = time.perf_counter()

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        ms = (time.perf_counter() - self.t0) * 1000.0
        self.tracer.note(self.title, shell_text(self.shell, self.args), ms)


class _Untimed:
    """The context of a step nobody records: does nothing."""

    __slots__ = ()

    def __enter__(self) -> None:
        return None

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        return None


_UNTIMED = _Untimed()


class Tracer:
    """Collects steps; `sink` (if any) is called with each step as soon as it ends."""

    enabled = True

    def __init__(self, sink: Callable[[Step], None] | None = None, where: str = "parent") -> None:
        self.steps: list[Step] = []
        self.sink = sink
        self.where = where

    def step(self, title: str, shell: Shell = "", *args: Any) -> _Timed | _Untimed:
        """Time the block as one step; `shell` is its command text, or a function of `args` making it."""
        return _Timed(self, title, shell, args)

    def note(self, title: str, shell: str = "", ms: float = 0.0, where: str = "") -> None:
        s = Step(title, shell, ms, where or self.where)
        self.steps.append(s)
        if self.sink is not None:
            self.sink(s)


class NullTracer(Tracer):
    """A tracer that records nothing (the default)."""

    enabled = False

    def __init__(self) -> None:
        super().__init__(None)

    def step(self, title: str, shell: Shell = "", *args: Any) -> _Timed | _Untimed:
        return _UNTIMED

    def note(self, title: str, shell: str = "", ms: float = 0.0, where: str = "") -> None:
        return None
