"""Pulling images for the CLI: parse the user's words, load settings, run the image puller.

The heavy part (requests) is imported only when a pull really happens, so importing this module
stays cheap; the event types are re-exported for renderers (the CLI does not import `image`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from minidock.config import Settings
from minidock.engine.lookup import open_store
from minidock.image.events import (
    LayerDone,
    LayerProgress,
    LayerSkipped,
    LayerStarted,
    LayerVerified,
    ProgressCallback,
    PullDone,
    PullEvent,
    Resolved,
)
from minidock.image.reference import Reference, parse_repository
from minidock.oci.descriptor import Platform
from minidock.paths import Paths

if TYPE_CHECKING:
    from minidock.image.pull import PullResult

__all__ = ["LayerDone", "LayerProgress", "LayerSkipped", "LayerStarted", "LayerVerified", "PullDone",
           "PullEvent", "Resolved", "parse_name", "pull_image", "repository_tags"]


def parse_name(text: str) -> Reference:
    """The normalised reference of what the user typed (ReferenceFormatError names the input)."""
    return Reference.parse(text)


def pull_image(text: str, platform: str | None = None, progress: ProgressCallback | None = None,
               paths: Paths | None = None, settings: Settings | None = None) -> PullResult:
    """`minidock pull TEXT [--platform P]`: pull into the store at $MINIDOCK_ROOT (or `paths`)."""
    ref = Reference.parse(text)
    plat = Platform.parse(platform) if platform else None
    cfg = settings or Settings.load()
    store = open_store(paths)
    from minidock.image.pull import pull  # requests is imported only now
    from minidock.store.gc import lease

    with lease(store.paths):  # a concurrent prune must not take blobs before the record exists
        result = pull(ref, store, cfg, plat, progress)
    from minidock.engine.events import emit

    emit(store.paths, "image", "pull", result.familiar, {"name": result.familiar.rsplit(":", 1)[0]
                                                          if "@" not in result.familiar else result.familiar})
    return result


def repository_tags(text: str, settings: Settings | None = None) -> list[str]:
    """`minidock pull -a TEXT`: the full name of every tag of TEXT's repository, as its registry lists them."""
    ref = parse_repository(text)
    from minidock.image.pull import list_tags  # requests is imported only now

    return [str(r) for r in list_tags(ref, settings or Settings.load())]
