"""Export and import: a container's merged root file system as one tar, and a rootfs tar as a one-layer image.

`write_rootfs(layers, out)` merges overlay layer dirs without mounting anything: `layers` is the
container's upper dir followed by the image's lower dirs, top-most first. A name is decided by the
top-most layer that has it: a whiteout (char device 0:0) hides it, a non-directory shadows
everything below, a directory merges with the directories of the same name below it down to the
first opaque one (`trusted.overlay.opaque=y`). Files that share an inode become tar hard links.

`import_rootfs(store, src, ...)` takes a rootfs tar (plain, gzip, bzip2, xz or zstd), stores it as one
gzip layer (DiffID = sha256 of the tar), unpacks it into a snapshot, and writes an OCI config (host
os/arch) and manifest. `apply_changes` is the `--change 'CMD ["/bin/sh"]'` subset of Dockerfile
instructions that only touch the config.
"""

from __future__ import annotations

import bz2
import io
import json
import lzma
import os
import shlex
import shutil
import stat
import tarfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from minidock.errors import ArchiveError, DigestMismatchError, UsageError
from minidock.oci import mediatypes as mt
from minidock.oci.descriptor import Descriptor, Platform
from minidock.oci.digest import Digest
from minidock.oci.imageconfig import ContainerConfig, History, ImageConfig
from minidock.oci.manifest import Manifest
from minidock.store.compression import CHUNK, CompressingWriter, DecompressingReader
from minidock.store.images import ImageRecord, now_rfc3339
from minidock.store.layers import apply_layer
from minidock.store.layertar import add_member, read_xattrs, tar_info
from minidock.store.store import Store

if TYPE_CHECKING:
    from collections.abc import Sequence

    from _typeshed import StrPath

OPAQUE_XATTR = "trusted.overlay.opaque"


# ---- export ----------------------------------------------------------------------------------------
class _Name:
    """What the layers say about one name so far."""

    __slots__ = ("closed", "dirs", "kind", "path")

    def __init__(self, kind: str, path: Path, dirs: list[Path] | None = None, closed: bool = False) -> None:
        self.kind = kind  # "hidden", "file" or "dir"
        self.path = path
        self.dirs: list[Path] = dirs if dirs is not None else []
        self.closed = closed


def _is_whiteout(st: os.stat_result) -> bool:
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def _opaque(path: Path) -> bool:
    try:
        return os.getxattr(path, OPAQUE_XATTR, follow_symlinks=False) == b"y"
    except OSError:
        return False


def merge_children(dirs: list[Path]) -> dict[str, _Name]:
    """The visible children of one merged directory whose layer dirs are `dirs` (top-most first)."""
    names: dict[str, _Name] = {}
    for d in dirs:
        for entry in os.listdir(d):
            path = d / entry
            st = os.lstat(path)
            known = names.get(entry)
            if known is not None and (known.kind != "dir" or known.closed):
                continue
            if known is not None:  # a directory seen above: merge with this one, or stop at a non-directory
                if stat.S_ISDIR(st.st_mode) and not _is_whiteout(st):
                    known.dirs.append(path)
                    known.closed = _opaque(path)
                else:
                    known.closed = True
                continue
            if _is_whiteout(st):
                names[entry] = _Name("hidden", path)
            elif stat.S_ISDIR(st.st_mode):
                names[entry] = _Name("dir", path, [path], _opaque(path))
            else:
                names[entry] = _Name("file", path)
    return names


def write_rootfs(layers: Sequence[StrPath], out: BinaryIO) -> None:
    """Write the merged view of `layers` (top-most first) to `out` as an uncompressed tar."""
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tf:
        _Exporter(tf).walk("", [Path(p) for p in layers if os.path.isdir(p)])


class _Exporter:
    def __init__(self, tf: tarfile.TarFile) -> None:
        self.tf = tf
        self.inodes: dict[tuple[int, int], str] = {}

    def walk(self, rel: str, dirs: list[Path]) -> None:
        for name, n in sorted(merge_children(dirs).items()):
            if n.kind == "hidden":
                continue
            child = f"{rel}/{name}" if rel else name
            self._entry(child, n.path)
            if n.kind == "dir":
                self.walk(child, n.dirs)

    def _entry(self, name: str, path: Path) -> None:
        st = os.lstat(path)
        # sockets cannot be stored in a tar: add_member leaves them out
        add_member(self.tf, tar_info(name, st, read_xattrs(path)), path, st, self.inodes)


# ---- import ----------------------------------------------------------------------------------------
def _tar_stream(src: BinaryIO) -> Any:
    """A reader of the uncompressed tar bytes of `src`, whatever it is compressed with (by magic)."""
    buf: Any = src if isinstance(src, io.BufferedReader) else io.BufferedReader(src)
    magic = buf.peek(6)[:6]
    if magic[:2] == b"\x1f\x8b":
        return DecompressingReader(buf, "gzip")
    if magic[:4] == b"\x28\xb5\x2f\xfd":
        return DecompressingReader(buf, "zstd")
    if magic[:3] == b"BZh":
        return bz2.BZ2File(buf)
    if magic == b"\xfd7zXZ\x00":
        return lzma.LZMAFile(buf)
    return buf


