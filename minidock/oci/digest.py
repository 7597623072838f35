"""Digest: a content address `<algorithm>:<hex>`, and a hasher that produces one."""

import re
from typing import NamedTuple

from minidock.errors import ManifestError

_HEX_LEN = {"sha256": 64, "sha512": 128}
_DIGEST_RE = re.compile(r"^([a-z0-9]+(?:[.+_-][a-z0-9]+)*):([a-zA-Z0-9=_-]+)$")


class Digest(NamedTuple):
    """A validated digest; `str(d)` is its canonical `sha256:<hex>` form."""

    algorithm: str
    hex: str

    @classmethod
    def parse(cls, text: str) -> "Digest":
        """Parse and validate `alg:hex` (sha256 and sha512 are the algorithms we can verify)."""
        m = _DIGEST_RE.match(text)
        if not m:
            raise ManifestError(f"invalid digest {text!r}")
        alg, hx = m.group(1), m.group(2)
        want = _HEX_LEN.get(alg)
        if want is None:
            raise ManifestError(f"unsupported digest algorithm {alg!r} in {text!r}")
        if len(hx) != want or not re.fullmatch(r"[0-9a-f]+", hx):
            raise ManifestError(f"invalid {alg} digest {text!r}")
        return cls(alg, hx)

    @classmethod
    def of_bytes(cls, data: bytes, algorithm: str = "sha256") -> "Digest":
        """The digest of `data`."""
        import hashlib  # not at import: `run` only parses digests

        return cls(algorithm, hashlib.new(algorithm, data).hexdigest())

    def hasher(self) -> "Hasher":
        """A fresh hasher of this digest's algorithm."""
        return Hasher(self.algorithm)

    @property
    def short(self) -> str:
        """The 12-hex-digit id Docker shows."""
        return self.hex[:12]

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.hex}"


def sha256_hex(data: bytes) -> str:
    """sha256 of a few bytes (chain IDs) without loading OpenSSL.

    `import hashlib` loads libcrypto (~7 ms here); `run` needs only chain IDs, so it uses the
    interpreter's own sha256 (`_sha256`, `_sha2` from 3.12) and falls back to hashlib."""
    try:
        from _sha256 import sha256  # type: ignore[import-not-found]
    except ImportError:
        try:
            from _sha2 import sha256  # type: ignore[import-not-found]
        except ImportError:
            from hashlib import sha256
    return str(sha256(data).hexdigest())


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
