"""`system prune [-a] [--volumes] [--filter ...]`: what runs and builds left, in Docker 20.10's order.

Stopped containers, networks no running container is on, with --volumes every volume no container
uses (Docker 20.10 prunes named volumes too), dangling images (-a: every image no container uses),
then the build cache (-a: all of it). --filter (until=, label=, label!=) selects among containers,
networks, volumes and images as each kind's own prune does; `until` with --volumes is refused (a
volume has no such filter, Docker's words), and the build cache ignores the filters, as Docker's
label filter leaves BuildKit's cache records alone (they carry no labels).
"""

from __future__ import annotations

from minidock.engine.cacheprune import CachePruneReport, prune_build_cache
from minidock.engine.filters import PruneFilter
from minidock.engine.lookup import open_store
from minidock.errors import PlainError
from minidock.nouns import NamedTuple

TYPE_CHECKING = False
if TYPE_CHECKING:
    from minidock.oci.digest import Digest
    from minidock.store.store import Store


class SystemPruneReport(NamedTuple):
    """What `system prune` removed: stopped containers, unused networks, unused volumes (with
    --volumes), images (ids, and Docker's `untagged:`/`deleted:` lines), and the build cache."""

    containers: list[str]
    images: list[Digest]
    cache: CachePruneReport
    networks: list[str]
    image_lines: list[str]
    image_bytes: int = 0
    volumes: tuple[str, ...] = ()
    volume_bytes: int = 0

    @property
    def reclaimed(self) -> int:
        return self.image_bytes + self.cache.reclaimed + self.volume_bytes


def check_filters(texts: list[str] | tuple[str, ...], volumes: bool = False) -> PruneFilter:
    """The parsed --filter values (Docker's errors), before anything is asked or removed."""
    chosen = PruneFilter.parse(texts, command="system prune")
    if volumes and chosen.until is not None:
        raise PlainError('ERROR: The "until" filter is not supported with "--volumes"')
    return chosen


def system_prune(store: Store | None = None, all_: bool = False, volumes: bool = False,
                 filters: PruneFilter | None = None) -> SystemPruneReport:
    """`minidock system prune [-a] [--volumes]`: see the module docstring."""
    from minidock.engine import lifecycle, networks
    from minidock.engine.images import prune_unused

    store = store or open_store()
    containers = lifecycle.prune(store, filters=filters)
    nets = networks.prune(filters, paths=store.paths)
    gone_volumes, volume_bytes = _prune_volumes(store, filters) if volumes else ([], 0)
    images = prune_unused(store, all_, filters)
    return SystemPruneReport(containers, images.images, prune_build_cache(all_, store), nets, images.lines,
                             images.gc.reclaimed, tuple(gone_volumes), volume_bytes)


def _prune_volumes(store: Store, filters: PruneFilter | None) -> tuple[list[str], int]:
    from minidock.engine import volumes

    by_key: dict[str, list[str]] = {}
    for text, wanted in filters.labels if filters else ():
        by_key.setdefault("label" if wanted else "label!", []).append(text)
    return volumes.prune(by_key, store)
