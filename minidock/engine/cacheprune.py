"""`builder prune [-a] [--filter until=D] [--keep-storage N]` (and the cache part of `system prune`).

Without -a an entry goes when no image uses its layer (BuildKit's "dangling"); with -a every entry
and every cache mount. `until=D` (or `unused-for=D`) spares entries recorded within the last D;
`--keep-storage N` removes the oldest of those chosen only until the cache holds N bytes or less
(its layers' sizes, each counted once). Cache mounts go with -a when neither is given. BuildKit's
other filter keys (id, parent, type, description, inuse, shared, private, label) are accepted and,
as there with this cache's records, select nothing more; any other key is refused with Docker's words.
"""

from __future__ import annotations

import os
import time

from minidock.engine.lookup import open_store
from minidock.errors import FlagError, MinidockError
from minidock.nouns import NamedTuple
from minidock.store.store import Store

TYPE_CHECKING = False
if TYPE_CHECKING:
    from minidock.builder.cache import Recorded
    from minidock.oci.digest import Digest
    from minidock.store.gc import GcResult

ACCEPTED = frozenset({"id", "parent", "type", "description", "inuse", "shared", "private", "until", "unused-for",
                      "label", "label!"})


def _daemon_error(text: str) -> MinidockError:
    err = MinidockError(f"failed to prune build cache: {text}")
    err.exit_code = 1  # Docker's daemon refusals exit 1
    return err


def parse_filters(texts: list[str] | tuple[str, ...]) -> float | None:
    """`--filter` values as Docker checks them; the until= (unused-for=) age in seconds, or None."""
    from minidock.engine.filterargs import bad_format
    from minidock.goduration import DurationError, parse_duration

    seen: dict[str, str] = {}
    for text in texts:
        key, eq, value = text.partition("=")
        if not eq:
            raise bad_format(text, "builder prune", "--filter")
        key = key.strip().lower()
        if key in seen and seen[key] != value:
            raise _daemon_error("filters expect only one value")
        seen[key] = value
    for key in seen:
        if key not in ACCEPTED:
            raise _daemon_error(f"Invalid filter '{key}'")
    if "until" in seen and "unused-for" in seen:
        raise _daemon_error('conflicting filters: "until" and "unused-for"')
    key = "until" if "until" in seen else "unused-for" if "unused-for" in seen else ""
    if not key:
        return None
    try:
        return parse_duration(seen[key])
    except DurationError as e:
        raise _daemon_error(f"\"{key}\" filter expects a duration (e.g., '24h'): {e}") from None


def parse_keep_storage(text: str) -> int:
    """`--keep-storage` as docker/cli parses it (go-units RAMInBytes: binary multiples)."""
    from minidock.runtime.cgroups import parse_bytes

    try:
        value = parse_bytes(text) if text.strip() else -1
    except MinidockError:
        value = -1
    if value < 0:
        raise FlagError(f"invalid argument \"{text}\" for \"--keep-storage\" flag: invalid size: '{text}'\n"
                        "See 'minidock builder prune --help'.")
    return value


class CachePruneReport(NamedTuple):
    """What `builder prune` removed: cache entries, cache mount directories, and the collection."""

    entries: int
    mounts: int
    gc: GcResult
    mount_bytes: int = 0

    @property
    def reclaimed(self) -> int:
        return self.gc.reclaimed + self.mount_bytes


class _Choice:
    """Which entries go (BuildCache.prune's `choose`): see the module docstring."""

    def __init__(self, store: Store, used: set[Digest], all_: bool, until: float | None, keep: int) -> None:
        self.store, self.used, self.all, self.keep = store, used, all_, keep
        self.cutoff = time.time() - until if until is not None else None

    def _size(self, chain: Digest | None) -> int:
        try:
            return self.store.snapshots.size(chain) if chain is not None else 0
        except (MinidockError, OSError):
            return 0

    def __call__(self, entries: list[Recorded]) -> set[str]:
        chosen = [r for r in entries
                  if (self.all or r.entry.chain_id is None or r.entry.chain_id not in self.used)
                  and (self.cutoff is None or r.at < self.cutoff)]
        if not self.keep:
            return {r.key for r in chosen}
        holders: dict[Digest, int] = {}  # chain -> entries naming it: a layer's bytes go with its last entry
        for r in entries:
            if r.entry.chain_id is not None:
                holders[r.entry.chain_id] = holders.get(r.entry.chain_id, 0) + 1
        total = sum(self._size(c) for c in holders)
        drop: set[str] = set()
        for r in sorted(chosen, key=lambda r: r.at):
            if total <= self.keep:
                break
            drop.add(r.key)
            chain = r.entry.chain_id
            if chain is not None:
                holders[chain] -= 1
                total -= self._size(chain) if holders[chain] == 0 else 0
        return drop


def prune_build_cache(all_: bool = False, store: Store | None = None, *, until: float | None = None,
                      keep_storage: int = 0) -> CachePruneReport:
    """`minidock builder prune`: drop the chosen cache entries (module docstring), then remove the
    blobs and snapshots nothing needs any more."""
    from pathlib import Path

    from minidock.builder.buildnet import reclaim_dead_builds
    from minidock.builder.cache import BuildCache
    from minidock.builder.runmounts import remove_cache_mounts
    from minidock.engine.images import prune_images
    from minidock.store.gc import image_roots

    store = store or open_store()
    reclaim_dead_builds(os.path.abspath(store.paths.root))  # why: a killed build's RUN lease is its scratch too
    _, used = image_roots(store)
    entries = BuildCache(store).prune(_Choice(store, used, all_, until, keep_storage))
    every = all_ and until is None and not keep_storage
    mounts, mount_bytes = remove_cache_mounts(Path(store.paths.root)) if every else (0, 0)
    return CachePruneReport(entries, mounts, prune_images(store), mount_bytes)
