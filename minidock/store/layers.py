"""Apply a layer tar to an empty directory in overlay format (and, via layertar, make one).

`apply_layer` streams: compressed bytes -> DecompressingReader (hashes the DiffID) -> tarfile ->
files under `dest`. Every member passes a safe join: leading "/" stripped, ".." may not climb out,
no parent component may be a symlink (nothing already extracted is ever followed), hard link
targets must stay inside, device nodes and GNU/PAX sparse members are refused (as Docker and
podman do: a 10 KB header may declare a sparse file of any size), and the uncompressed stream may
not pass `limit` bytes (see `unpack_limit`: a decompression bomb stops while it streams). OCI
whiteouts become overlay whiteouts: `.wh.NAME` -> char device 0:0 `NAME`; `DIR/.wh..wh..opq` ->
xattr trusted.overlay.opaque=y on DIR.
"""

from __future__ import annotations

import errno
import io
import os
import shutil
import stat
import tarfile
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, BinaryIO

from minidock.errors import ArchiveError
from minidock.nouns import NamedTuple
from minidock.oci.digest import Digest
from minidock.store.compression import CHUNK, DecompressingReader
from minidock.store.layertar import write_layer

if TYPE_CHECKING:
    from _typeshed import StrPath

WHITEOUT_PREFIX = ".wh."
OPAQUE = ".wh..wh..opq"
OPAQUE_XATTR = "trusted.overlay.opaque"
_XATTR_PAX = "SCHILY.xattr."
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


class LayerResult(NamedTuple):
    """What applying a layer learned: its DiffID and uncompressed size in bytes."""

    diff_id: Digest
    size: int


# The default unpack cap: 512 MiB + 100x the compressed size. Real layers expand 2-5x, the most
# compressible ones (logs, text, zero-padded files) 20-50x, so 100x leaves a 2x margin; deflate
# cannot pass ~1032x, so a bomb is stopped well before its end. The floor lets a small layer hold
# one big compressible file (a 500 MiB zero-filled file gzips to ~0.5 MB). MINIDOCK_CONFIG's
# `unpack-max-ratio` (0: no cap) and `unpack-floor-bytes` change them.
DEFAULT_UNPACK_RATIO = 100  # the same values as config.py's defaults (the store does not read settings)
DEFAULT_UNPACK_FLOOR = 512 << 20


def unpack_limit(compressed_size: int, ratio: int = DEFAULT_UNPACK_RATIO,
                 floor: int = DEFAULT_UNPACK_FLOOR) -> int | None:
    """The most uncompressed bytes a layer of `compressed_size` may unpack to (None: no cap)."""
    if ratio <= 0:
        return None
    return floor + ratio * max(compressed_size, 0)


class _ForwardReader:
    """A file object tarfile can read in "r:" mode: seeks only forward (by reading), tracks tell(),
    and refuses to pass `limit` bytes."""

    def __init__(self, src: io.BufferedReader, limit: int | None = None) -> None:
        self.src, self.pos, self.limit = src, 0, limit

    def read(self, n: int = -1) -> bytes:
        data = self.src.read(n)
        self.pos += len(data)
        if self.limit is not None and self.pos > self.limit:
            raise ArchiveError(f"layer unpacks to more than {self.limit} bytes, the cap for its compressed "
                               f"size (unpack-max-ratio, unpack-floor-bytes)")
        return data

    def tell(self) -> int:
        return self.pos

    def seekable(self) -> bool:
        return True

    def seek(self, pos: int, whence: int = 0) -> int:
        target = pos if whence == 0 else self.pos + pos
        if whence not in (0, 1) or target < self.pos:
            raise ArchiveError(f"tar stream: cannot seek back to {target}")
        while self.pos < target:
            if not self.read(min(CHUNK, target - self.pos)):
                break
        return self.pos


