"""system check: finds tampered blobs, broken records and snapshots, leftovers; repair fixes them."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from minidock.paths import Paths
from minidock.store.check import check, repair
from minidock.store.store import Store
from tests.store.imagetools import add_image


def test_a_consistent_store_has_no_problems(store_root: Path, tmp_path: Path) -> None:
    store = Store.open(Paths(store_root))
    add_image(store, "a:1", [{"f": b"1"}, {"g": b"2"}], tmp_path)
    assert check(store) == []


def test_check_finds_a_tampered_blob_and_repair_removes_it(store_root: Path, tmp_path: Path) -> None:
    store = Store.open(Paths(store_root))
    rec = add_image(store, "a:1", [{"f": b"1"}], tmp_path)
    layer = store.images.manifest(rec).layers[0].digest
    path = Path(store.content.path(layer))
    os.chmod(path, 0o644)
    path.write_bytes(path.read_bytes() + b"tampered")
    problems = check(store)
    assert [p.kind for p in problems] == ["blob-corrupt"] and str(layer) in str(problems[0])
    repair(store)
    assert [p.message for p in check(store)] == [f"image a:1: layer blob {layer} missing (pull the image again)"]


def test_check_finds_leftovers_and_broken_snapshots(store_root: Path, tmp_path: Path) -> None:
    store = Store.open(Paths(store_root))
    rec = add_image(store, "a:1", [{"f": b"1"}, {"g": b"2"}], tmp_path)
    (Path(store.paths.ingest) / "pull-x").mkdir()
    live = Path(store.snapshots.new_extract())  # ours: work in flight, not a leftover
    dead = Path(store.paths.tmp) / f"extract-p{os.getpid()}.1.0123456789ab"  # our PID, another start time: gone
    dead.mkdir()
    (dead / "f").write_bytes(b"x" * 1000)
    Path(store.paths.snapshot("half-done")).mkdir()
    base = store.snapshots.list()[0] if store.snapshots.list()[0].parent is None else store.snapshots.list()[1]
    shutil.rmtree(store.paths.snapshot(base.id))  # the child's parent disappears
    kinds = sorted(p.kind for p in check(store))
    assert kinds == ["image", "leftover-ingest", "leftover-tmp", "link-dangling", "snapshot-broken",
                     "snapshot-leftover"]
    assert [(p.target, p.size) for p in check(store) if p.kind == "leftover-tmp"] == [(str(dead), 1000)]
    fixed = repair(store)
    assert {p.kind for p in fixed} >= {"leftover-ingest", "leftover-tmp", "snapshot-broken"}
    assert live.is_dir() and not dead.exists()
    left = check(store)
    assert all(not p.repairable for p in left) and [p.target for p in left] == [rec.name]
    assert store.snapshots.list() == [] and os.listdir(store.paths.links) == []


def test_repair_recreates_a_missing_short_link(store_root: Path, tmp_path: Path) -> None:
    store = Store.open(Paths(store_root))
    add_image(store, "a:1", [{"f": b"1"}], tmp_path)
    (link,) = list(Path(store.paths.links).iterdir())
    link.unlink()
    assert [p.kind for p in check(store)] == ["snapshot-link"]
    assert [p.kind for p in repair(store)] == ["snapshot-link"]
    assert check(store) == [] and link.is_symlink()


def test_a_damaged_index_is_reported_and_repair_rebuilds_it(store_root: Path, tmp_path: Path) -> None:
    store = Store.open(Paths(store_root))
    a = add_image(store, "a:1", [{"f": b"1"}], tmp_path)
    b = add_image(store, "b:1", [{"g": b"2"}], tmp_path)
    Path(store.paths.images_json).write_bytes(b"\x00garbage")
    with open(store.images.journal, "ab") as f:
        f.write(b"{not json\n")
    assert sorted(p.kind for p in check(store)) == ["images-index", "images-journal"]
    assert {p.kind for p in repair(store)} == {"images-index", "images-journal"}
    assert check(store) == [] and store.images.list() == [a, b]


def test_a_dead_builds_secret_copy_and_half_made_cache_dir_are_leftovers(store_root: Path) -> None:
    """A RUN's copy of a secret in /dev/shm and a cache mount dir being made belong to their build:
    once it is dead, check reports them and repair (or the next build, pull, prune) removes them."""
    from minidock.store.gc import lease

    store = Store.open(Paths(store_root))
    dead = f"p{os.getpid()}.1.0123456789ab"  # our PID, another start time: gone
    secret = Path("/dev/shm") / f"minidock-secret-{dead}"
    mounts = Path(store.paths.build_cache_mounts)
    half = mounts / f".new-{dead}"
    try:
        secret.mkdir()
        (secret / "secret").write_text("hush")
        for d in (mounts.parent, mounts, half):
            d.mkdir(mode=0o700, exist_ok=True)
        assert sorted(p.kind for p in check(store)) == ["leftover-cache-mount", "leftover-secret"]
        with lease(store.paths):
            pass
        assert check(store) == [] and not secret.exists() and not half.exists()
    finally:
        shutil.rmtree(secret, ignore_errors=True)


def test_a_dead_snapshot_install_leaves_nothing_after_the_next_lease(store_root: Path) -> None:
    """Killed between making a snapshot's short link and the rename that publishes it: the staging dir
    and the dangling link go with the next pull or build (their gc lease), before anything else."""
    from minidock.store.gc import lease

    store = Store.open(Paths(store_root))
    staging = Path(store.paths.tmp) / f"commit-p{os.getpid()}.1.0123456789ab"
    (staging / "fs").mkdir(mode=0o700, parents=True)
    os.symlink("../snapshots/" + "ab" * 32 + "/fs", Path(store.paths.links) / "deadlink")
    assert sorted(p.kind for p in check(store)) == ["leftover-tmp", "link-dangling"]
    with lease(store.paths):
        assert not staging.exists() and not (Path(store.paths.links) / "deadlink").is_symlink()
    assert check(store) == []
