"""Digest: a content address `<algorithm>:<hex>`, and a hasher that produces one."""

from __future__ import annotations

import sys

from minidock.errors import ManifestError
from minidock.nouns import NamedTuple

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Protocol
else:  # why: the Protocols here are for the type checker; `typing` costs a `run` ~2 ms
    Protocol = object

_HEX_LEN = {"sha256": 64, "sha512": 128}
# the OCI grammar `[a-z0-9]+([.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+`, checked with sets, not `re` (whose import
# and compile cost every `minidock run` ~4 ms)
_ALG_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")
_ALG_SEPARATORS = frozenset(".+_-")
_ENCODED_CHARS = _ALG_CHARS | frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ=_-")
_HEX_CHARS = frozenset("0123456789abcdef")


def _valid_algorithm(alg: str) -> bool:
    """`alg` matches `[a-z0-9]+([.+_-][a-z0-9]+)*`."""
    after_separator = True  # at the start, as after a separator: an alphanumeric must come
    for c in alg:
        if c in _ALG_CHARS:
            after_separator = False
        elif c in _ALG_SEPARATORS and not after_separator:
            after_separator = True
        else:
            return False
    return not after_separator


class Digest(NamedTuple):
    """A validated digest; `str(d)` is its canonical `sha256:<hex>` form."""

    algorithm: str
    hex: str

    @classmethod
    def parse(cls, text: str) -> Digest:
        """Parse and validate `alg:hex` (sha256 and sha512 are the algorithms we can verify)."""
        alg, _, hx = text.partition(":")
        if not (hx and _valid_algorithm(alg) and _ENCODED_CHARS.issuperset(hx)):
            raise ManifestError(f"invalid digest {text!r}")
        want = _HEX_LEN.get(alg)
        if want is None:
            raise ManifestError(f"unsupported digest algorithm {alg!r} in {text!r}")
        if len(hx) != want or not _HEX_CHARS.issuperset(hx):
            raise ManifestError(f"invalid {alg} digest {text!r}")
        return cls(alg, hx)

    @classmethod
    def of_bytes(cls, data: bytes, algorithm: str = "sha256") -> Digest:
        """The digest of `data`."""
        import hashlib  # not at import: `run` only parses digests

        return cls(algorithm, hashlib.new(algorithm, data).hexdigest())

    def hasher(self) -> Hasher:
        """A fresh hasher of this digest's algorithm."""
        return Hasher(self.algorithm)

    @property
    def short(self) -> str:
        """The 12-hex-digit id Docker shows."""
        return self.hex[:12]

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.hex}"


_BUILTIN_BUDGET = 4 << 20  # bytes CPython's own SHA-256 hashes before OpenSSL's is worth loading


class HashObject(Protocol):
    """What callers need of a hash object (hashlib's and CPython's built-in ones alike)."""

    def update(self, data: bytes, /) -> None: ...

    def hexdigest(self) -> str: ...


class _Sha256:
    """SHA-256 hashers, the same digests either way: CPython's built-in implementation while little
    has been hashed (`import hashlib` loads OpenSSL: ~7-9 ms of a `run` or a cached rebuild that
    needs only chain IDs and small blobs' digests), hashlib's (OpenSSL, about 7x faster per byte)
    once more than `_BUILTIN_BUDGET` bytes were asked for or hashlib is loaded anyway."""

    __slots__ = ("budget", "builtin")

    def __init__(self) -> None:
        self.budget = _BUILTIN_BUDGET
        self.builtin: Callable[[], HashObject] | None = None
        for name in ("_sha2", "_sha256"):  # CPython 3.12+, 3.11
            try:
                self.builtin = __import__(name).sha256
                break
            except (ImportError, AttributeError):
                continue

    def new(self, size: int = 0) -> HashObject:
        """A fresh hasher for about `size` bytes of input."""
        self.budget -= size
        if self.builtin is not None and self.budget >= 0 and "hashlib" not in sys.modules:
            return self.builtin()
        import hashlib  # lazy: see the class docstring

        return hashlib.sha256()


sha256 = _Sha256()


def sha256_hex(data: bytes) -> str:
    """The hex SHA-256 of `data` (see _Sha256 for which implementation)."""
    h = sha256.new(len(data))
    h.update(data)
    return h.hexdigest()


class Hasher:
    """Incremental hashing that also counts bytes."""

    __slots__ = ("_h", "algorithm", "size")

    def __init__(self, algorithm: str = "sha256") -> None:
        self.algorithm = algorithm
        import hashlib

        self._h = hashlib.new(algorithm)
        self.size = 0

    def update(self, data: bytes) -> None:
        self._h.update(data)
        self.size += len(data)

    def digest(self) -> Digest:
        return Digest(self.algorithm, self._h.hexdigest())
