"""ADD's extras: local tar archives (plain, gzip, bzip2, xz, zstd) are unpacked, URLs are fetched.

`archive_kind(path)` sniffs the magic bytes; `extract_archive()` unpacks into a scratch directory
like `tar -x` as root (Docker's ADD keeps modes, setuid bits and numeric owners), refusing any
member or hard link that would land outside that directory, directly or through a symlink the
archive made; the copier then moves the tree into the layer. `fetch_url()` downloads through the
project's one HTTP transport into a scratch file and returns the name Docker would give it.
"""

from __future__ import annotations

import os
import posixpath
import tarfile
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from minidock.errors import BuildError, MinidockError

_MAGIC = ((b"\x1f\x8b", "gz"), (b"BZh", "bz2"), (b"\xfd7zXZ\x00", "xz"), (b"\x28\xb5\x2f\xfd", "zstd"))
_CHUNK = 1 << 20


def is_url(word: str) -> bool:
    return word.startswith(("http://", "https://"))


def archive_kind(path: str) -> str | None:
    """"tar", "gz", "bz2", "xz" or "zstd" when `path` is a tar archive ADD should unpack, else None."""
    try:
        with open(path, "rb") as f:
            head = f.read(8)
    except OSError:
        return None
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind if _is_tar(path, kind) else None
    return "tar" if _is_tar(path, "tar") else None


def _open_stream(path: str, kind: str) -> tuple[BinaryIO, tarfile.TarFile]:
    raw: BinaryIO = open(path, "rb")  # noqa: SIM115 - closed by the caller
    if kind == "zstd":
        import zstandard

        stream: BinaryIO = zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)
        return raw, tarfile.open(fileobj=stream, mode="r|")
    mode = "r|" if kind == "tar" else f"r|{kind}"
    return raw, tarfile.open(fileobj=raw, mode=mode)  # type: ignore[call-overload]


def _is_tar(path: str, kind: str) -> bool:
    try:
        raw, tf = _open_stream(path, kind)
    except (tarfile.TarError, OSError, EOFError, ValueError):
        return False
    try:
        return tf.next() is not None
    except (tarfile.TarError, OSError, EOFError, ValueError):
        return False
    finally:
        tf.close()
        raw.close()


def extract_archive(path: str, kind: str, dest: Path) -> None:
    """Unpack the archive into the empty directory `dest` (unsafe members raise BuildError)."""
    raw, tf = _open_stream(path, kind)
    try:
        root = os.path.realpath(dest)
        for member in tf:
            if member.isdev():
                continue  # device nodes cannot be created safely in a layer
            tf.extract(_inside(member, root, os.path.basename(path)), root, set_attrs=True, numeric_owner=True,
                       **_TRUSTED)
    except (tarfile.TarError, OSError, EOFError) as e:
        raise BuildError(f"ADD {os.path.basename(path)}: cannot unpack: {e}") from e
    finally:
        tf.close()
        raw.close()


# PEP 706 filters exist from 3.11.4 (not in Debian 12's 3.11.2): the check is ours either way, and
# saying "fully_trusted" keeps 3.12+ from warning and 3.14+ from applying its "data" default.
_TRUSTED: dict[str, Any] = {"filter": "fully_trusted"} if hasattr(tarfile, "fully_trusted_filter") else {}


def _inside(member: tarfile.TarInfo, root: str, archive: str) -> tarfile.TarInfo:
    """`member` with a relative name; BuildError when it, or a hard link's target, leaves `root`."""
    import copy

    member = copy.copy(member)
    member.name = member.name.lstrip("/")
    if member.islnk():
        member.linkname = member.linkname.lstrip("/")
    for name in (member.name, member.linkname) if member.islnk() else (member.name,):
        target = os.path.realpath(os.path.join(root, name))
        if os.path.commonpath([target, root]) != root:
            raise BuildError(f"ADD {archive}: member {name!r} would be written outside the destination")
    return member


def url_name(url: str) -> str:
    """The file name ADD gives a URL download when the destination is a directory."""
    name = posixpath.basename(urlsplit(url).path.rstrip("/"))
    if not name:
        raise BuildError(f"ADD {url}: cannot determine a file name from the URL; give a file destination")
    return name


def fetch_url(url: str, out: Path) -> int:
    """Download `url` into `out`; returns the bytes written. HTTP errors raise BuildError.

    The file's mtime is the response's Last-Modified, else the epoch (0), as BuildKit's HTTP source."""
    from minidock.image.transport import Transport

    try:
        resp = Transport().request("GET", url, stream=True)
    except MinidockError as e:
        raise BuildError(f"ADD {url}: {e}") from e
    try:
        if resp.status_code != 200:
            raise BuildError(f"ADD {url}: HTTP {resp.status_code}")
        size = 0
        with open(out, "wb") as f:
            for chunk in resp.iter_content(_CHUNK):
                f.write(chunk)
                size += len(chunk)
        mtime = _http_time(resp.headers.get("Last-Modified", ""))
        os.utime(out, (mtime, mtime))
        return size
    finally:
        resp.close()


def _http_time(text: str) -> float:
    """An HTTP date (Last-Modified) in seconds since 1970; 0 when absent or malformed."""
    if not text:
        return 0.0
    from email.utils import parsedate_to_datetime

    try:
        return parsedate_to_datetime(text).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return 0.0


def check_checksum(url: str, checksum: str) -> None:
    """`--checksum=sha256:<64 hex>` (BuildKit's only algorithm for URLs); BuildError naming it otherwise."""
    alg, _, want = checksum.partition(":")
    if alg != "sha256" or len(want) != 64 or any(c not in "0123456789abcdef" for c in want):
        raise BuildError(f"ADD --checksum={checksum}: invalid checksum digest format (want sha256:<64 hex digits>)")
