"""Progress events of pull (and later push): typed records handed to a callback; the library never prints.

The callback may be called from several download threads, but never concurrently (the puller
serialises calls), so a renderer needs no locking of its own.
"""

from collections.abc import Callable

from minidock.nouns import NamedTuple
from minidock.oci.descriptor import Platform
from minidock.oci.digest import Digest


class Resolved(NamedTuple):
    """The reference resolved: `digest` is what the tag points at (index or manifest), `manifest` the image's."""

    name: str
    digest: Digest
    manifest: Digest
    platform: Platform | None
    layers: tuple[tuple[Digest, int], ...]


class LayerStarted(NamedTuple):
    digest: Digest
    size: int
    offset: int = 0  # bytes already kept from an interrupted pull


class LayerProgress(NamedTuple):
    digest: Digest
    done: int
    total: int


class LayerSkipped(NamedTuple):
    """Nothing downloaded: `reason` is "already exists" (snapshot) or "blob cached" (unpacked locally)."""

    digest: Digest
    size: int
    reason: str


class LayerVerified(NamedTuple):
    """The compressed digest and the uncompressed diff_id both checked."""

    digest: Digest
    diff_id: Digest


class LayerDone(NamedTuple):
    """The layer is a committed snapshot."""

    digest: Digest
    chain_id: Digest


class PullDone(NamedTuple):
    name: str
    digest: Digest
    downloaded: bool
    bytes_downloaded: int


PullEvent = Resolved | LayerStarted | LayerProgress | LayerSkipped | LayerVerified | LayerDone | PullDone
ProgressCallback = Callable[[PullEvent], None]


def no_progress(_event: PullEvent) -> None:
    """The default callback: ignore every event."""
