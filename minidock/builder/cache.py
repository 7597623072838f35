"""The build cache: step key -> what the step produced, kept in `build-cache.json`.

A step's key chains its parent's key (which already covers the base image and every earlier
step, hence the config), the expanded instruction, the build args it can see and, for COPY/ADD,
the digest of its sources. An entry holds the history record, for steps that made a layer its
descriptor, diff_id and chain id, and when it was first recorded. A hit is only used when the
snapshot and blob it names are still in the store (`gc` may have removed them). The file is
rewritten atomically under a lock.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from minidock.nouns import NamedTuple
from minidock.oci.descriptor import Descriptor
from minidock.oci.digest import Digest, sha256
from minidock.oci.imageconfig import History
from minidock.paths import PRIVATE_FILE_MODE
from minidock.store.atomic import atomic_write_json, locked, read_json
from minidock.store.store import Store

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

VERSION = 1
MAX_ENTRIES = 10000
RECORDED = "recorded"  # an entry's key for the time it was first recorded


def step_key(parent: str, *parts: str) -> str:
    """The cache key of a step: sha256 over its parent's key and its own describing parts."""
    h = sha256.new()
    h.update(parent.encode())
    for p in parts:
        h.update(b"\0" + p.encode())
    return "sha256:" + h.hexdigest()


class CacheEntry(NamedTuple):
    """What a step produced: its history record and (for a layer step) the layer."""

    history: History
    layer: Descriptor | None = None
    diff_id: Digest | None = None
    chain_id: Digest | None = None

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> CacheEntry:
        layer = d.get("layer")
        return cls(history=History.from_json(d.get("history") or {}),
                   layer=Descriptor.from_json(layer, "cache layer") if layer else None,
                   diff_id=Digest.parse(d["diff_id"]) if d.get("diff_id") else None,
                   chain_id=Digest.parse(d["chain_id"]) if d.get("chain_id") else None)

    def to_json(self) -> dict[str, Any]:
        return {"history": self.history.to_json(), "layer": self.layer.to_json() if self.layer else None,
                "diff_id": str(self.diff_id) if self.diff_id else None,
                "chain_id": str(self.chain_id) if self.chain_id else None}


class Recorded(NamedTuple):
    """An entry as `prune` shows it: its key, and when it was first recorded (epoch seconds; 0 for an
    entry from before the time was kept)."""

    key: str
    entry: CacheEntry
    at: float


class BuildCache:
    """The cache of one store; `enabled=False` (--no-cache) never hits but still records."""

    def __init__(self, store: Store, enabled: bool = True) -> None:
        self.store, self.enabled = store, enabled
        self.path = store.paths.build_cache
        self._seen: dict[str, Any] | None = None  # the file as `get` first read it (one read per build)

    def _read(self) -> Any:
        try:
            return read_json(self.path, {})
        except ValueError:
            return {}  # a damaged cache is only a slower build

    @staticmethod
    def _entries(raw: Any) -> dict[str, Any]:
        entries = raw.get("entries") if isinstance(raw, dict) else None
        return entries if isinstance(entries, dict) else {}

    def _load(self) -> dict[str, Any]:
        return self._entries(self._read())

    def get(self, key: str) -> CacheEntry | None:
        """The entry for `key` when it is usable (its layer's snapshot and blob still exist)."""
        if not self.enabled:
            return None
        if self._seen is None:
            self._seen = self._load()
        raw = self._seen.get(key)
        if not isinstance(raw, dict):
            return None
        try:
            entry = CacheEntry.from_json(raw)
        except (ValueError, KeyError, TypeError, json.JSONDecodeError):
            return None
        except Exception:  # noqa: BLE001 - ManifestError from a damaged entry: a miss
            return None
        if entry.layer is not None:
            if entry.chain_id is None or not self.store.snapshots.exists(entry.chain_id):
                return None
            if not self.store.content.exists(entry.layer.digest):
                return None
        return entry

    def put_many(self, entries: dict[str, CacheEntry]) -> None:
        """Record the entries of a finished build (one rewrite, newest kept when full)."""
        if not entries:
            return
        new = {key: entry.to_json() for key, entry in entries.items()}
        self._seen = None  # the next `get` reads the file again
        now = time.time()
        with locked(self.store.paths.lock("build-cache")):
            raw = self._read()
            current = self._entries(raw)
            for key, value in new.items():  # when the entry was first recorded (`builder prune --filter until=`)
                old = current.get(key)
                value[RECORDED] = old[RECORDED] if isinstance(old, dict) and RECORDED in old else now
            if _unchanged(raw, current, new):
                return  # a fully cached rebuild: the file would be rewritten byte for byte
            for key, value in new.items():
                current.pop(key, None)
                current[key] = value
            if len(current) > MAX_ENTRIES:
                current = dict(list(current.items())[-MAX_ENTRIES:])
            atomic_write_json(self.path, {"version": VERSION, "entries": current}, mode=PRIVATE_FILE_MODE)

    def prune(self, choose: Callable[[list[Recorded]], set[str]]) -> int:
        """Drop the entries whose keys `choose` returns, given every readable entry (damaged ones go
        too), under the cache's lock; returns how many went."""
        self._seen = None
        with locked(self.store.paths.lock("build-cache")):
            current = self._load()
            readable: list[Recorded] = []
            for key, raw in current.items():
                try:
                    entry = CacheEntry.from_json(raw)
                except Exception:  # noqa: BLE001 - a damaged entry is dropped
                    continue
                at = raw.get(RECORDED)
                readable.append(Recorded(key, entry, float(at) if isinstance(at, (int, float)) else 0.0))
            drop = choose(readable)
            kept = {r.key: current[r.key] for r in readable if r.key not in drop}
            if len(kept) != len(current):
                atomic_write_json(self.path, {"version": VERSION, "entries": kept}, mode=PRIVATE_FILE_MODE)
        return len(current) - len(kept)

    def referenced(self) -> tuple[set[Digest], set[Digest]]:
        """(layer blobs, chain ids) the cache points at (for a gc that wants to keep them)."""
        blobs, chains = set(), set()
        for raw in self._load().values():
            try:
                e = CacheEntry.from_json(raw)
            except Exception:  # noqa: BLE001 - skip damaged entries
                continue
            if e.layer is not None:
                blobs.add(e.layer.digest)
            if e.chain_id is not None:
                chains.add(e.chain_id)
        return blobs, chains


def _unchanged(raw: Any, current: dict[str, Any], new: dict[str, Any]) -> bool:
    """Would recording `new` leave the file as it is (same version, entries, nothing to evict)?
    The file is written with sorted keys, so equal contents mean equal bytes."""
    return (isinstance(raw, dict) and raw.keys() == {"version", "entries"} and raw["version"] == VERSION
            and len(current) <= MAX_ENTRIES and all(current.get(k) == v for k, v in new.items()))