def import_rootfs(store: Store, src: BinaryIO, name: str, config: ContainerConfig, comment: str = "") -> ImageRecord:
    """Make the one-layer image `name` (a normalised reference; "": untagged) from the rootfs tar in `src`."""
    store.paths.ensure()
    staging = store.snapshots.new_extract()
    try:
        layer = Path(staging) / "layer.tar.gz"
        with open(layer, "wb") as out:
            writer = CompressingWriter(out, "gzip")
            stream = _tar_stream(src)
            while chunk := stream.read(CHUNK):
                writer.write(chunk)
            digest, diff_id, size = writer.close()
        w = store.content.writer(f"import-{digest.hex}", digest, size)
        with open(layer, "rb") as f:
            while chunk := f.read(CHUNK):
                w.write(chunk)
        w.commit()
        _unpack(store, digest, diff_id)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return _image(store, name, (Descriptor(mt.OCI_LAYER_GZIP, digest, size), diff_id), config, comment)


def _unpack(store: Store, digest: Digest, diff_id: Digest) -> None:
    if store.snapshots.exists(diff_id):
        return
    tmp = store.snapshots.new_extract()
    try:
        with store.content.open(digest) as f:
            got = apply_layer(f, "gzip", Path(tmp)).diff_id
        if got != diff_id:  # pragma: no cover - the same bytes were hashed on the way in
            raise DigestMismatchError(f"import: layer hashes to {got}, expected {diff_id}")
        store.snapshots.commit_extract(tmp, diff_id, diff_id, None)
    except ArchiveError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ArchiveError(f"import: {e}") from e
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _image(store: Store, name: str, layer_and_diff: tuple[Descriptor, Digest], config: ContainerConfig,
           comment: str) -> ImageRecord:
    layer, diff_id = layer_and_diff
    host = Platform.host()
    created = now_rfc3339()
    image_config = ImageConfig(architecture=host.architecture, os=host.os, variant=host.variant,
                               diff_ids=(diff_id,), config=config, created=created,
                               history=(History(created=created, created_by="minidock import",
                                                comment=comment or "Imported from tarball"),))
    cdata = image_config.to_bytes()
    cdigest = store.content.put(cdata)
    manifest = Manifest(mt.OCI_MANIFEST, Descriptor(mt.OCI_CONFIG, cdigest, len(cdata)), (layer,))
    mdata = manifest.to_bytes()
    mdigest = store.content.put(mdata)
    rec = ImageRecord(name=name or f"<none>@{mdigest}", target=Descriptor(mt.OCI_MANIFEST, mdigest, len(mdata)))
    store.images.put(rec)
    return rec


# ---- --change --------------------------------------------------------------------------------------
def _command(value: str) -> tuple[str, ...]:
    if value.lstrip().startswith("["):
        try:
            parsed = json.loads(value)
        except ValueError as e:
            raise UsageError(f"--change: invalid JSON array {value!r}") from e
        if not isinstance(parsed, list) or not all(isinstance(x, str) for x in parsed):
            raise UsageError(f"--change: expected a JSON array of strings, got {value!r}")
        return tuple(parsed)
    return ("/bin/sh", "-c", value)


def _pairs(value: str) -> list[tuple[str, str]]:
    words = shlex.split(value)
    if len(words) >= 1 and "=" not in words[0]:
        return [(words[0], " ".join(words[1:]))]  # legacy `ENV KEY value`
    return [(k, v) for k, _, v in (w.partition("=") for w in words)]


def apply_changes(config: ContainerConfig, changes: list[str]) -> ContainerConfig:
    """Apply `--change` instructions (CMD, ENTRYPOINT, ENV, LABEL, WORKDIR, USER, EXPOSE, VOLUME, STOPSIGNAL)."""
    for change in changes:
        instr, _, value = change.strip().partition(" ")
        key, value = instr.upper(), value.strip()
        if key == "CMD":
            config = config._replace(cmd=_command(value))
        elif key == "ENTRYPOINT":
            config = config._replace(entrypoint=_command(value))
        elif key == "ENV":
            env = dict(e.partition("=")[::2] for e in config.env)
            env.update(_pairs(value))
            config = config._replace(env=tuple(f"{k}={v}" for k, v in env.items()))
        elif key == "LABEL":
            config = config._replace(labels={**config.labels, **dict(_pairs(value))})
        elif key in ("WORKDIR", "USER", "STOPSIGNAL"):
            attr = {"WORKDIR": "working_dir", "USER": "user", "STOPSIGNAL": "stop_signal"}[key]
            fields: dict[str, Any] = {attr: value}
            config = config._replace(**fields)
        elif key == "EXPOSE":
            ports = {p if "/" in p else f"{p}/tcp" for p in value.split()}
            config = config._replace(exposed_ports=tuple(sorted(set(config.exposed_ports) | ports)))
        elif key == "VOLUME":
            vols = set(_command(value)) if value.startswith("[") else set(value.split())
            config = config._replace(volumes=tuple(sorted(set(config.volumes) | vols)))
        else:
            raise UsageError(f"--change: {instr or change!r} is not supported (CMD, ENTRYPOINT, ENV, LABEL, "
                             "WORKDIR, USER, EXPOSE, VOLUME, STOPSIGNAL)")
    return config
