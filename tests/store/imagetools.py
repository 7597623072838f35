"""Test helper: put a complete image (layer blobs, snapshots, config, manifest, record) in a store."""

from __future__ import annotations

import io
from pathlib import Path

from minidock.oci import mediatypes as mt
from minidock.oci.descriptor import Descriptor
from minidock.oci.digest import Digest
from minidock.oci.imageconfig import ContainerConfig, ImageConfig, chain_ids
from minidock.oci.manifest import Manifest
from minidock.store.images import ImageRecord
from minidock.store.layers import apply_layer, write_layer
from minidock.store.store import Store


def make_layer(store: Store, files: dict[str, bytes], work: Path) -> tuple[Descriptor, Digest]:
    """A gzip layer blob holding `files` (relative path -> content); returns (descriptor, diff_id)."""
    work.mkdir(parents=True, exist_ok=True)
    for rel, data in files.items():
        p = work / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    out = io.BytesIO()
    digest, diff_id, size = write_layer(work, out, "gzip", mtime=0)
    store.content.put(out.getvalue(), digest)
    return Descriptor(mt.OCI_LAYER_GZIP, digest, size), diff_id


def add_image(store: Store, name: str, layers: list[dict[str, bytes]], tmp: Path,
              created: str = "2024-01-01T00:00:00Z", unpack: bool = True) -> ImageRecord:
    """Store an image of `layers` under `name` (unpacked into snapshots unless unpack=False)."""
    descs, diff_ids = [], []
    for i, files in enumerate(layers):
        d, diff_id = make_layer(store, files, tmp / f"{name.replace('/', '_')}-layer{i}")
        descs.append(d)
        diff_ids.append(diff_id)
    if unpack:
        parent = None
        for d, chain, diff_id in zip(descs, chain_ids(diff_ids), diff_ids, strict=True):
            if not store.snapshots.exists(chain):
                dest = store.snapshots.new_extract()
                with store.content.open(d.digest) as f:
                    apply_layer(f, "gzip", dest)
                store.snapshots.commit_extract(dest, chain, diff_id, parent)
            parent = chain
    config = ImageConfig(architecture="amd64", os="linux", diff_ids=tuple(diff_ids), created=created,
                         config=ContainerConfig(cmd=("sh",), env=("PATH=/bin",)))
    cfg_bytes = config.to_bytes()
    cfg = Descriptor(mt.OCI_CONFIG, store.content.put(cfg_bytes), len(cfg_bytes))
    manifest = Manifest(mt.OCI_MANIFEST, cfg, tuple(descs)).to_bytes()
    target = Descriptor(mt.OCI_MANIFEST, store.content.put(manifest), len(manifest))
    rec = ImageRecord(name=name, target=target, index_digest=None, created=created)
    store.images.put(rec)
    return rec
