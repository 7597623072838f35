"""Blob downloads into the content store: resumable (HTTP Range), verified, optionally read while they land.

`BlobReader` is a readable stream of one blob's bytes: first the prefix an earlier, interrupted pull
kept in the ingest, then the network from that offset. Every network byte is written to the
ingest writer (which hashes it), so one pass can both store the compressed blob and feed the
decompress+untar of `apply_layer`. A dropped connection is re-opened with `Range` from the current
offset (bounded); a server that ignores the range (200) has the kept prefix skipped, not re-stored.
A server that sends more than the descriptor's size is refused (containerd's rule), never truncated.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import requests

from minidock.errors import DigestMismatchError, RegistryError
from minidock.oci.descriptor import Descriptor
from minidock.store.content import IngestWriter

if TYPE_CHECKING:
    from minidock.image.registry import RegistryClient
    from minidock.image.transport import Response

CHUNK = 1 << 16
MAX_RECONNECTS = 5


class BlobReader(io.RawIOBase):
    """The bytes of blob `desc` from `repo`, stored into `writer` as they pass (see module doc)."""

    def __init__(self, client: RegistryClient, repo: str, desc: Descriptor, writer: IngestWriter,
                 on_bytes: Callable[[int], None] | None = None) -> None:
        super().__init__()
        self.client, self.repo, self.desc, self.writer = client, repo, desc, writer
        self.on_bytes = on_bytes or (lambda _n: None)
        self.kept = writer.offset  # bytes an earlier pull left in the ingest
        self.pos = 0  # bytes handed to the reader so far
        self.downloaded = 0
        self._prefix = open(writer.path, "rb") if self.kept else None  # noqa: SIM115 - closed in close()
        self._resp: Response | None = None
        self._chunks: Iterator[bytes] | None = None
        self._pending = b""
        self._skip = 0
        self._reconnects = 0

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self._next(len(b))
        b[: len(data)] = data
        return len(data)

    def _next(self, n: int) -> bytes:
        if self.pos >= self.desc.size:
            self._check_end()
            return b""
        if self.pos < self.kept and self._prefix is not None:
            data = self._prefix.read(min(n, self.kept - self.pos))
            if data:
                self.pos += len(data)
                self.on_bytes(self.pos)
                return data
        if not self._pending:
            self._pending = self._from_network()
        data, self._pending = self._pending[:n], self._pending[n:]
        self.pos += len(data)
        self.on_bytes(self.pos)
        return data

    def _from_network(self) -> bytes:
        """The next non-empty chunk at offset self.pos, written to the ingest; reconnects on drops."""
        while True:
            if self._chunks is None:
                self._open()
            assert self._chunks is not None
            try:
                chunk = next(self._chunks, b"")
            except (requests.RequestException, OSError) as e:
                self._drop(f"connection lost: {type(e).__name__}")
                continue
            if not chunk:
                self._drop("connection closed early")
                continue
            if self._skip:  # the server ignored Range: drop what we already have
                cut = min(self._skip, len(chunk))
                self._skip -= cut
                chunk = chunk[cut:]
                if not chunk:
                    continue
            if len(chunk) > self.desc.size - self.pos:
                self._oversize()
            self.writer.write(chunk)
            self.downloaded += len(chunk)
            self._reconnects = 0  # progress was made: a later drop gets a fresh budget
            return chunk

    def _check_end(self) -> None:
        """At the descriptor's size the response must end: more bytes are refused (as containerd), not cut."""
        if self._chunks is None:
            return
        try:
            extra = next(self._chunks, b"")
        except (requests.RequestException, OSError):
            extra = b""
        if extra:
            self._oversize()
        if self._resp is not None:
            self._resp.close()
        self._resp, self._chunks = None, None

    def _oversize(self) -> None:
        self.writer.discard()
        raise DigestMismatchError(self.client._prefix(
            f"blob {self.desc.digest}: the server sent more than the {self.desc.size} bytes of its descriptor"))

    def _open(self) -> None:
        resp, start = self.client.open_blob(self.repo, self.desc.digest, self.pos)
        self._resp = resp
        self._skip = self.pos - start
        self._chunks = resp.iter_content(CHUNK)

    def _drop(self, why: str) -> None:
        if self._resp is not None:
            self._resp.close()
        self._resp, self._chunks = None, None
        self._reconnects += 1
        if self._reconnects > MAX_RECONNECTS:
            raise RegistryError(self.client._prefix(f"blob {self.desc.digest}: {why} at byte {self.pos} of "
                                                    f"{self.desc.size}"))

    def drain(self) -> None:
        """Read the rest of the blob (after the tar's end) so all of it is stored and hashed."""
        while self._next(CHUNK):
            pass

    def close(self) -> None:
        if self._resp is not None:
            self._resp.close()
        if self._prefix is not None:
            self._prefix.close()
        super().close()


def fetch_blob(client: RegistryClient, repo: str, desc: Descriptor, writer: IngestWriter) -> bytes:
    """Download a small blob (a config) completely, verify it and return its bytes."""
    with BlobReader(client, repo, desc, writer) as reader:
        reader.drain()
    path = writer.commit()
    with open(path, "rb") as f:
        return f.read()
