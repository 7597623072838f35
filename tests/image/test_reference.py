"""Reference parsing and normalisation, checked against Docker's (distribution/reference) behaviour."""

from __future__ import annotations

import random
import re
import subprocess
import sys
from pathlib import Path

import pytest

from minidock.errors import ManifestError, ReferenceFormatError
from minidock.image import reference
from minidock.image.reference import Reference
from minidock.oci.digest import Digest

HEX = "a" * 64
DIG = f"sha256:{HEX}"


@pytest.mark.parametrize(("text", "full", "familiar"), [
    ("alpine", "docker.io/library/alpine:latest", "alpine:latest"),
    ("alpine:3.20", "docker.io/library/alpine:3.20", "alpine:3.20"),
    ("library/alpine", "docker.io/library/alpine:latest", "alpine:latest"),
    ("docker.io/alpine", "docker.io/library/alpine:latest", "alpine:latest"),
    ("docker.io/library/alpine:edge", "docker.io/library/alpine:edge", "alpine:edge"),
    ("index.docker.io/alpine", "docker.io/library/alpine:latest", "alpine:latest"),
    ("index.docker.io/user/app:v1", "docker.io/user/app:v1", "user/app:v1"),
    ("user/app", "docker.io/user/app:latest", "user/app:latest"),
    ("user/app/sub", "docker.io/user/app/sub:latest", "user/app/sub:latest"),
    ("library/a/b", "docker.io/library/a/b:latest", "library/a/b:latest"),
    ("localhost/x", "localhost/x:latest", "localhost/x:latest"),
    ("localhost:5000/x", "localhost:5000/x:latest", "localhost:5000/x:latest"),
    ("127.0.0.1:5000/library/busybox:1.38", "127.0.0.1:5000/library/busybox:1.38",
     "127.0.0.1:5000/library/busybox:1.38"),
    ("quay.io/coreos/etcd:v3.5", "quay.io/coreos/etcd:v3.5", "quay.io/coreos/etcd:v3.5"),
    ("ghcr.io/a-b/c__d.e:T_a.g-1", "ghcr.io/a-b/c__d.e:T_a.g-1", "ghcr.io/a-b/c__d.e:T_a.g-1"),
    ("[::1]:5000/x:1", "[::1]:5000/x:1", "[::1]:5000/x:1"),
    ("Registry.Example.com/x", "Registry.Example.com/x:latest", "Registry.Example.com/x:latest"),
    ("localhost", "docker.io/library/localhost:latest", "localhost:latest"),
    ("a---b", "docker.io/library/a---b:latest", "a---b:latest"),
    (f"alpine@{DIG}", f"docker.io/library/alpine@{DIG}", f"alpine@{DIG}"),
    (f"alpine:3@{DIG}", f"docker.io/library/alpine:3@{DIG}", f"alpine:3@{DIG}"),
    (f"localhost:5000/x@{DIG}", f"localhost:5000/x@{DIG}", f"localhost:5000/x@{DIG}"),
])
def test_normalise(text: str, full: str, familiar: str) -> None:
    ref = Reference.parse(text)
    assert str(ref) == full
    assert ref.familiar() == familiar
    assert Reference.parse(full) == ref  # normalising is idempotent


def test_fields_docker_hub() -> None:
    ref = Reference.parse("alpine")
    assert (ref.domain, ref.path, ref.tag, ref.digest) == ("docker.io", "library/alpine", "latest", None)
    assert ref.name == "docker.io/library/alpine"
    assert ref.repository == "library/alpine"
    assert ref.registry_host == "registry-1.docker.io"
    assert ref.is_docker_hub
    assert ref.reference == "latest"
    assert ref.familiar_name() == "alpine"


def test_fields_other_registry() -> None:
    ref = Reference.parse(f"localhost:5000/team/app:v2@{DIG}")
    assert ref.domain == "localhost:5000"
    assert ref.registry_host == "localhost:5000"
    assert ref.repository == "team/app"
    assert ref.tag == "v2"
    assert ref.digest == Digest.parse(DIG)
    assert ref.reference == DIG  # the digest wins for fetching
    assert not ref.is_docker_hub


def test_digest_only_has_no_tag() -> None:
    ref = Reference.parse(f"busybox@{DIG}")
    assert ref.tag == ""
    assert ref.with_tag("1").familiar() == "busybox:1"
    assert ref.with_tag("1").digest is None


def test_with_digest_keeps_tag() -> None:
    ref = Reference.parse("busybox:1").with_digest(Digest.parse(DIG))
    assert str(ref) == f"docker.io/library/busybox:1@{DIG}"


def test_tag_max_length() -> None:
    assert Reference.parse("a:" + "t" * 128).tag == "t" * 128
    with pytest.raises(ReferenceFormatError):
        Reference.parse("a:" + "t" * 129)


def test_name_length_limit_is_on_the_path() -> None:
    ok = "a" * 255
    assert Reference.parse(f"quay.io/{ok}").path == ok
    with pytest.raises(ReferenceFormatError, match="not be more than 255 characters"):
        Reference.parse(f"quay.io/{'a' * 256}")
    with pytest.raises(ReferenceFormatError, match="not be more than 255"):
        Reference.parse("a" * 250)  # becomes library/aaaa... (258)


