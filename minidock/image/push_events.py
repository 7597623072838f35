"""Progress events of push: typed records handed to a callback (the CLI renders them; the library never prints).

Kept apart from push.py so the CLI can name them without importing requests. The callback may be
called from several upload threads, but never concurrently (the pusher serialises calls).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from minidock.oci.digest import Digest


@dataclass(frozen=True, slots=True)
class PushStarted:
    """The repository and the blobs that will be considered (layers then config)."""

    repository: str
    blobs: tuple[tuple[Digest, int], ...]


@dataclass(frozen=True, slots=True)
class BlobExists:
    digest: Digest
    size: int


@dataclass(frozen=True, slots=True)
class BlobMounted:
    digest: Digest
    size: int
    source: str


@dataclass(frozen=True, slots=True)
class BlobProgress:
    digest: Digest
    done: int
    total: int


@dataclass(frozen=True, slots=True)
class BlobPushed:
    digest: Digest
    size: int


@dataclass(frozen=True, slots=True)
class PushDone:
    """The manifest is in: `tag` (or the digest) now names `digest`."""

    reference: str
    digest: Digest
    size: int


PushEvent = PushStarted | BlobExists | BlobMounted | BlobProgress | BlobPushed | PushDone
PushCallback = Callable[[PushEvent], None]


def no_progress(_event: PushEvent) -> None:
    """The default callback: ignore every event."""
