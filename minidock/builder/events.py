"""Build progress events: the builder reports through a callback, only the CLI renders them."""

from collections.abc import Callable
from typing import NamedTuple

from minidock.oci.digest import Digest


class StepStarted(NamedTuple):
    """Step `number` of `total` begins; `text` is the instruction as written (`RUN echo hi`)."""

    number: int
    total: int
    stage: str
    text: str


class StepOutput(NamedTuple):
    """Bytes a RUN step's container wrote (stdout and stderr, interleaved as written)."""

    number: int
    data: bytes


class StepDone(NamedTuple):
    """Step `number` ended after `seconds`; `cached` when the build cache provided its result."""

    number: int
    seconds: float
    cached: bool = False
    layer: Digest | None = None


class BuildNote(NamedTuple):
    """Anything else worth a line: a pull of a base image, a parser warning, a skipped stage."""

    text: str


class BuildFinished(NamedTuple):
    """The image exists: its id (config digest), manifest digest and the names it got."""

    image_id: Digest
    manifest: Digest
    names: tuple[str, ...]
    seconds: float


BuildEvent = StepStarted | StepOutput | StepDone | BuildNote | BuildFinished
Progress = Callable[[BuildEvent], None]


def no_progress(_event: BuildEvent) -> None:
    """The default progress callback: ignore everything."""
