"""Load: a docker-archive or OCI image layout tar (plain or gzip/bz2/xz) into the store, every blob verified.

The tar is unpacked (regular files only, safe names; symlinks and hard links kept as aliases, as
Docker and podman write repeated layers) into a scratch dir in the store, then read:
- OCI layout (`oci-layout` + `index.json`): each manifest entry (a nested index: the entry for this
  host) is stored byte for byte, so its digest is unchanged; names from `io.containerd.image.name`,
  else `org.opencontainers.image.ref.name` when it is a whole reference, else manifest.json's RepoTags.
- docker-archive (`manifest.json`): config verified against its file name, each layer against the
  config's diff_ids; a new OCI manifest points at the layers as they are in the archive.
Every layer is unpacked into a committed snapshot (DiffID checked) unless that snapshot exists.
"""

import hashlib
import json
import posixpath
import re
import shutil
import tarfile
from pathlib import Path
from typing import Any, BinaryIO

from minidock.config import Settings
from minidock.errors import ArchiveError, DigestMismatchError, ManifestError, MinidockError
from minidock.image.archive import CONTAINERD_NAME, REF_NAME
from minidock.image.reference import Reference
from minidock.nouns import NamedTuple
from minidock.oci import mediatypes as mt
from minidock.oci.descriptor import Descriptor, Platform
from minidock.oci.digest import Digest
from minidock.oci.imageconfig import ImageConfig
from minidock.oci.manifest import Index, Manifest
from minidock.store.atomic import make_dir
from minidock.store.compression import CHUNK
from minidock.store.images import ImageRecord
from minidock.store.layers import apply_layer, unpack_limit
from minidock.store.store import Store

_HEX = re.compile(r"^[0-9a-f]{64}$")
MAX_ALIAS_DEPTH = 16


class LoadResult(NamedTuple):
    """One image loaded: the names it got (normalised; empty when the archive named none)."""

    names: tuple[str, ...]
    image_id: Digest
    manifest: Digest


