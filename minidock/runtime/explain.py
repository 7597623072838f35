"""Tracer: records each kernel step of container creation with its shell equivalent and its time.

`--explain` passes a Tracer whose `sink` prints each step as it ends; everywhere else the
NullTracer costs one attribute lookup. Lifecycle: create one per container start, call
`step(title, shell)` as a context manager around each kernel operation (or `note()` for a step
already done), read `steps` afterwards. Child processes send their steps to the parent over the
sync pipe as (title, shell, ms) so one ordered list comes out.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Step:
    """One kernel step: what it did, the shell command that does the same, how long it took."""

    title: str
    shell: str
    ms: float
    where: str = "parent"


class Tracer:
    """Collects steps; `sink` (if any) is called with each step as soon as it ends."""

    enabled = True

    def __init__(self, sink: Callable[[Step], None] | None = None, where: str = "parent") -> None:
        self.steps: list[Step] = []
        self.sink = sink
        self.where = where

    @contextlib.contextmanager
    def step(self, title: str, shell: str = "") -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.note(title, shell, (time.perf_counter() - t0) * 1000.0)

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

    @contextlib.contextmanager
    def step(self, title: str, shell: str = "") -> Iterator[None]:
        yield

    def note(self, title: str, shell: str = "", ms: float = 0.0, where: str = "") -> None:
        return None
