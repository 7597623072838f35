"""GC: the pure reachability core, and collect over a store filled by our own code."""

from __future__ import annotations

from pathlib import Path

from minidock.oci.digest import Digest
from minidock.oci.imageconfig import ImageConfig
from minidock.paths import Paths
from minidock.store.gc import collect, reachable
from minidock.store.store import Store
from tests.store.imagetools import add_image


def d(n: int) -> Digest:
    return Digest.of_bytes(str(n).encode())


def test_reachable_is_the_closure() -> None:
    graph = {d(1): [d(2), d(3)], d(2): [d(4)], d(3): [d(4), d(1)], d(5): [d(6)]}
    assert reachable([d(1)], lambda x: graph.get(x, [])) == {d(1), d(2), d(3), d(4)}
    assert reachable([], lambda x: graph.get(x, [])) == set()
    assert reachable([d(5), d(6)], lambda x: graph.get(x, [])) == {d(5), d(6)}


def test_collect_keeps_what_images_and_active_snapshots_need(store_root: Path, tmp_path: Path) -> None:
    store = Store.open(Paths(store_root))
    shared = {"base": b"shared base"}
    a = add_image(store, "a:1", [shared, {"a": b"a"}], tmp_path / "a")
    b = add_image(store, "b:1", [shared, {"b": b"b"}], tmp_path / "b")
    chains_b = ImageConfig.from_bytes(store.content.read(store.images.image_id(b))).chain_ids()
    stray = store.content.put(b"not referenced")
    assert collect(store).blobs == (stray,)
    blobs_before = set(store.content.list())
    store.images.remove(b.name)
    Path(store.paths.container("ctr")).mkdir(parents=True)  # a container (its record's dir) ...
    store.snapshots.prepare("ctr", chains_b[1])  # ... still uses b's rootfs
    res = collect(store)
    assert set(res.blobs) == blobs_before - set(store.content.list())
    assert len(res.blobs) == 3 and res.snapshots == () and res.reclaimed > 0  # b's manifest, config, layer
    store.snapshots.remove("ctr")
    res = collect(store)
    assert res.snapshots == (chains_b[1].hex,)
    assert store.snapshots.exists(chains_b[0])  # shared with a
    store.images.remove(a.name)
    res = collect(store, keep_snapshots=[str(chains_b[0])])
    assert store.snapshots.exists(chains_b[0]) and len(res.snapshots) == 1
    res = collect(store)
    assert store.snapshots.list() == [] and list(store.content.list()) == []


def test_a_containers_layer_left_without_its_container_is_a_leftover(store_root: Path, tmp_path: Path) -> None:
    """rm removes the snapshot, then the record (create: the record, then the snapshot): a layer
    without a container is what a crash in between left. check reports it, collect removes it."""
    from minidock.store.check import check

    store = Store.open(Paths(store_root))
    a = add_image(store, "a:1", [{"a": b"a"}], tmp_path)
    top = ImageConfig.from_bytes(store.content.read(store.images.image_id(a))).chain_ids()[-1]
    store.snapshots.prepare("gone", top)
    (Path(store.snapshots.upper("gone")) / "f").write_bytes(b"x" * 10)
    (problem,) = check(store)
    assert problem.kind == "snapshot-leftover" and problem.size >= 10 and "no container" in problem.message
    assert collect(store).reclaimed >= 10 and check(store) == [] and store.snapshots.exists(top)
