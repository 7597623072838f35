"""Content store: immutable blobs addressed by digest, written only through verified ingests.

Lifecycle of a write: `writer(ref, expected)` opens `ingest/<ref>.<owner>/data` (owner: this
process, see store/atomic.py), first taking over by rename the ingest of the same ref that a dead
process left (so a killed pull resumes), bytes are hashed as they are written, `commit()` checks
size and digest, renames into `blobs/`, fsyncs the directory and makes the blob read-only. Nothing
unverified is ever visible under blobs/. Ingests of dead owners that nobody resumes are reclaimed
by the next pull, build or prune (store/gc.py).
"""

from __future__ import annotations

import os

from minidock.errors import DigestMismatchError, NotFoundError, StoreError
from minidock.oci.digest import Digest, Hasher
from minidock.paths import Paths
from minidock.store.atomic import fsync_dir, me, remove_tree

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import BinaryIO

_REF_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
CHUNK = 1 << 20


class IngestWriter:
    """An in-flight blob; with `resume`, reopening the same ref continues after the kept bytes (the
    caller then starts at `offset`), else it starts empty. `expected` None: a blob made here (a built
    layer) whose digest is what its bytes hash to, known at `commit()` (the bytes are hashed once)."""

    def __init__(self, store: ContentStore, ref: str, expected: Digest | None, size: int | None,
                 resume: bool = False) -> None:
        self.store, self.expected, self.expected_size = store, expected, size
        stem = "".join(c if c in _REF_CHARS else "_" for c in ref)
        self.dir = f"{store.paths.ingest}/{stem}.{me()}"
        if resume and not os.path.exists(self.dir):
            _adopt(store.paths.ingest, stem, self.dir)
        os.makedirs(self.dir, exist_ok=True)
        self.path = f"{self.dir}/data"
        self._h = expected.hasher() if expected is not None else Hasher()
        self.offset = 0
        self.digest: Digest | None = expected  # the committed blob's digest (set by commit when None)
        if not resume:
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass
        elif os.path.exists(self.path):  # resume: re-hash the kept prefix
            with open(self.path, "rb") as f:
                while chunk := f.read(CHUNK):
                    self._h.update(chunk)
                    self.offset += len(chunk)
        self._f: BinaryIO = open(self.path, "ab")  # noqa: SIM115 - closed by commit/close

    def write(self, data: bytes) -> None:
        if self.expected_size is not None and self.offset + len(data) > self.expected_size:
            self.discard()
            raise DigestMismatchError(f"blob {self.expected}: more than the expected {self.expected_size} bytes")
        self._f.write(data)
        self._h.update(data)
        self.offset += len(data)

    def restart(self) -> None:
        """Drop the kept bytes (the server ignored a Range request)."""
        self._f.close()
        self._f = open(self.path, "wb")  # noqa: SIM115
        self._h = self.expected.hasher() if self.expected is not None else Hasher()
        self.offset = 0

    def commit(self) -> str:
        """Verify size and digest, then move the blob into place; a mismatch discards the ingest."""
        self._f.flush()
        os.fsync(self._f.fileno())
        self._f.close()
        got = self._h.digest()
        if self.expected_size is not None and self.offset != self.expected_size:
            self.discard()
            raise DigestMismatchError(f"blob {self.expected}: size {self.offset}, expected {self.expected_size}")
        if self.expected is not None and got != self.expected:
            self.discard()
            raise DigestMismatchError(f"blob {self.expected}: content hashes to {got}")
        self.digest = got
        return self.store._install(self.path, got, self.dir)

    def close(self) -> None:
        """Stop writing but keep the bytes for a later resume."""
        if not self._f.closed:
            self._f.close()

    def discard(self) -> None:
        self.close()
        remove_tree(self.dir)