@pytest.mark.parametrize(("text", "reason"), [
    ("", "at least one component"),
    ("Alpine", "must be lowercase"),
    ("user/App", "must be lowercase"),
    ("docker.io/Library/alpine", "must be lowercase"),
    ("localhost:5000/Upper:tag", "must be lowercase"),
    (HEX, "64-byte hexadecimal"),
    ("alpine:", "invalid reference format"),
    ("alpine:-bad", "invalid reference format"),
    ("alpine:t@g", "invalid reference format"),
    (":tag", "invalid reference format"),
    ("/alpine", "invalid reference format"),
    ("alpine/", "invalid reference format"),
    ("a//b", "invalid reference format"),
    ("-alpine", "invalid reference format"),
    ("alpine-", "invalid reference format"),
    ("a_-b", "invalid reference format"),
    ("a___b", "invalid reference format"),
    ("alpine latest", "invalid reference format"),
    ("alpine@sha256:abc", "invalid reference format"),
    ("alpine@", "invalid reference format"),
    ("alpine@sha256:" + "A" * 64, "invalid digest"),
    ("alpine@md5:" + "a" * 32, "invalid digest"),
    ("alpine@sha256:" + "a" * 63, "invalid digest"),
    ("-host.io/x", "invalid reference format"),
    ("host.io:port/x", "invalid reference format"),
    ("foo_bar.com/x", "invalid reference format"),  # a host name never has "_" (and is not a path)
    ("host-.io/x", "invalid reference format"),
    ("a:1:2", "invalid reference format"),
    ("é", "invalid reference format"),
])
def test_bad_references(text: str, reason: str) -> None:
    with pytest.raises(ReferenceFormatError) as info:
        Reference.parse(text)
    msg = str(info.value)
    assert msg.startswith("invalid reference format")
    assert reason in msg
    assert repr(text) in msg  # the input is named


def test_uppercase_message_style() -> None:
    with pytest.raises(ReferenceFormatError) as info:
        Reference.parse("Alpine")
    assert str(info.value) == "invalid reference format: repository name must be lowercase: 'Alpine'"


def test_bad_tag_in_with_tag() -> None:
    with pytest.raises(ReferenceFormatError):
        Reference.parse("alpine").with_tag(".nope")


def test_frozen_and_hashable() -> None:
    a, b = Reference.parse("alpine"), Reference.parse("docker.io/library/alpine:latest")
    assert a == b and hash(a) == hash(b)
    with pytest.raises(AttributeError):
        a.tag = "x"  # type: ignore[misc]


# ---- the set checks (no `re` on the run path) agree with distribution/reference's expressions --------

def _by_expressions(text: str) -> tuple[str, str, str] | None:
    """(path, tag, digest) as the regular expressions alone parse `text`, None when they reject it."""
    domain, remainder = reference._split_docker_domain(text)
    m = re.fullmatch(reference._REFERENCE, f"{domain}/{remainder}", re.ASCII)
    if not m or (domain != reference.DEFAULT_DOMAIN and not re.fullmatch(reference._DOMAIN, domain, re.ASCII)):
        return None
    return m.group(1)[len(domain) + 1:], m.group(2) or "", m.group(3) or ""


_PIECES = ("a", "b0", ".", "_", "__", "-", "--", ":", "/", "@", "localhost", "example.com", ":5000", "x-y", "-x",
           "x-", "A", "[::1]", "sha256:" + "a" * 64, "latest", "v1.2", "_x", ".x", "..", "9", "é", " ")


def test_set_checks_accept_only_what_the_expressions_accept_and_split_it_the_same() -> None:
    rng = random.Random(7)
    accepted = 0
    for i in range(40_000):
        if i % 2:
            text = "".join(rng.choice(_PIECES) for _ in range(rng.randint(1, 6)))
        else:
            text = "".join(rng.choice("abz09._-:/@AZ_[]") for _ in range(rng.randint(1, 12)))
        domain, remainder = reference._split_docker_domain(text)
        plain = reference._plain_parts(domain, remainder)
        if plain is not None:
            accepted += 1
            assert plain == _by_expressions(text), text
    assert accepted > 2_000  # the common shapes do take the set checks


@pytest.mark.parametrize("text", ["busybox", "busybox:1.36", "localhost:5000/a/b-c__d:v1.2-rc_3",
                                  "my.registry.io/team/app", "a" * 64 + "x", "x:" + "t" * 128])
def test_common_shapes_do_not_load_re(text: str) -> None:
    code = (f"import sys; from minidock.image.reference import Reference; Reference.parse({text!r}); "
            "print('re' in sys.modules)")
    out = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(Path(__file__).resolve().parents[2])}).stdout
    assert out == "False\n"


@pytest.mark.parametrize("text", ["sha256:" + "ab" * 32, "sha512:" + "0f" * 64, "sha256:" + "A" * 64, "sha256:abc",
                                  "SHA256:" + "a" * 64, "sha256+b64:" + "a" * 64, "a..b:x", "a.:x", ":x", "x:",
                                  "sha256:" + "a" * 64 + "\n", "sha256:" + "a" * 63 + "=", "md5:" + "a" * 32])
def test_digest_parse_matches_the_oci_grammar(text: str) -> None:
    grammar = re.fullmatch(r"([a-z0-9]+(?:[.+_-][a-z0-9]+)*):([a-zA-Z0-9=_-]+)", text)
    try:
        got: object = Digest.parse(text)
    except ManifestError as e:
        got = str(e)
    if grammar is None:
        assert got == f"invalid digest {text!r}"
    elif grammar.group(1) not in ("sha256", "sha512"):
        assert got == f"unsupported digest algorithm {grammar.group(1)!r} in {text!r}"
    elif re.fullmatch("[0-9a-f]{64}" if grammar.group(1) == "sha256" else "[0-9a-f]{128}", grammar.group(2)):
        assert got == Digest(grammar.group(1), grammar.group(2))
    else:
        assert got == f"invalid {grammar.group(1)} digest {text!r}"
