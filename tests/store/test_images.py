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
    on_disk = json.loads(store.paths.images_json.read_text())
    assert on_disk["version"] == 1 and on_disk["images"]["docker.io/library/b:1"]["index"] == str(rec.target.digest)
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
