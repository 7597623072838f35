"""Image records: put/get/remove/list, id prefixes, the images.json format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from minidock.errors import ImageNotFoundError
from minidock.paths import Paths
from minidock.store.images import ImageRecord
from minidock.store.store import Store
from tests.store.imagetools import add_image


@pytest.fixture
def store(store_root: Path) -> Store:
    return Store.open(Paths(store_root))


def test_put_get_list_remove(store: Store, tmp_path: Path) -> None:
    rec = add_image(store, "docker.io/library/a:latest", [{"f": b"1"}], tmp_path, unpack=False)
    assert store.images.get(rec.name) == rec
    assert store.images.find("nope") is None
    other = ImageRecord(name="docker.io/library/b:1", target=rec.target, index_digest=rec.target.digest)
    store.images.put(other)
    assert [r.name for r in store.images.list()] == ["docker.io/library/a:latest", "docker.io/library/b:1"]
    on_disk = json.loads(Path(store.paths.images_json).read_text())
    assert on_disk["version"] == 2 and on_disk["images"]["docker.io/library/b:1"]["index"] == str(rec.target.digest)
    store.images.remove(rec.name)
    with pytest.raises(ImageNotFoundError, match=r"docker\.io/library/a:latest"):
        store.images.get(rec.name)
    with pytest.raises(ImageNotFoundError):
        store.images.remove(rec.name)


def test_image_id_and_prefix(store: Store, tmp_path: Path) -> None:
    rec = add_image(store, "x:1", [{"f": b"1"}], tmp_path, unpack=False)
    image_id = store.images.image_id(rec)
    assert store.images.manifest(rec).config.digest == image_id
    assert store.images.by_id_prefix(image_id.hex[:12]) == [rec]
    assert store.images.by_id_prefix(f"sha256:{image_id.hex[:5]}") == [rec]
    assert store.images.by_id_prefix("") == []
    wrong = "0" if image_id.hex[0] != "0" else "1"
    assert store.images.by_id_prefix(wrong) == []


def _two(store: Store, tmp_path: Path) -> tuple[ImageRecord, ImageRecord]:
    a = add_image(store, "docker.io/library/a:1", [{"f": b"1"}], tmp_path, unpack=False)
    b = ImageRecord(name="docker.io/library/b:1", target=a.target)
    store.images.put(b)
    return a, store.images.get(b.name)


def test_a_damaged_index_is_rebuilt_from_the_journal(store: Store, tmp_path: Path) -> None:
    """Garbage in images.json costs nothing: readers replay the journal and write the index back."""
    a, b = _two(store, tmp_path)
    Path(store.paths.images_json).write_bytes(b'{"version": 2, "images": {"docker.io/libr')
    assert store.images.list() == [a, b]
    assert json.loads(Path(store.paths.images_json).read_text())["images"].keys() == {a.name, b.name}


def test_a_stale_index_is_caught_up(store: Store, tmp_path: Path) -> None:
    """A crash between the journal append and the index rename leaves an old index: the journal wins."""
    a, b = _two(store, tmp_path)
    old = Path(store.paths.images_json).read_bytes()
    store.images.remove(a.name)
    Path(store.paths.images_json).write_bytes(old)
    assert store.images.list() == [b]


def test_a_bad_record_costs_only_itself(store: Store, tmp_path: Path) -> None:
    a, b = _two(store, tmp_path)
    index = json.loads(Path(store.paths.images_json).read_text())
    index["images"][a.name]["target"] = {"digest": "nope"}
    Path(store.paths.images_json).write_text(json.dumps(index))
    assert store.images.list() == [b] and store.images.find(a.name) is None
    store.images.rebuild()
    assert store.images.list() == [a, b]
    with Path(store.images.journal).open("ab") as f:  # a torn line, then a garbage one: each costs only itself
        f.write(b'{"op": "put", "name": "docker.io/library/c:1", "tar')
    store.images.put(ImageRecord(name="docker.io/library/d:1", target=a.target, created="x"))
    with Path(store.images.journal).open("ab") as f:
        f.write(b"\x00\x01garbage\n")
    Path(store.paths.images_json).unlink()
    assert [r.name for r in store.images.list()] == [a.name, b.name, "docker.io/library/d:1"]


def test_a_version_1_index_is_read_and_migrated(store: Store, tmp_path: Path) -> None:
    a, b = _two(store, tmp_path)
    Path(store.paths.images_json).write_text(json.dumps(
        {"version": 1, "images": {r.name: r.to_json() for r in (a, b)}}))
    Path(store.images.journal).unlink()
    assert store.images.list() == [a, b]
    store.images.remove(b.name)
    assert Path(store.images.journal).read_text().count('"op":"put"') == 1
    Path(store.paths.images_json).unlink()
    assert store.images.list() == [a]


def test_the_journal_is_compacted(store: Store, tmp_path: Path) -> None:
    a, _ = _two(store, tmp_path)
    for i in range(100):
        store.images.put(a._replace(name="docker.io/library/c:1", created=str(i)))
    lines = Path(store.images.journal).read_text().splitlines()
    assert len(lines) < 2 * 3 + 64 + 2
    Path(store.paths.images_json).unlink()
    assert store.images.get("docker.io/library/c:1").created == "99"


def test_names_lost_with_journal_and_index_leave_the_images_unnamed_not_gone(store: Store, tmp_path: Path) -> None:
    """With both the journal and the index gone bad, repair cannot know the names, but every image
    manifest whose config is there comes back as `<none>@<digest>`: usable by id, prunable."""
    a, _ = _two(store, tmp_path)
    c = add_image(store, "docker.io/library/c:1", [{"c": b"3"}], tmp_path, unpack=False)
    Path(store.images.journal).unlink()
    Path(store.paths.images_json).write_bytes(b"garbage")
    assert store.images.list() == []
    store.images.rebuild()
    assert Path(store.paths.images_json).with_suffix(".json.damaged").read_bytes() == b"garbage"
    assert sorted(r.name for r in store.images.list()) == sorted(
        f"<none>@{r.target.digest}" for r in {a.target.digest: a, c.target.digest: c}.values())
