"""Streaming (de)compression of layer tars (gzip, zstd, plain) that hashes the uncompressed bytes.

`DecompressingReader` is a raw reader of the uncompressed bytes of a compressed stream; it hashes
what it yields (the layer's DiffID) and drains the compressed stream to EOF when it ends, so a
caller hashing the compressed bytes sees all of them. `CompressingWriter` is the reverse: it
hashes what it is given (DiffID), compresses deterministically and hashes what it writes out.

gzip is inflated by ISA-L (the `isal` package) when it is installed: the same bytes for ~45% of
zlib's CPU time (0.19 s instead of 0.43 s for a 121 MB tar here), the GIL released like zlib's.
Compression stays with zlib, whose level-6 output is what build and commit's digests are made of.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Callable
from typing import BinaryIO, Protocol, cast

from minidock.errors import ArchiveError
from minidock.oci.digest import Digest, Hasher

CHUNK = 1 << 20
_GZIP_MAGIC = b"\x1f\x8b"


class _Inflate(Protocol):
    """What DecompressingReader uses of a zlib (or isal_zlib) decompress object."""

    @property
    def eof(self) -> bool: ...

    @property
    def unused_data(self) -> bytes: ...

    @property
    def unconsumed_tail(self) -> bytes: ...

    def decompress(self, data: bytes, max_length: int = 0, /) -> bytes: ...


def _inflater() -> tuple[Callable[..., _Inflate], type[Exception]]:
    """(decompressobj, its error type): ISA-L's when installed (about 2x faster), else zlib's."""
    try:
        from isal import isal_zlib
    except ImportError:
        return zlib.decompressobj, zlib.error
    return isal_zlib.decompressobj, cast("type[Exception]", isal_zlib.error)


def _check(compression: str) -> None:
    if compression not in ("gzip", "zstd", ""):
        raise ArchiveError(f"unsupported layer compression {compression!r}")


class DecompressingReader(io.RawIOBase):
    """The uncompressed bytes of `raw` (gzip, zstd or plain), hashed into `hasher` as they pass."""

    def __init__(self, raw: BinaryIO, compression: str) -> None:
        super().__init__()
        _check(compression)
        self.raw, self.compression = raw, compression
        self.hasher = Hasher()
        self._pending = b""
        self._eof = False
        self._gz: _Inflate | None = None
        self._zst: BinaryIO | None = None
        self._inflate: Callable[..., _Inflate] = zlib.decompressobj
        self._gz_error: type[Exception] = zlib.error
        if compression == "gzip":
            self._inflate, self._gz_error = _inflater()
            self._gz = self._inflate(31)
        elif compression == "zstd":
            import zstandard

            self._zst = zstandard.ZstdDecompressor().stream_reader(
                raw, read_size=CHUNK, read_across_frames=True, closefd=False)

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self._next(len(b))
        n = len(data)
        b[:n] = data
        return n

    def _next(self, n: int) -> bytes:
        if self._eof or n == 0:
            return b""
        try:
            if self._gz is not None:
                data = self._gunzip(n)
            elif self._zst is not None:
                data = self._zst.read(n)
            else:
                data = self.raw.read(n)
        except (zlib.error, self._gz_error, OSError) as e:
            raise ArchiveError(f"corrupt {self.compression or 'tar'} stream: {e}") from e
        except Exception as e:
            if type(e).__name__ == "ZstdError":
                raise ArchiveError(f"corrupt zstd stream: {e}") from e
            raise
        if not data:
            self._finish()
            return b""
        self.hasher.update(data)
        return data

    def _gunzip(self, n: int) -> bytes:
        assert self._gz is not None
        while True:
            d = self._gz
            if d.eof:
                rest = d.unused_data or self.raw.read(CHUNK)
                if not rest.startswith(_GZIP_MAGIC):  # end of the last member: trailing bytes are drained
                    return b""
                self._gz = d = self._inflate(31)
                self._pending = rest
            data_in = self._pending or d.unconsumed_tail or self.raw.read(CHUNK)
            self._pending = b""
            if not data_in:
                raise ArchiveError("corrupt gzip stream: unexpected end of data")
            out = d.decompress(data_in, n)
            if out:
                return out

    def _finish(self) -> None:
        """At the end of the uncompressed data, read the compressed stream to its EOF."""
        self._eof = True
        while self.raw.read(CHUNK):
            pass

    def drain(self) -> None:
        """Read (and hash) everything left, e.g. the zero blocks after a tar's end."""
        while self._next(CHUNK):
            pass

    @property
    def diff_id(self) -> Digest:
        return self.hasher.digest()


class _HashingSink:
    """Counts and hashes bytes on their way into `out`."""

    def __init__(self, out: BinaryIO) -> None:
        self.out, self.hasher = out, Hasher()

    def write(self, data: bytes) -> None:
        if data:
            self.hasher.update(data)
            self.out.write(data)


class CompressingWriter:
    """A write-only file object: hashes uncompressed input, compresses it into `out` (hashed too)."""

    def __init__(self, out: BinaryIO, compression: str) -> None:
        _check(compression)
        self.sink = _HashingSink(out)
        self.hasher = Hasher()
        self._gz = zlib.compressobj(6, zlib.DEFLATED, 31) if compression == "gzip" else None  # mtime 0, no name
        self._zst = None
        if compression == "zstd":
            import zstandard

            self._zst = zstandard.ZstdCompressor(level=3).compressobj()

    def write(self, data: bytes) -> int:
        self.hasher.update(data)
        if self._gz is not None:
            self.sink.write(self._gz.compress(data))
        elif self._zst is not None:
            self.sink.write(self._zst.compress(data))
        else:
            self.sink.write(data)
        return len(data)

    def close(self) -> tuple[Digest, Digest, int]:
        """Flush; returns (digest of the compressed bytes, diff_id, compressed size)."""
        if self._gz is not None:
            self.sink.write(self._gz.flush())
        elif self._zst is not None:
            self.sink.write(self._zst.flush())
        return self.sink.hasher.digest(), self.hasher.digest(), self.sink.hasher.size
