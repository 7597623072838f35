"""engine/imagejson.py (the quick `inspect IMAGE`) gives the engine's object, or steps aside."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from minidock.engine.imagejson import image_json, reference_key
from minidock.engine.images import inspect_image, tag_image
from minidock.image.reference import Reference
from minidock.oci import mediatypes as mt
from minidock.oci.descriptor import Descriptor
from minidock.oci.digest import Digest
from minidock.paths import Paths
from minidock.store.images import ImageRecord
from minidock.store.store import Store
from tests.store.imagetools import add_image

RICH = {"User": "app", "Env": ["A=1", 5], "Entrypoint": [], "Cmd": ["sh", "-c", "x"], "WorkingDir": "/w",
        "Labels": {"b": "2", "a": 1}, "ExposedPorts": {"80/tcp": {}, "443/tcp": {}}, "Volumes": {"/v": {}},
        "StopSignal": "SIGINT", "Healthcheck": {"Test": ["CMD", "true"], "Interval": 5}, "OnBuild": ["RUN x"],
        "Shell": ["/bin/sh", "-c"], "ArgsEscaped": True, "Hostname": "ignored"}


def _with_config(store: Store, name: str, base: ImageRecord, config: dict[str, Any]) -> None:
    """Another record: `base`'s layers under a config changed by `config` (raw JSON)."""
    manifest = json.loads(store.content.read(base.target.digest))
    cfg = {**json.loads(store.content.read(Digest.parse(manifest["config"]["digest"]))), **config}
    data = json.dumps(cfg).encode()
    manifest["config"] = {"mediaType": mt.OCI_CONFIG, "digest": str(store.content.put(data)), "size": len(data)}
    body = json.dumps(manifest).encode()
    target = Descriptor(mt.OCI_MANIFEST, store.content.put(body), len(body))
    store.images.put(ImageRecord(name=name, target=target, index_digest=None, created="2024-02-03T04:05:06Z"))


@pytest.fixture
def store(store_root: Path) -> Store:
    return Store.open(Paths(store_root))


def test_plain_inspect_is_the_engines(store: Store, tmp_path: Path) -> None:
    base = add_image(store, "docker.io/library/alpine:latest", [{"f": b"x" * 2000}, {"g": b"y"}], tmp_path)
    tag_image(store, "alpine", "localhost:5000/team/alpine:2")
    tag_image(store, "alpine", "me/alpine")
    _with_config(store, "docker.io/me/rich:1", base, {
        "config": RICH, "author": "me", "variant": "v8", "docker_version": "20.10", "created": None,
        "history": [{"comment": "first"}, "junk", {"created_by": "x", "comment": ""}]})
    _with_config(store, "docker.io/me/bare:1", base, {"config": None, "history": None})
    root = str(store.paths.root)
    for text in ("alpine", "alpine:latest", "docker.io/library/alpine", "index.docker.io/library/alpine:latest",
                 "localhost:5000/team/alpine:2", "me/alpine", "me/rich:1", "docker.io/me/bare:1"):
        want = inspect_image(store, text).to_docker_json()  # measures the snapshot sizes first
        assert image_json(text, root) == want, text
        assert reference_key(text) == str(Reference.parse(text))


@pytest.mark.parametrize("text", ["", "Alpine", "alpine@sha256:" + "0" * 64, "sha256:abc", "abc123", "missing",
                                  "alpine:nope", "/alpine", ":x", "a b"])
def test_anything_else_is_the_engines(store: Store, tmp_path: Path, text: str) -> None:
    add_image(store, "docker.io/library/alpine:latest", [{"f": b"x"}], tmp_path)
    assert image_json(text, str(store.paths.root)) is None


def test_odd_configs_and_stale_indexes_step_aside(store: Store, tmp_path: Path) -> None:
    base = add_image(store, "docker.io/library/alpine:latest", [{"f": b"x"}], tmp_path)
    inspect_image(store, "alpine")
    _with_config(store, "docker.io/me/odd:1", base, {"config": {"Env": "A=1"}})
    _with_config(store, "docker.io/me/sha512:1", base, {"rootfs": {"type": "layers", "diff_ids": ["sha512:00"]}})
    root = str(store.paths.root)
    assert image_json("me/odd:1", root) is None and image_json("me/sha512:1", root) is None
    assert image_json("alpine", root) is not None
    (store.paths.root / "images.journal").write_bytes(b"")
    assert image_json("alpine", root) is None
