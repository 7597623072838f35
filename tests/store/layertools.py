"""Test helpers: build layer tars member by member, and describe a directory tree for comparison."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import stat
import tarfile
from pathlib import Path


def member(name: str, kind: str = "file", data: bytes = b"", **kw: object) -> tuple[tarfile.TarInfo, bytes]:
    ti = tarfile.TarInfo(name)
    ti.type = {"file": tarfile.REGTYPE, "dir": tarfile.DIRTYPE, "sym": tarfile.SYMTYPE,
               "link": tarfile.LNKTYPE, "fifo": tarfile.FIFOTYPE, "chr": tarfile.CHRTYPE,
               "blk": tarfile.BLKTYPE}[kind]
    ti.mode = 0o755 if kind == "dir" else 0o644
    ti.mtime = 1_600_000_000
    ti.size = len(data) if kind == "file" else 0
    for k, v in kw.items():
        setattr(ti, k, v)
    return ti, data


def make_tar(members: list[tuple[tarfile.TarInfo, bytes]], compression: str = "") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for ti, data in members:
            tf.addfile(ti, io.BytesIO(data) if ti.isreg() else None)
    raw = buf.getvalue()
    if compression == "gzip":
        return gzip.compress(raw, mtime=0)
    if compression == "zstd":
        import zstandard

        return zstandard.ZstdCompressor().compress(raw)
    return raw


def describe(root: Path, times: bool = True) -> dict[str, tuple[object, ...]]:
    """path -> (type, mode, uid, gid, size, mtime, nlink, link target or content hash, xattrs)."""
    out: dict[str, tuple[object, ...]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            rel = os.path.relpath(p, root)
            extra: object = None
            if stat.S_ISLNK(st.st_mode):
                extra = os.readlink(p)
            elif stat.S_ISREG(st.st_mode):
                extra = hashlib.sha256(Path(p).read_bytes()).hexdigest()
            elif stat.S_ISCHR(st.st_mode):
                extra = st.st_rdev
            xattrs = tuple(sorted((k, os.getxattr(p, k, follow_symlinks=False))
                                  for k in os.listxattr(p, follow_symlinks=False)))
            mtime = st.st_mtime_ns if times and not stat.S_ISDIR(st.st_mode) else None
            dir_mtime = st.st_mtime_ns if times and stat.S_ISDIR(st.st_mode) else None
            out[rel] = (stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid,
                        st.st_size if not stat.S_ISDIR(st.st_mode) else 0, mtime, dir_mtime,
                        st.st_nlink if not stat.S_ISDIR(st.st_mode) else 0, extra, xattrs)
    return out
