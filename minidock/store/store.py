"""Store: the facade bundling one store root's paths, content, snapshots and image records."""

from __future__ import annotations

from minidock.nouns import NamedTuple
from minidock.paths import Paths
from minidock.store.content import ContentStore
from minidock.store.images import ImageStore
from minidock.store.snapshots import Snapshots


class Store(NamedTuple):
    """Everything on disk below `paths.root`; `Store.open(paths)` creates the layout."""

    paths: Paths
    content: ContentStore
    snapshots: Snapshots
    images: ImageStore

    @classmethod
    def open(cls, paths: Paths) -> Store:
        paths.ensure()
        content = ContentStore(paths)
        return cls(paths=paths, content=content, snapshots=Snapshots(paths),
                   images=ImageStore(paths, content))
