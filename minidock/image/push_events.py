"""Progress events of push: typed records handed to a callback (the CLI renders them; the library never prints).

Kept apart from push.py so the CLI can name them without importing requests. The callback may be
called from several upload threads, but never concurrently (the pusher serialises calls).
"""

from collections.abc import Callable

from minidock.nouns import NamedTuple
from minidock.oci.digest import Digest


class PushStarted(NamedTuple):
    """The repository and the blobs that will be considered (layers then config).

    `layer_ids`: each layer blob's diff ID, the ID Docker shows for a layer it pushes (the config
    has none: Docker shows no line for it)."""

    repository: str
    blobs: tuple[tuple[Digest, int], ...]
    layer_ids: tuple[tuple[Digest, Digest], ...] = ()


class BlobExists(NamedTuple):
    digest: Digest
    size: int


class BlobMounted(NamedTuple):
    digest: Digest
    size: int
    source: str


class BlobProgress(NamedTuple):
    digest: Digest
    done: int
    total: int


class BlobPushed(NamedTuple):
    digest: Digest
    size: int


class PushDone(NamedTuple):
    """The manifest is in: `tag` (or the digest) now names `digest`."""

    reference: str
    digest: Digest
    size: int


PushEvent = PushStarted | BlobExists | BlobMounted | BlobProgress | BlobPushed | PushDone
PushCallback = Callable[[PushEvent], None]


def no_progress(_event: PushEvent) -> None:
    """The default callback: ignore every event."""