def _adopt(ingest: str, stem: str, own: str) -> None:
    """Take over (rename to `own`) an ingest of `stem` whose owner is dead, or that names no owner."""
    from minidock.store.leftovers import alive, owner_of  # lazy: only a write looks for an ingest to resume

    try:
        names = os.listdir(ingest)
    except FileNotFoundError:
        return
    for name in names:
        if name != stem and not name.startswith(stem + "."):
            continue
        owner = owner_of(name)
        if owner is not None and (name[len(stem) + 1:] != f"p{owner.pid}.{owner.start}" or alive(owner)):
            continue
        try:
            os.rename(f"{ingest}/{name}", own)
            return
        except OSError:  # another process took it first
            pass


class ContentStore:
    """Blobs by digest under `paths.blobs`."""

    def __init__(self, paths: Paths) -> None:
        self.paths = paths

    def path(self, digest: Digest) -> str:
        return self.paths.blob(digest.algorithm, digest.hex)

    def exists(self, digest: Digest) -> bool:
        return os.path.isfile(self.path(digest))

    def size(self, digest: Digest) -> int:
        try:
            return os.stat(self.path(digest)).st_size
        except FileNotFoundError as e:
            raise NotFoundError(f"blob {digest} not found") from e

    def read(self, digest: Digest) -> bytes:
        try:
            with open(self.path(digest), "rb") as f:
                return f.read()
        except FileNotFoundError as e:
            raise NotFoundError(f"blob {digest} not found") from e

    def open(self, digest: Digest) -> BinaryIO:
        try:
            return open(self.path(digest), "rb")
        except FileNotFoundError as e:
            raise NotFoundError(f"blob {digest} not found") from e

    def writer(self, ref: str, expected: Digest | None, size: int | None = None, resume: bool = False
               ) -> IngestWriter:
        """Open the ingest named `ref` for a blob that must hash to `expected` (None: whatever it hashes to,
        `IngestWriter.digest` after commit); `resume`: keep (or take over from a dead process) what an
        earlier write of `ref` left, for a caller that continues at `offset`."""
        self.paths.ensure()
        return IngestWriter(self, ref, expected, size, resume)

    def put(self, data: bytes, expected: Digest | None = None) -> Digest:
        """Store `data` (verified against `expected` when given); returns its digest."""
        digest = expected or Digest.of_bytes(data)
        if self.exists(digest):
            return digest
        w = self.writer(f"put-{digest.hex}", digest, len(data))
        w.write(data)
        w.commit()
        return digest

    def _install(self, src: str, digest: Digest, ingest_dir: str) -> str:
        dst = self.path(digest)
        parent = os.path.dirname(dst)
        os.makedirs(parent, exist_ok=True)
        os.chmod(src, 0o444)
        os.replace(src, dst)  # if a concurrent writer won, the content is identical
        fsync_dir(parent)
        remove_tree(ingest_dir)
        return dst

    def delete(self, digest: Digest) -> None:
        try:
            os.unlink(self.path(digest))
        except FileNotFoundError:
            pass

    def list(self) -> Iterator[Digest]:
        """Every committed blob (files with invalid names are skipped; `check` reports them)."""
        blobs = self.paths.blobs
        if not os.path.isdir(blobs):
            return
        for alg in sorted(os.listdir(blobs)):
            for name in sorted(os.listdir(f"{blobs}/{alg}")):
                try:
                    yield Digest.parse(f"{alg}:{name}")
                except Exception:  # noqa: BLE001 - reported by check, not here
                    continue

    def verify(self, digest: Digest) -> None:
        """Re-hash a committed blob; raises DigestMismatchError when it changed on disk."""
        h = digest.hasher()
        with self.open(digest) as f:
            while chunk := f.read(CHUNK):
                h.update(chunk)
        if h.digest() != digest:
            raise DigestMismatchError(f"blob {digest}: content on disk hashes to {h.digest()}")

    def clear_ingests(self) -> None:
        ingest = self.paths.ingest
        if os.path.isdir(ingest):
            for name in os.listdir(ingest):
                remove_tree(f"{ingest}/{name}")


__all__ = ["ContentStore", "IngestWriter", "StoreError"]
