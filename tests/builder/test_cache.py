"""The build cache file: keys, round trips, hits only while the layer still exists, --no-cache."""

from __future__ import annotations

import json
from pathlib import Path

from minidock.builder.cache import BuildCache, CacheEntry, step_key
from minidock.oci import mediatypes as mt
from minidock.oci.descriptor import Descriptor
from minidock.oci.digest import Digest
from minidock.oci.imageconfig import History
from minidock.paths import Paths
from minidock.store.store import Store


def _store(root: Path) -> Store:
    return Store.open(Paths(root))


def _layer_entry(store: Store) -> CacheEntry:
    blob = store.content.put(b"layer bytes")
    diff_id = Digest.of_bytes(b"diff")
    tmp = store.snapshots.new_extract()
    (Path(tmp) / "f").write_text("x")
    store.snapshots.commit_extract(tmp, diff_id, diff_id, None)
    return CacheEntry(History(created="2024-01-01T00:00:00Z", created_by="RUN x"),
                      Descriptor(mt.OCI_LAYER_GZIP, blob, 11), diff_id, diff_id)


def test_step_keys_chain_and_separate_parts() -> None:
    assert step_key("p", "a", "b") == step_key("p", "a", "b")
    assert step_key("p", "a", "b") != step_key("p", "ab")
    assert step_key("p", "a") != step_key("q", "a")
    assert step_key("p").startswith("sha256:")


def test_round_trip_survives_reopening(store_root: Path) -> None:
    store = _store(store_root)
    entry = _layer_entry(store)
    meta = CacheEntry(History(created="2024-01-01T00:00:00Z", created_by="ENV A=b", empty_layer=True))
    BuildCache(store).put_many({"k1": entry, "k2": meta})
    again = BuildCache(_store(store_root))
    assert again.get("k1") == entry
    assert again.get("k2") == meta
    assert again.get("k3") is None
    assert BuildCache(store, enabled=False).get("k1") is None
    assert again.referenced() == ({entry.layer.digest}, {entry.chain_id})  # type: ignore[union-attr]


def test_entry_whose_layer_is_gone_is_a_miss(store_root: Path) -> None:
    store = _store(store_root)
    entry = _layer_entry(store)
    cache = BuildCache(store)
    cache.put_many({"k": entry})
    store.snapshots.remove(str(entry.chain_id))
    assert cache.get("k") is None


def test_damaged_cache_file_is_only_a_miss(store_root: Path) -> None:
    store = _store(store_root)
    Path(store.paths.build_cache).write_text("{not json")
    cache = BuildCache(store)
    assert cache.get("k") is None
    cache.put_many({"k": CacheEntry(History(created_by="X", empty_layer=True))})
    assert cache.get("k") is not None
    Path(store.paths.build_cache).write_text('{"entries": {"bad": {"layer": {"digest": "nope"}}}}')
    assert cache.get("bad") is None


def test_recording_what_the_file_holds_does_not_rewrite_it(store_root: Path) -> None:
    store = _store(store_root)
    meta = CacheEntry(History(created="2024-01-01T00:00:00Z", created_by="ENV A=b", empty_layer=True))
    BuildCache(store).put_many({"k": meta})
    path = Path(store.paths.build_cache)
    before = (path.stat().st_ino, path.read_bytes())
    BuildCache(store).put_many({"k": meta})
    assert (path.stat().st_ino, path.read_bytes()) == before
    BuildCache(store).put_many({"k": meta._replace(history=meta.history._replace(created_by="ENV A=c"))})
    assert path.stat().st_ino != before[0]
    assert BuildCache(store).get("k").history.created_by == "ENV A=c"  # type: ignore[union-attr]
    path.write_text('{"version": 0, "entries": ' + json.dumps({"k": meta.to_json()}) + "}")
    BuildCache(store).put_many({"k": meta})  # an older file version is rewritten as the current one
    assert json.loads(path.read_bytes())["version"] == 1
