"""Engine fixtures: a store holding the real busybox image, without any registry.

`busybox_store` (function scope) is a factory: `busybox_store()` returns a fresh store root (a
`cp -a` of a session-wide template holding busybox:latest and busybox:1.38.0-glibc, unpacked) and
sets MINIDOCK_ROOT to it, so the engine, and any `minidock` subprocess started after, use it.
Reuse it from other test packages with `pytest_plugins = ["tests.engine.conftest"]` or by importing
`make_busybox_template`/`copy_store`.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from minidock.image.reference import Reference
from minidock.oci.descriptor import Descriptor
from minidock.oci.digest import Digest
from minidock.oci.imageconfig import ImageConfig
from minidock.paths import Paths
from minidock.store.images import ImageRecord
from minidock.store.layers import apply_layer
from minidock.store.store import Store

BUSYBOX = "images/busybox/1.38.0-glibc-amd64/oci-layout"
MANIFEST = "sha256:1cfa4e2b09e127b9c4ed43578d3f3c18e7d44ea47b9ea98475c0cbe9086525f8"
NAMES = ("busybox:latest", "busybox:1.38.0-glibc")


def make_busybox_template(layout: Path, root: Path) -> Path:
    """Put the busybox OCI layout's manifest, config and layer into a new store at `root`."""
    store = Store.open(Paths(root))
    blobs = layout / "blobs" / "sha256"
    mdigest = Digest.parse(MANIFEST)
    manifest = json.loads((blobs / mdigest.hex).read_bytes())
    for d in (manifest["config"], *manifest["layers"], {"digest": MANIFEST}):
        dg = Digest.parse(d["digest"])
        store.content.put((blobs / dg.hex).read_bytes(), dg)
    config = ImageConfig.from_bytes((blobs / Digest.parse(manifest["config"]["digest"]).hex).read_bytes(), "busybox")
    parent = None
    for layer, diff_id, chain in zip(manifest["layers"], config.diff_ids, config.chain_ids(), strict=True):
        dest = store.snapshots.new_extract()
        with (blobs / Digest.parse(layer["digest"]).hex).open("rb") as f:
            apply_layer(f, "gzip", dest)
        store.snapshots.commit_extract(dest, chain, diff_id, parent)
        parent = chain
    target = Descriptor(manifest["mediaType"], mdigest, (blobs / mdigest.hex).stat().st_size)
    for name in NAMES:
        store.images.put(ImageRecord(name=str(Reference.parse(name)), target=target))
    return root


def copy_store(template: Path, dest: Path) -> Path:
    """A private copy of a template store (overlay whiteouts and links kept: cp -a)."""
    subprocess.run(["cp", "-a", str(template), str(dest)], check=True)
    return dest


@pytest.fixture(scope="session")
def busybox_template(tmp_path_factory: pytest.TempPathFactory, shared_dir: Path) -> Path:
    layout = shared_dir / BUSYBOX
    if not layout.is_dir():
        pytest.skip("no busybox OCI layout in ../shared")
    return make_busybox_template(layout, tmp_path_factory.mktemp("busybox-template") / "root")


@pytest.fixture
def busybox_store(busybox_template: Path, tmp_path: Path,
                  monkeypatch: pytest.MonkeyPatch) -> Callable[[], Path]:
    """Factory: a fresh store root with busybox in it; MINIDOCK_ROOT points at the latest one."""
    n = 0

    def make() -> Path:
        nonlocal n
        n += 1
        root = copy_store(busybox_template, tmp_path / f"root{n}")
        monkeypatch.setenv("MINIDOCK_ROOT", str(root))
        return root
    return make
