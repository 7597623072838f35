"""Save: images from the store as one tar, in Docker's archive format or as an OCI image layout.

docker-archive (what `docker save` wrote before 25, and what `podman load` / `docker load` read):
`manifest.json` = [{"Config": "<config hex>.json", "RepoTags": [...], "Layers": ["<diff_id hex>/layer.tar",
...]}], each layer uncompressed (its DiffID is the sha256 of the file), plus `repositories`.
OCI layout: `oci-layout`, `index.json` (one entry per name with `org.opencontainers.image.ref.name`
= the tag and `io.containerd.image.name` = the full name), `blobs/sha256/<hex>` holding the manifest,
config and layers byte for byte, so every digest survives a save/load round trip.
Tars are written as a stream (stdout works): entries have mtime 0, owner 0:0, mode 0444.
"""

import io
import json
import shutil
import tarfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

from minidock.errors import DigestMismatchError, ManifestError, NotFoundError
from minidock.image.reference import Reference
from minidock.nouns import NamedTuple
from minidock.oci import mediatypes as mt
from minidock.oci.digest import Digest
from minidock.oci.imageconfig import ImageConfig
from minidock.oci.manifest import Manifest
from minidock.store.atomic import make_dir
from minidock.store.compression import CHUNK, DecompressingReader
from minidock.store.images import ImageRecord
from minidock.store.store import Store

OCI_LAYOUT = {"imageLayoutVersion": "1.0.0"}
REF_NAME = "org.opencontainers.image.ref.name"
CONTAINERD_NAME = "io.containerd.image.name"
FORMATS = ("docker-archive", "oci-archive")


class SaveItem(NamedTuple):
    """One image to save and the names (normalised references) it is saved under (may be none)."""

    record: ImageRecord
    names: tuple[str, ...]


class _TarOut:
    """A streaming tar writer with fixed metadata and a set of paths already written."""

    def __init__(self, out: BinaryIO) -> None:
        self.tf = tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT)  # noqa: SIM115
        self.written: set[str] = set()

    def _info(self, name: str, size: int) -> tarfile.TarInfo:
        ti = tarfile.TarInfo(name)
        ti.size, ti.mode, ti.mtime, ti.uid, ti.gid = size, 0o444, 0, 0, 0
        return ti

    def add_bytes(self, name: str, data: bytes) -> None:
        if name not in self.written:
            self.written.add(name)
            self.tf.addfile(self._info(name, len(data)), io.BytesIO(data))

    def add_file(self, name: str, path: Path) -> None:
        if name not in self.written:
            self.written.add(name)
            with open(path, "rb") as f:
                self.tf.addfile(self._info(name, path.stat().st_size), f)

    def close(self) -> None:
        self.tf.close()

    def abandon(self) -> None:
        """Stop after a failure: nothing more is written (tarfile's stream would otherwise flush its
        buffer into the closed output at garbage collection: an 'Exception ignored' traceback)."""
        stream = self.tf.fileobj
        self.tf.closed = True  # type: ignore[attr-defined]
        if stream is not None and hasattr(stream, "closed"):
            stream.closed = True


def check_blobs(store: Store, items: list[SaveItem], oci: bool) -> None:
    """Every blob the archive needs is in the store, else one error naming the image and the blob."""
    for item in items:
        what = f"save {item.record.name.removeprefix('<none>@')}"
        if not store.content.exists(item.record.target.digest):
            raise NotFoundError(f"{what}: manifest blob {item.record.target.digest} missing (pull the image again)")
        _, m = _manifest(store, item.record)
        for kind, d in (("config", m.config), *(("layer", x) for x in m.layers)):
            if not store.content.exists(d.digest) and not (oci and d.media_type in mt.NONDISTRIBUTABLE):
                raise NotFoundError(f"{what}: {kind} blob {d.digest} missing (pull the image again)")


@contextmanager
def _writing(out: BinaryIO) -> Iterator[_TarOut]:
    tar = _TarOut(out)
    try:
        yield tar
    except BaseException:
        tar.abandon()
        raise


def _manifest(store: Store, rec: ImageRecord) -> tuple[bytes, Manifest]:
    data = store.content.read(rec.target.digest)
    return data, Manifest.from_bytes(data, rec.target.media_type, f"save {rec.name}: manifest")


