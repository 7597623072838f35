"""Make a layer tar from an overlay upper directory, deterministically (build and commit use it).

Entries are sorted (a directory before its children, siblings by name), owners numeric with no
user/group names, PAX format, mtimes optionally clamped (SOURCE_DATE_EPOCH), gzip with mtime 0 and
no file name. Overlay whiteouts (char device 0:0) become `.wh.NAME` empty files; a directory
with trusted.overlay.opaque=y gets a `DIR/.wh..wh..opq` entry right after it; files sharing an
inode become tar hard links to the first path; xattrs other than trusted.overlay.* are kept.
"""

from __future__ import annotations

import errno
import os
import stat
import tarfile
from pathlib import Path
from typing import BinaryIO

from minidock.errors import ArchiveError
from minidock.oci.digest import Digest
from minidock.store.compression import CHUNK, CompressingWriter

_OPAQUE = ".wh..wh..opq"
_OPAQUE_XATTR = "trusted.overlay.opaque"


def write_layer(upper: Path, out: BinaryIO, compression: str = "gzip",
                mtime: int | None = None) -> tuple[Digest, Digest, int]:
    """Write the layer tar of `upper` to `out`; returns (compressed digest, diff_id, compressed size)."""
    writer = CompressingWriter(out, compression)
    with tarfile.open(fileobj=writer, mode="w|", format=tarfile.PAX_FORMAT,  # type: ignore[call-overload]
                      bufsize=CHUNK) as tf:
        _Walker(tf, upper, mtime).walk("")
    return writer.close()


def _xattrs(path: str) -> dict[str, bytes]:
    try:
        names = os.listxattr(path, follow_symlinks=False)
    except OSError as e:
        if e.errno in (errno.ENOTSUP, errno.EPERM):
            return {}
        raise
    out: dict[str, bytes] = {}
    for n in sorted(names):
        try:
            out[n] = os.getxattr(path, n, follow_symlinks=False)
        except OSError as e:  # e.g. vanished or unreadable attribute
            if e.errno not in (errno.ENODATA, errno.ENOTSUP, errno.EPERM):
                raise
    return out


class _Walker:
    """Depth-first, name-sorted walk of `upper` emitting tar entries."""

    def __init__(self, tf: tarfile.TarFile, upper: Path, mtime: int | None) -> None:
        self.tf, self.upper, self.mtime = tf, str(upper), mtime
        self.inodes: dict[tuple[int, int], str] = {}

    def walk(self, rel: str) -> None:
        base = os.path.join(self.upper, rel) if rel else self.upper
        for name in sorted(os.listdir(base)):
            child = f"{rel}/{name}" if rel else name
            path = os.path.join(base, name)
            st = os.lstat(path)
            self._entry(child, path, st)
            if stat.S_ISDIR(st.st_mode):
                self.walk(child)

    def _info(self, name: str, st: os.stat_result, xattrs: dict[str, bytes]) -> tarfile.TarInfo:
        ti = tarfile.TarInfo(name)
        ti.mode = stat.S_IMODE(st.st_mode)
        ti.uid, ti.gid, ti.uname, ti.gname = st.st_uid, st.st_gid, "", ""
        t = int(st.st_mtime)
        ti.mtime = min(t, self.mtime) if self.mtime is not None else t
        ti.pax_headers = {"SCHILY.xattr." + k: v.decode("utf-8", "surrogateescape")
                          for k, v in xattrs.items() if not k.startswith("trusted.overlay.")}
        return ti

    def _entry(self, name: str, path: str, st: os.stat_result) -> None:
        mode = st.st_mode
        if stat.S_ISCHR(mode) and st.st_rdev == 0:  # overlay whiteout
            ti = self._info(_whiteout_name(name), st, {})
            self.tf.addfile(ti)
            return
        if stat.S_ISSOCK(mode):
            return  # sockets cannot be stored in a tar (Docker skips them too)
        xattrs = _xattrs(path)
        ti = self._info(name, st, xattrs)
        if stat.S_ISDIR(mode):
            ti.type = tarfile.DIRTYPE
            self.tf.addfile(ti)
            if xattrs.get(_OPAQUE_XATTR) == b"y":
                self.tf.addfile(self._info(f"{name}/{_OPAQUE}", st, {}))
        elif stat.S_ISREG(mode):
            self._regular(ti, path, st)
        elif stat.S_ISLNK(mode):
            ti.type, ti.linkname = tarfile.SYMTYPE, os.readlink(path)
            self.tf.addfile(ti)
        elif stat.S_ISFIFO(mode):
            ti.type = tarfile.FIFOTYPE
            self.tf.addfile(ti)
        elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
            ti.type = tarfile.CHRTYPE if stat.S_ISCHR(mode) else tarfile.BLKTYPE
            ti.devmajor, ti.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
            self.tf.addfile(ti)
        else:
            raise ArchiveError(f"write layer: {name!r}: unsupported file type {stat.S_IFMT(mode):o}")

    def _regular(self, ti: tarfile.TarInfo, path: str, st: os.stat_result) -> None:
        key = (st.st_dev, st.st_ino)
        if st.st_nlink > 1:
            first = self.inodes.get(key)
            if first is not None:
                ti.type, ti.linkname = tarfile.LNKTYPE, first
                self.tf.addfile(ti)
                return
            self.inodes[key] = ti.name
        ti.size = st.st_size
        with open(path, "rb") as f:
            self.tf.addfile(ti, f)


def _whiteout_name(name: str) -> str:
    head, _, base = name.rpartition("/")
    return f"{head}/.wh.{base}" if head else f".wh.{base}"
