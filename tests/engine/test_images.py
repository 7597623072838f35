"""engine.images over a store filled by our own code (write_layer + records), no registry."""

from __future__ import annotations

from pathlib import Path

import pytest

from minidock.engine import images as eng
from minidock.engine.lookup import open_store
from minidock.errors import ConflictError, ImageNotFoundError, ReferenceFormatError
from minidock.oci.imageconfig import ImageConfig
from minidock.paths import Paths
from minidock.store.containers import ContainerRecord, ContainerStore
from minidock.store.images import ImageRecord
from minidock.store.store import Store
from tests.store.imagetools import add_image


@pytest.fixture
def store(store_root: Path) -> Store:
    return open_store(Paths(store_root))


def test_list_images_names_ids_sizes_and_order(store: Store, tmp_path: Path) -> None:
    old = add_image(store, "docker.io/library/alpine:3", [{"bin/sh": b"x" * 1000}, {"etc/os": b"abc"}],
                    tmp_path, created="2020-01-01T00:00:00Z")
    add_image(store, "localhost:5000/me/app:v1", [{"a": b"12"}], tmp_path, created="2024-01-01T00:00:00Z")
    store.images.put(ImageRecord(name=f"docker.io/library/alpine@{old.target.digest}", target=old.target))
    rows = eng.list_images(store)
    assert [(r.repository, r.tag) for r in rows] == [("localhost:5000/me/app", "v1"), ("alpine", "3"),
                                                       ("alpine", "<none>")]
    assert rows[1].image_id == store.images.image_id(old) and rows[1].size == 1003
    assert rows[2].digest == old.target.digest


def test_resolve_by_name_digest_and_id_prefix(store: Store, tmp_path: Path) -> None:
    rec = add_image(store, "docker.io/library/alpine:latest", [{"f": b"1"}], tmp_path)
    image_id = store.images.image_id(rec)
    for text in ("alpine", "alpine:latest", "docker.io/library/alpine", image_id.short, str(image_id),
                 f"alpine@{rec.target.digest}"):
        assert eng.resolve(store, text) == rec, text
    with pytest.raises(ImageNotFoundError, match="no such image: nope"):
        eng.resolve(store, "nope")


def test_inspect_is_docker_shaped(store: Store, tmp_path: Path) -> None:
    rec = add_image(store, "docker.io/library/alpine:latest", [{"f": b"1"}, {"g": b"22"}], tmp_path)
    eng.tag_image(store, "alpine", "mine/alpine:v2")
    doc = eng.inspect_image(store, "mine/alpine:v2").to_docker_json()
    config = ImageConfig.from_bytes(store.content.read(store.images.image_id(rec)))
    assert doc["Id"] == str(store.images.image_id(rec))
    assert doc["RepoTags"] == ["alpine:latest", "mine/alpine:v2"]
    assert doc["RootFS"] == {"Type": "layers", "Layers": [str(d) for d in config.diff_ids]}
    assert doc["Size"] == 3 and doc["Os"] == "linux" and doc["Config"]["Cmd"] == ["sh"]
    with pytest.raises(ReferenceFormatError, match="digest"):
        eng.tag_image(store, "alpine", f"x@{rec.target.digest}")


def test_rmi_untags_then_deletes_and_gcs(store: Store, tmp_path: Path) -> None:
    rec = add_image(store, "docker.io/library/alpine:latest", [{"f": b"1"}], tmp_path)
    image_id = store.images.image_id(rec)
    eng.tag_image(store, "alpine", "other:1")
    assert eng.remove_images(store, ["other:1"]) == ["Untagged: other:1"]
    assert store.content.exists(image_id)
    eng.tag_image(store, "alpine", "again:1")
    with pytest.raises(ConflictError, match="multiple repositories"):
        eng.remove_images(store, [image_id.short])
    lines = eng.remove_images(store, [image_id.short], force=True)
    assert lines[:3] == ["Untagged: again:1", "Untagged: alpine:latest", f"Deleted: {image_id}"]
    assert len(lines) == 4 and lines[3].startswith("Deleted: sha256:")  # Docker: then the layers it freed
    assert list(store.content.list()) == [] and store.snapshots.list() == []


def test_rmi_refuses_an_image_a_container_uses(store: Store, tmp_path: Path) -> None:
    rec = add_image(store, "docker.io/library/alpine:latest", [{"f": b"1"}], tmp_path)
    image_id = store.images.image_id(rec)
    cs = ContainerStore(store.paths)
    cid = cs.new_id()
    cs.create(ContainerRecord(id=cid, name="web", image="alpine", image_id=str(image_id),
                              created="2024-01-01T00:00:00Z"))
    eng.tag_image(store, "alpine", "other:1")
    assert eng.remove_images(store, ["other:1"]) == ["Untagged: other:1"]  # Docker: another name is left
    with pytest.raises(ConflictError, match=f'repository reference "alpine" .* container {cid[:12]} is using'):
        eng.remove_images(store, ["alpine"])
    with pytest.raises(ConflictError, match=f"used by stopped container {cid[:12]}"):
        eng.remove_images(store, [image_id.short])
    assert eng.remove_images(store, ["alpine"], force=True)[0] == "Untagged: alpine:latest"


def test_disk_usage_and_check(store: Store, tmp_path: Path) -> None:
    add_image(store, "a:1", [{"f": b"1" * 100}], tmp_path)
    rows = {r.type: r for r in eng.disk_usage(store)}
    assert (rows["Images"].total, rows["Images"].size, rows["Images"].reclaimable) == (1, 100, 100)
    assert eng.check_store(store).problems == []
    Path(store.paths.ingest, "left").mkdir()
    report = eng.check_store(store, repair=True)
    assert report.problems == [] and [p.kind for p in report.repaired] == ["leftover-ingest"]


def test_path_match_is_gos() -> None:
    from minidock.engine.imagefilter import path_match

    assert path_match("busy*", "busybox") and path_match("*:latest", "busybox:latest")
    assert not path_match("*", "lab/web") and path_match("lab/*", "lab/web") and path_match("b?sybox", "busybox")
    assert path_match("[a-c]*", "busybox") and not path_match("[^b]*", "busybox")