def familiar_tags(names: tuple[str, ...]) -> list[str]:
    """RepoTags as Docker writes them (`busybox:latest`, `localhost:5000/x:v1`); digest-only names dropped."""
    out = []
    for n in names:
        ref = Reference.parse(n)
        if ref.tag:
            out.append(f"{ref.familiar_name()}:{ref.tag}")
    return out


# ---- docker-archive --------------------------------------------------------------------------------
def save_docker(store: Store, items: list[SaveItem], out: BinaryIO) -> None:
    """Write `items` as a docker-archive tar to `out`."""
    check_blobs(store, items, oci=False)
    entries: list[dict[str, Any]] = []
    repositories: dict[str, dict[str, str]] = {}
    with _scratch(store) as scratch, _writing(out) as tar:
        for item in items:
            _, m = _manifest(store, item.record)
            config = store.content.read(m.config.digest)
            diff_ids = ImageConfig.from_bytes(config, f"save {item.record.name}: config").diff_ids
            if len(diff_ids) != len(m.layers):
                raise ManifestError(f"save {item.record.name}: {len(m.layers)} layers but {len(diff_ids)} diff_ids")
            tar.add_bytes(f"{m.config.digest.hex}.json", config)
            layers = []
            for desc, diff_id in zip(m.layers, diff_ids, strict=True):
                name = f"{diff_id.hex}/layer.tar"
                if name not in tar.written:
                    tar.add_file(name, _uncompressed(store, desc.digest, desc.media_type, diff_id, scratch))
                    tar.add_bytes(f"{diff_id.hex}/VERSION", b"1.0")
                layers.append(name)
            tags = familiar_tags(item.names)
            entries.append({"Config": f"{m.config.digest.hex}.json", "RepoTags": tags or None, "Layers": layers})
            for t in tags:
                repo, _, tag = t.rpartition(":")
                repositories.setdefault(repo, {})[tag] = diff_ids[-1].hex if diff_ids else ""
        tar.add_bytes("manifest.json", json.dumps(entries, separators=(",", ":")).encode())
        if repositories:
            tar.add_bytes("repositories", json.dumps(repositories, separators=(",", ":")).encode())
        tar.close()


@contextmanager
def _scratch(store: Store) -> Iterator[Path]:
    d = make_dir(store.paths.tmp, "save-")
    try:
        yield Path(d)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def _uncompressed(store: Store, digest: Digest, media_type: str, diff_id: Digest, scratch: Path) -> Path:
    """The layer blob decompressed into `scratch`, its DiffID checked against the config's."""
    dest = scratch / diff_id.hex
    with store.content.open(digest) as raw, open(dest, "wb") as f:
        reader = DecompressingReader(raw, mt.compression_of(media_type))
        while chunk := reader.read(CHUNK):
            f.write(chunk)
    if reader.diff_id != diff_id:
        raise DigestMismatchError(f"save: layer {digest}: uncompressed content hashes to {reader.diff_id}, "
                                  f"the config says {diff_id}")
    return dest


# ---- OCI layout --------------------------------------------------------------------------------------
def save_oci(store: Store, items: list[SaveItem], out: BinaryIO) -> None:
    """Write `items` as an OCI image layout tar to `out` (blobs verbatim)."""
    check_blobs(store, items, oci=True)
    with _writing(out) as tar:
        _oci_entries(store, items, tar)


def _oci_entries(store: Store, items: list[SaveItem], tar: _TarOut) -> None:
    tar.add_bytes("oci-layout", json.dumps(OCI_LAYOUT).encode())
    index: list[dict[str, Any]] = []
    for item in items:
        data, m = _manifest(store, item.record)
        for d in (m.config, *m.layers):
            if d.media_type in mt.NONDISTRIBUTABLE and not store.content.exists(d.digest):
                continue
            tar.add_file(f"blobs/{d.digest.algorithm}/{d.digest.hex}", Path(store.content.path(d.digest)))
        tar.add_bytes(f"blobs/{item.record.target.digest.algorithm}/{item.record.target.digest.hex}", data)
        desc = {"mediaType": m.media_type, "digest": str(item.record.target.digest), "size": len(data)}
        names = [n for n in item.names if Reference.parse(n).tag] or [""]
        for n in names:
            annotations = {CONTAINERD_NAME: n, REF_NAME: Reference.parse(n).tag} if n else {}
            index.append({**desc, "annotations": annotations} if annotations else desc)
    tar.add_bytes("index.json", json.dumps({"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": index},
                                           separators=(",", ":")).encode())
    tar.close()