def apply_layer(stream: BinaryIO, compression: str, dest: StrPath, limit: int | None = None) -> LayerResult:
    """Extract the layer in `stream` into the empty directory `dest`; returns its DiffID and size.

    `limit`: the most uncompressed bytes (see `unpack_limit`); the caller removes `dest` on failure."""
    reader = DecompressingReader(stream, compression)
    fwd = _ForwardReader(io.BufferedReader(reader, CHUNK), limit)
    try:
        with tarfile.open(fileobj=fwd, mode="r:") as tf:  # type: ignore[call-overload]
            _Extractor(tf, dest).run()
    except tarfile.TarError as e:
        raise ArchiveError(f"corrupt tar stream: {e}") from e
    while fwd.read(CHUNK):  # zero blocks after the tar end are part of the DiffID
        pass
    return LayerResult(diff_id=reader.diff_id, size=reader.hasher.size)


def _mode(path: str) -> int:
    try:
        return os.stat(path).st_mode
    except OSError:
        return 0  # the first member says what is wrong


def _umask() -> int:
    """The process's umask, read without setting it (os.umask would race with other threads' creates)."""
    try:
        with open("/proc/self/status", "rb") as f:
            for line in f:
                if line.startswith(b"Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o777  # unknown: every mode goes through chmod


def _clean(name: str) -> tuple[str, ...]:
    """The path components of a member name, relative to the root; ".." may not climb out."""
    parts: list[str] = []
    for p in name.split("/"):
        if p in ("", "."):
            continue
        if p == "..":
            if not parts:
                raise ArchiveError(f"path {name!r} escapes the layer root")
            parts.pop()
        else:
            parts.append(p)
    return tuple(parts)


class _Extractor:
    """Writes the members of one tar into `dest`; directory times are set last."""

    def __init__(self, tf: tarfile.TarFile, dest: StrPath) -> None:
        self.tf, self.dest = tf, str(dest)
        self.dirs_ok: set[tuple[str, ...]] = {()}  # components known to be real dirs we made/checked
        self.dir_times: dict[tuple[str, ...], tarfile.TarInfo] = {}
        self.root = os.geteuid() == 0
        self.root_group = self.root and os.getegid() == 0  # what we create is 0:0 unless a setgid dir says
        # Where a new entry would not belong to root:root (a setgid directory hands down its group)
        self.setgid: set[tuple[str, ...]] = {()} if _mode(self.dest) & stat.S_ISGID else set()
        self.umask = _umask()

    def run(self) -> None:
        for m in self.tf:
            try:
                self._member(m)
            except ArchiveError as e:
                raise ArchiveError(f"member {m.name!r}: {e}") from e
            except OSError as e:
                raise ArchiveError(f"member {m.name!r}: {e.strerror or e}") from e
        for parts, m in self.dir_times.items():
            path = self._path(parts)
            if os.path.isdir(path) and not os.path.islink(path):
                os.utime(path, ns=(int(m.mtime * 1e9),) * 2, follow_symlinks=False)

    def _plain(self, parts: tuple[str, ...], m: tarfile.TarInfo) -> bool:
        """Whether the entry at `parts` comes out right from its create call alone: root makes it,
        it belongs to 0:0, its parent does not hand down a group, its mode has no setuid/setgid/sticky
        bit and nothing of it is in the umask. Then chown and chmod are left out (2 of ~6 calls)."""
        return (self.root_group and m.uid == 0 and m.gid == 0 and not m.mode & 0o7000
                and not m.mode & self.umask and parts[:-1] not in self.setgid)

    def _path(self, parts: tuple[str, ...]) -> str:
        return os.path.join(self.dest, *parts) if parts else self.dest

    def _member(self, m: tarfile.TarInfo) -> None:
        if m.sparse is not None or m.type == tarfile.GNUTYPE_SPARSE or any(
                k.startswith("GNU.sparse.") for k in m.pax_headers):
            raise ArchiveError("sparse files are not allowed in layers (GNU/PAX sparse member)")
        parts = _clean(m.name)
        base = parts[-1] if parts else ""
        if base.startswith(WHITEOUT_PREFIX):
            self._whiteout(parts, m)
            return
        self._parents(parts[:-1])
        path = self._path(parts)
        if m.isdir():
            self._dir(parts, path, m)
        elif m.isreg():
            self._file(parts, path, m)
        elif m.issym():
            self._fresh(parts, path, lambda: os.symlink(m.linkname, path))
            self._meta(path, m, link=True, owner=not (self.root_group and m.uid == m.gid == 0
                                                     and parts[:-1] not in self.setgid))
        elif m.islnk():
            target = self._link_target(m)
            self._fresh(parts, path, lambda: os.link(target, path, follow_symlinks=False))
        elif m.isfifo():
            self._fresh(parts, path, lambda: os.mkfifo(path))
            self._meta(path, m)
        elif m.ischr() or m.isblk():
            raise ArchiveError("device nodes are not allowed in layers")
        else:
            raise ArchiveError(f"unsupported tar member type {m.type!r}")

    def _parents(self, parts: tuple[str, ...]) -> None:
        """Make sure every prefix of `parts` is a real directory (created 0755 when missing)."""
        for i in range(1, len(parts) + 1):
            pre = parts[:i]
            if pre in self.dirs_ok:
                continue
            path = self._path(pre)
            try:
                st = os.lstat(path)
            except FileNotFoundError:
                os.mkdir(path, 0o755)
                inherit = pre[:-1] in self.setgid  # mkdir in a setgid directory makes a setgid directory
                if inherit:
                    self.setgid.add(pre)
                if self.umask & 0o755:  # 0755 whatever the umask, as with Docker's daemon (umask 022)
                    os.chmod(path, 0o755 | (stat.S_ISGID if inherit else 0))
            else:
                if stat.S_ISLNK(st.st_mode):
                    raise ArchiveError(f"parent {'/'.join(pre)!r} is a symlink")
                if not stat.S_ISDIR(st.st_mode):
                    raise ArchiveError(f"parent {'/'.join(pre)!r} is not a directory")
            self.dirs_ok.add(pre)

    def _replace(self, parts: tuple[str, ...], path: str) -> None:
        """Remove whatever is at `path` (a duplicate member overwrites)."""
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return
        if stat.S_ISDIR(st.st_mode):
            shutil.rmtree(path)
            n = len(parts)
            self.dirs_ok = {p for p in self.dirs_ok if p[:n] != parts}
            self.dir_times = {p: m for p, m in self.dir_times.items() if p[:n] != parts}
        else:
            os.unlink(path)

    def _dir(self, parts: tuple[str, ...], path: str, m: tarfile.TarInfo) -> None:
        made = False
        if parts not in self.dirs_ok:
            plain = self._plain(parts, m)
            try:
                st = os.lstat(path)
                if not stat.S_ISDIR(st.st_mode):
                    os.unlink(path)
                    os.mkdir(path, 0o700)
            except FileNotFoundError:
                os.mkdir(path, m.mode & 0o777 if plain else 0o700)
                made = plain
            self.dirs_ok.add(parts)
        if made:
            self._xattrs(path, m)
        else:
            self._meta(path, m, times=False)
        if m.mode & stat.S_ISGID:  # chmod set the mode exactly; a plain one's parent is not setgid
            self.setgid.add(parts)
        else:
            self.setgid.discard(parts)
        self.dir_times[parts] = m

    def _fresh(self, parts: tuple[str, ...], path: str, make: Callable[[], object]) -> Any:
        """`make()` the entry at `path`; when something is already there (a duplicate member), replace it.

        Trying first saves an lstat per member: in a layer, an existing entry is the exception.
        """
        try:
            return make()
        except FileExistsError:
            self._replace(parts, path)
            return make()

    def _file(self, parts: tuple[str, ...], path: str, m: tarfile.TarInfo) -> None:
        plain = self._plain(parts, m)  # then created with its final mode (writable through this fd anyway)
        fd = self._fresh(parts, path, lambda: os.open(path, _CREATE, m.mode & 0o777 if plain else 0o600))
        try:
            if m.size:
                self._data(fd, m)
            if not plain:
                if self.root:
                    os.fchown(fd, m.uid, m.gid)
                os.fchmod(fd, m.mode & 0o7777)
            if m.pax_headers:
                self._xattrs(path, m)
            os.utime(fd, ns=(int(m.mtime * 1e9),) * 2)
        finally:
            os.close(fd)

    def _data(self, fd: int, m: tarfile.TarInfo) -> None:
        """Copy the member's bytes into `fd`: straight from the stream when it sits at the data (the
        common case), else through tarfile's reader."""
        src: Any = self.tf.fileobj
        if src is None or src.tell() != m.offset_data:
            src = self.tf.extractfile(m)
        left = m.size
        while left > 0:
            data = src.read(min(CHUNK, left))
            if not data:
                raise tarfile.ReadError("unexpected end of data")  # as tarfile says it
            left -= len(data)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]

    def _meta(self, path: str, m: tarfile.TarInfo, link: bool = False, times: bool = True,
              owner: bool = True) -> None:
        """Owner (unless `owner` is False: already right), mode (not for symlinks), xattrs, mtime; chown
        first because it clears setuid."""
        if self.root and owner:
            os.chown(path, m.uid, m.gid, follow_symlinks=False)
        if not link:
            os.chmod(path, m.mode & 0o7777)
        self._xattrs(path, m)
        if times:
            os.utime(path, ns=(int(m.mtime * 1e9),) * 2, follow_symlinks=False)

    def _xattrs(self, path: str, m: tarfile.TarInfo) -> None:
        for key, value in m.pax_headers.items():
            if not key.startswith(_XATTR_PAX):
                continue
            name = key[len(_XATTR_PAX):]
            if name.startswith("trusted.overlay."):
                raise ArchiveError(f"xattr {name!r} is not allowed in layers")
            try:
                os.setxattr(path, name, value.encode("utf-8", "surrogateescape"), follow_symlinks=False)
            except OSError as e:
                if e.errno not in (errno.ENOTSUP, errno.EPERM):
                    raise

    def _link_target(self, m: tarfile.TarInfo) -> str:
        parts = _clean(m.linkname)
        if not parts:
            raise ArchiveError(f"hard link to the layer root {m.linkname!r}")
        self._parents_exist(parts[:-1], m.linkname)
        target = self._path(parts)
        try:
            st = os.lstat(target)
        except FileNotFoundError as e:
            raise ArchiveError(f"hard link target {m.linkname!r} does not exist") from e
        if stat.S_ISDIR(st.st_mode):
            raise ArchiveError(f"hard link target {m.linkname!r} is a directory")
        return target

    def _parents_exist(self, parts: tuple[str, ...], what: str) -> None:
        for i in range(1, len(parts) + 1):
            if parts[:i] in self.dirs_ok:
                continue
            try:
                st = os.lstat(self._path(parts[:i]))
            except FileNotFoundError as e:
                raise ArchiveError(f"hard link target {what!r} does not exist") from e
            if not stat.S_ISDIR(st.st_mode):
                raise ArchiveError(f"hard link target {what!r} passes through a non-directory")

    def _whiteout(self, parts: tuple[str, ...], m: tarfile.TarInfo) -> None:
        self._parents(parts[:-1])
        parent = self._path(parts[:-1])
        if parts[-1] == OPAQUE:
            os.setxattr(parent, OPAQUE_XATTR, b"y", follow_symlinks=False)
            return
        name = parts[-1][len(WHITEOUT_PREFIX):]
        if not name or name in (".", ".."):
            raise ArchiveError("invalid whiteout name")
        path = os.path.join(parent, name)
        if os.path.lexists(path):  # a whiteout never hides an entry of its own layer
            return
        os.mknod(path, stat.S_IFCHR | 0o000, os.makedev(0, 0))
        if self.root:
            os.chown(path, m.uid, m.gid, follow_symlinks=False)
        os.utime(path, ns=(int(m.mtime * 1e9),) * 2, follow_symlinks=False)


__all__ = ["ArchiveError", "LayerResult", "apply_layer", "write_layer"]
