"""Garbage collection: what the image records and snapshots still need, and removing the rest.

`reachable` is the pure core (roots + a children function -> the closure). `collect` walks
image records -> index/manifest -> config + layer blobs, and image configs -> chain IDs of the
committed snapshots; active snapshots and their parent chains, and `keep_snapshots`, are kept.
Writers that create content before recording an image (pull, build) hold `lease(paths)` so a
concurrent collect (which takes the same lock exclusively) never removes what they just wrote.
Taking the lease (or collecting) also reclaims the scratch of dead processes (store/atomic.py):
killed pulls' and builds' tmp dirs and build snapshots when it starts, their ingests (which a
pull of the same blob resumes first) when it ends.
"""

import contextlib
from collections.abc import Callable, Iterable, Iterator

from minidock.errors import ManifestError, NotFoundError, StoreError
from minidock.nouns import NamedTuple
from minidock.oci.digest import Digest
from minidock.oci.imageconfig import ImageConfig
from minidock.oci.manifest import Index, Manifest, kind_of
from minidock.paths import Paths
from minidock.store import leftovers
from minidock.store.atomic import locked
from minidock.store.snapshots import ACTIVE, COMMITTED, SnapshotInfo, Snapshots
from minidock.store.store import Store


class GcResult(NamedTuple):
    """What a collection removed and how many bytes of blobs and snapshot trees it freed."""

    blobs: tuple[Digest, ...] = ()
    snapshots: tuple[str, ...] = ()
    reclaimed: int = 0


def reachable(roots: Iterable[Digest], children: Callable[[Digest], Iterable[Digest]]) -> set[Digest]:
    """Every digest reachable from `roots` through `children` (roots included)."""
    seen: set[Digest] = set()
    todo = list(roots)
    while todo:
        d = todo.pop()
        if d in seen:
            continue
        seen.add(d)
        todo.extend(c for c in children(d) if c not in seen)
    return seen


@contextlib.contextmanager
def lease(paths: Paths) -> Iterator[None]:
    """Hold while writing content not yet referenced by an image record (pull, build, load)."""
    with locked(paths.lock("gc"), shared=True):
        _reclaim(paths, ingests=False)
        try:
            yield
        finally:
            _reclaim(paths, ingests=True)


def _reclaim(paths: Paths, ingests: bool) -> int:
    """leftovers.reclaim that never fails the command it runs in; the bytes freed. A dead snapshot
    install (`tmp/commit-*`) may have made its short link already: dangling links go too."""
    try:
        gone = leftovers.reclaim(paths, ingests, sizes=True)
        if any(x.path.name.startswith("commit-") for x in gone):
            Snapshots(paths).reclaim_unfinished()
        return sum(x.size for x in gone)
    except OSError:
        return 0


def blob_children(store: Store) -> Callable[[Digest], Iterator[Digest]]:
    """children() over the content store: index -> manifests present, manifest -> config + layers."""
    def children(d: Digest) -> Iterator[Digest]:
        try:
            data = store.content.read(d)
            kind = kind_of(data)
        except (NotFoundError, ManifestError):
            return  # not a manifest (a config or layer), or missing: a leaf
        if kind == "index":
            yield from (e.digest for e in Index.from_bytes(data).manifests if store.content.exists(e.digest))
        else:
            m = Manifest.from_bytes(data)
            yield m.config.digest
            yield from (x.digest for x in m.layers)
    return children


def image_roots(store: Store) -> tuple[set[Digest], set[Digest]]:
    """(blob roots, chain IDs needed) of every image record; broken records contribute what they can."""
    blobs: set[Digest] = set()
    chains: set[Digest] = set()
    for rec in store.images.list():
        blobs.add(rec.target.digest)
        if rec.index_digest is not None:
            blobs.add(rec.index_digest)
        try:
            config = ImageConfig.from_bytes(store.content.read(store.images.image_id(rec)))
        except (NotFoundError, ManifestError, StoreError):
            continue
        chains.update(config.chain_ids())
    return blobs, chains


def _snapshot_keep(store: Store, chains: set[Digest], keep: Iterable[str]) -> set[str]:
    """Snapshot ids to keep: needed chains, `keep`, every active snapshot, and their ancestors."""
    infos = {s.id: s for s in store.snapshots.list(sizes=False)}
    todo = [c.hex for c in chains] + [k.removeprefix("sha256:") for k in keep]
    todo += [s.id for s in infos.values() if s.kind == ACTIVE]
    out: set[str] = set()
    while todo:
        sid = todo.pop()
        if sid in out:
            continue
        out.add(sid)
        info = infos.get(sid)
        if info is not None and info.parent is not None:
            todo.append(info.parent.hex)
    return out


def _depths(infos: Iterable[SnapshotInfo]) -> dict[str, int]:
    """How many ancestors each snapshot has (a missing parent ends the chain)."""
    parent = {s.id: s.parent.hex if s.parent else None for s in infos}
    out: dict[str, int] = {}
    for sid, first in parent.items():
        n, cur = 0, first
        while cur is not None and n <= len(parent):
            n, cur = n + 1, parent.get(cur)
        out[sid] = n
    return out


def collect(store: Store, keep_snapshots: Iterable[str] = (), keep_blobs: Iterable[Digest] = ()) -> GcResult:
    """Remove blobs and committed snapshots that nothing needs; returns what went."""
    with locked(store.paths.lock("gc")):
        freed = _reclaim(store.paths, ingests=True) + store.snapshots.reclaim_unfinished()
        roots, chains = image_roots(store)
        live = reachable(list(roots) + list(keep_blobs), blob_children(store))
        removed_blobs = []
        for d in list(store.content.list()):
            if d not in live:
                with contextlib.suppress(NotFoundError):
                    freed += store.content.size(d)
                store.content.delete(d)
                removed_blobs.append(d)
        keep = _snapshot_keep(store, chains, keep_snapshots)
        infos = store.snapshots.list()
        doomed = [s for s in infos if s.kind == COMMITTED and s.id not in keep]
        depth = _depths(infos)
        removed_snaps = []
        for s in sorted(doomed, key=lambda s: -depth[s.id]):  # children before parents
            store.snapshots.remove(s.id)
            removed_snaps.append(s.id)
            freed += s.size
    return GcResult(blobs=tuple(removed_blobs), snapshots=tuple(removed_snaps), reclaimed=freed)
