"""Build progress events: the builder reports through a callback, only the CLI renders them."""

from collections.abc import Callable

from minidock.nouns import NamedTuple
from minidock.oci.digest import Digest


class StepStarted(NamedTuple):
    """Step `number` of `total` begins; `text` is the instruction as written (`RUN echo hi`).

    `vertex` is BuildKit's label of the step (`2/4`, `builder 2/4` in a multi-stage build), empty for
    a step BuildKit does not show (ENV, CMD, ...); `display` is the text BuildKit shows for it."""

    number: int
    total: int
    stage: str
    text: str
    vertex: str = ""
    display: str = ""


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


class Internal(NamedTuple):
    """BuildKit's `[internal]` steps before the Dockerfile's own: loading the Dockerfile, .dockerignore,
    a base image's metadata; `detail` is their one status line (`transferring dockerfile: 115B`)."""

    title: str
    detail: str = ""


class BuildNote(NamedTuple):
    """Anything else worth a line: a pull of a base image, a parser warning, a skipped stage."""

    text: str


class BuildFinished(NamedTuple):
    """The image exists: its id (config digest), manifest digest and the names it got."""

    image_id: Digest
    manifest: Digest
    names: tuple[str, ...]
    seconds: float
    recorded: bool = True  # False with `-o`: the file system was exported, no image was named


class Exported(NamedTuple):
    """`-o`: the final stage's file system went to `dest` (a directory, a tar file, or "-" for stdout)."""

    kind: str
    dest: str
    seconds: float


BuildEvent = StepStarted | StepOutput | StepDone | BuildNote | BuildFinished | Exported | Internal
Progress = Callable[[BuildEvent], None]


def no_progress(_event: BuildEvent) -> None:
    """The default progress callback: ignore everything."""