class _Tree:
    """The archive's files in a scratch dir, with symlink/hard-link aliases resolved inside it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.aliases: dict[str, str] = {}

    def path(self, name: str, what: str) -> Path:
        cur = _clean(name, what)
        for _ in range(MAX_ALIAS_DEPTH):
            if cur not in self.aliases:
                p = self.root / cur
                if not p.is_file():
                    raise ArchiveError(f"load: {what}: {name} is not in the archive")
                return p
            cur = self.aliases[cur]
        raise ArchiveError(f"load: {what}: {name}: too many links")

    def has(self, name: str) -> bool:
        return (self.root / name).is_file() or name in self.aliases


def _clean(name: str, what: str) -> str:
    """`name` as a normalised relative path; absolute paths and `..` that climb out are refused."""
    norm = posixpath.normpath(name)
    if name.startswith("/") or norm == ".." or norm.startswith("../"):
        raise ArchiveError(f"load: {what}: unsafe path {name!r}")
    return norm


def unpack(src: BinaryIO, dest: Path) -> _Tree:
    """Unpack the (maybe compressed) tar stream into `dest`, files only; returns the tree."""
    tree = _Tree(dest)
    try:
        with tarfile.open(fileobj=src, mode="r|*") as tf:
            for m in tf:
                name = _clean(m.name, "archive")
                if name == ".":
                    continue
                if m.issym() or m.islnk():
                    base = posixpath.dirname(name) if m.issym() else ""
                    tree.aliases[name] = _clean(posixpath.join(base, m.linkname), f"link {m.name}")
                elif m.isfile():
                    out = dest / name
                    out.parent.mkdir(parents=True, exist_ok=True)
                    f = tf.extractfile(m)
                    assert f is not None
                    with open(out, "wb") as w:
                        shutil.copyfileobj(f, w, CHUNK)
    except tarfile.TarError as e:
        raise ArchiveError(f"load: not a valid tar archive: {e}") from e
    return tree


def load_archive(store: Store, src: BinaryIO) -> list[LoadResult]:
    """Load every image of the archive in `src`; see the module docstring."""
    store.paths.ensure()
    scratch = make_dir(store.paths.tmp, "load-")  # owned: a killed load's scratch is reclaimed
    try:
        tree = unpack(src, Path(scratch))
        if tree.has("oci-layout") and tree.has("index.json"):
            return _Oci(store, tree).load()
        if tree.has("manifest.json"):
            return _Docker(store, tree).load()
        raise ArchiveError("load: the archive has neither manifest.json nor an OCI index.json")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


# ---- shared: blobs, layers, records --------------------------------------------------------------------
def _file_digest(path: Path) -> Digest:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return Digest("sha256", h.hexdigest())


def _put_file(store: Store, path: Path, digest: Digest, size: int | None = None) -> None:
    """Copy `path` into the content store, verified (size, digest) by the ingest commit."""
    if store.content.exists(digest):
        return
    w = store.content.writer(f"load-{digest.hex}", digest, size)
    try:
        if w.offset:
            w.restart()
        with open(path, "rb") as f:
            while chunk := f.read(CHUNK):
                w.write(chunk)
        w.commit()
    except DigestMismatchError as e:
        raise DigestMismatchError(f"load: {e}") from e
    finally:
        w.close()


def _unpack_layers(store: Store, layers: tuple[Descriptor, ...], config: ImageConfig, what: str) -> None:
    """Commit a snapshot per layer (DiffID checked) unless its chain ID is there already."""
    if len(layers) != len(config.diff_ids):
        raise ManifestError(f"{what}: {len(layers)} layers but {len(config.diff_ids)} diff_ids")
    parent: Digest | None = None
    settings = Settings.load()
    for desc, diff_id, chain in zip(layers, config.diff_ids, config.chain_ids(), strict=True):
        if not store.snapshots.exists(chain):
            tmp = store.snapshots.new_extract()
            limit = unpack_limit(desc.size, settings.unpack_max_ratio, settings.unpack_floor_bytes)
            try:
                with store.content.open(desc.digest) as f:
                    got = apply_layer(f, mt.compression_of(desc.media_type), Path(tmp), limit).diff_id
                if got != diff_id:
                    raise DigestMismatchError(f"{what}: layer {desc.digest}: uncompressed content hashes to "
                                              f"{got}, the config says {diff_id}")
                store.snapshots.commit_extract(tmp, chain, diff_id, parent)
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
        parent = chain


def _name(text: str) -> str | None:
    """A normalised reference for `text` if it names a repository (and a tag), else None."""
    if not text or ("/" not in text and ":" not in text):
        return None
    try:
        ref = Reference.parse(text)
    except MinidockError:
        return None
    return str(ref)


def _record(store: Store, names: list[str], target: Descriptor, config: Digest) -> LoadResult:
    for n in names:
        store.images.put(ImageRecord(name=n, target=target))
    named = any(r.target.digest == target.digest for r in store.images.list())
    if not names and not named:  # keep it reachable: `minidock tag <id> NAME` names it later
        store.images.put(ImageRecord(name=f"<none>@{target.digest}", target=target))
    return LoadResult(tuple(names), config, target.digest)


# ---- OCI layout --------------------------------------------------------------------------------------
class _Oci:
    def __init__(self, store: Store, tree: _Tree) -> None:
        self.store, self.tree = store, tree
        self.repo_tags = _repo_tags(tree)

    def blob(self, d: Descriptor, what: str) -> Path:
        path = self.tree.path(f"blobs/{d.digest.algorithm}/{d.digest.hex}", what)
        if path.stat().st_size != d.size:
            raise DigestMismatchError(f"load: {what} {d.digest}: size {path.stat().st_size}, descriptor says {d.size}")
        _put_file(self.store, path, d.digest, d.size)
        return path

    def load(self) -> list[LoadResult]:
        data = self.tree.path("index.json", "index.json").read_bytes()
        index = Index.from_bytes(data, "", "load: index.json")
        by_target: dict[Digest, tuple[Descriptor, list[str]]] = {}
        for entry in index.manifests:
            desc = self._image(entry, 0)
            name = _name(entry.annotations.get(CONTAINERD_NAME, "")) or _name(entry.annotations.get(REF_NAME, ""))
            names = by_target.setdefault(desc.digest, (desc, []))[1]
            if name and name not in names:
                names.append(name)
        return [self._finish(desc, names) for desc, names in by_target.values()]

    def _image(self, entry: Descriptor, depth: int) -> Descriptor:
        """The image manifest an index entry leads to (a nested index: its entry for this host)."""
        if entry.media_type in mt.INDEX_TYPES:
            if depth > 3:
                raise ManifestError("load: indexes nested too deep")
            nested = Index.from_bytes(self.blob(entry, "index").read_bytes(), entry.media_type, "load: index")
            return self._image(nested.select(Platform.host()), depth + 1)
        if entry.media_type and entry.media_type not in mt.MANIFEST_TYPES:
            raise ManifestError(f"load: unsupported manifest type {entry.media_type!r}")
        self.blob(entry, "manifest")
        return entry

    def _finish(self, desc: Descriptor, names: list[str]) -> LoadResult:
        data = self.store.content.read(desc.digest)
        m = Manifest.from_bytes(data, desc.media_type, f"load: manifest {desc.digest}")
        config = ImageConfig.from_bytes(self.blob(m.config, "config").read_bytes(), f"load: config {m.config.digest}")
        for layer in m.layers:
            self.blob(layer, "layer")
        _unpack_layers(self.store, m.layers, config, f"load {desc.digest.short}")
        names = names or self.repo_tags.get(m.config.digest, [])
        target = Descriptor(m.media_type, desc.digest, len(data))
        return _record(self.store, names, target, m.config.digest)


def _repo_tags(tree: _Tree) -> dict[Digest, list[str]]:
    """config digest -> normalised names from a manifest.json that may sit next to index.json (Docker 25)."""
    if not tree.has("manifest.json"):
        return {}
    out: dict[Digest, list[str]] = {}
    for entry in _docker_entries(tree):
        hx = posixpath.basename(str(entry.get("Config", ""))).removesuffix(".json")
        if _HEX.match(hx):
            out[Digest("sha256", hx)] = [n for t in entry.get("RepoTags") or [] if (n := _name(str(t)))]
    return out


def _docker_entries(tree: _Tree) -> list[dict[str, Any]]:
    try:
        entries = json.loads(tree.path("manifest.json", "manifest.json").read_bytes())
    except ValueError as e:
        raise ArchiveError(f"load: manifest.json: invalid JSON: {e}") from e
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ArchiveError("load: manifest.json: not a list of objects")
    return entries


# ---- docker-archive ----------------------------------------------------------------------------------
class _Docker:
    def __init__(self, store: Store, tree: _Tree) -> None:
        self.store, self.tree = store, tree

    def load(self) -> list[LoadResult]:
        return [self._entry(e) for e in _docker_entries(self.tree)]

    def _entry(self, entry: dict[str, Any]) -> LoadResult:
        config_path = self.tree.path(str(entry.get("Config", "")), "config")
        config_digest = _file_digest(config_path)
        hx = config_path.name.removesuffix(".json")
        if _HEX.match(hx) and hx != config_digest.hex:
            raise DigestMismatchError(f"load: config {config_path.name}: content hashes to {config_digest}")
        config = ImageConfig.from_bytes(config_path.read_bytes(), f"load: config {config_digest}")
        _put_file(self.store, config_path, config_digest)
        layers = tuple(self._layer(str(p)) for p in entry.get("Layers") or [])
        _unpack_layers(self.store, layers, config, f"load {config_digest.short}")
        manifest = Manifest(mt.OCI_MANIFEST, Descriptor(mt.OCI_CONFIG, config_digest, config_path.stat().st_size),
                            layers)
        data = manifest.to_bytes()
        digest = self.store.content.put(data)
        names = [n for t in entry.get("RepoTags") or [] if (n := _name(str(t)))]
        return _record(self.store, names, Descriptor(mt.OCI_MANIFEST, digest, len(data)), config_digest)

    def _layer(self, name: str) -> Descriptor:
        path = self.tree.path(name, "layer")
        with open(path, "rb") as f:
            magic = f.read(4)
        media_type = (mt.OCI_LAYER_GZIP if magic[:2] == b"\x1f\x8b" else
                      mt.OCI_LAYER_ZSTD if magic == b"\x28\xb5\x2f\xfd" else mt.OCI_LAYER)
        digest = _file_digest(path)
        _put_file(self.store, path, digest)
        return Descriptor(media_type, digest, path.stat().st_size)
