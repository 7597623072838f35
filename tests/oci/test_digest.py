"""sha256 without OpenSSL: CPython's built-in SHA-256 for small inputs, hashlib's beyond a budget."""

from __future__ import annotations

import hashlib
import os

from minidock.oci.digest import Digest, _Sha256, sha256_hex
from minidock.oci.imageconfig import chain_ids


def test_both_implementations_give_the_same_digests() -> None:
    src = _Sha256()
    assert src.builtin is not None  # CPython's own SHA-256 (no OpenSSL load) is found
    data = os.urandom(100_000)
    want = hashlib.sha256(data).hexdigest()
    builtin, small, big = src.builtin(), src.new(len(data)), src.new(64 << 20)  # the last one: over budget
    assert type(big) is not type(builtin)  # hashlib's (OpenSSL) past the budget
    for h in (builtin, small, big):
        h.update(data)
        assert h.hexdigest() == want
    assert sha256_hex(b"abc") == hashlib.sha256(b"abc").hexdigest()


def test_chain_ids_follow_the_spec() -> None:
    a, b = Digest("sha256", "a" * 64), Digest("sha256", "b" * 64)
    want = hashlib.sha256(f"{a} {b}".encode()).hexdigest()
    assert chain_ids([a, b]) == (a, Digest("sha256", want))
