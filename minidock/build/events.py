"""Build progress events: the builder reports through a callback, only the CLI renders them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from minidock.oci.digest import Digest


@dataclass(frozen=True, slots=True)
class StepStarted:
    """Step `number` of `total` begins; `text` is the instruction as written (`RUN echo hi`)."""

    number: int
    total: int
    stage: str
    text: str


@dataclass(frozen=True, slots=True)
class StepOutput:
    """Bytes a RUN step's container wrote (stdout and stderr, interleaved as written)."""

    number: int
    data: bytes


@dataclass(frozen=True, slots=True)
class StepDone:
    """Step `number` ended after `seconds`; `cached` when the build cache provided its result."""

    number: int
    seconds: float
    cached: bool = False
    layer: Digest | None = None


@dataclass(frozen=True, slots=True)
class BuildNote:
    """Anything else worth a line: a pull of a base image, a parser warning, a skipped stage."""

    text: str


@dataclass(frozen=True, slots=True)
class BuildFinished:
    """The image exists: its id (config digest), manifest digest and the names it got."""

    image_id: Digest
    manifest: Digest
    names: tuple[str, ...]
    seconds: float


BuildEvent = StepStarted | StepOutput | StepDone | BuildNote | BuildFinished
Progress = Callable[[BuildEvent], None]


def no_progress(_event: BuildEvent) -> None:
    """The default progress callback: ignore everything."""
