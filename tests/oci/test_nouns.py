"""Digests, descriptors, manifests, indexes (platform selection), image configs and chain IDs."""

from __future__ import annotations

import hashlib
import json

import pytest

from minidock.errors import ManifestError
from minidock.oci import mediatypes as mt
from minidock.oci.descriptor import Platform
from minidock.oci.digest import Digest
from minidock.oci.imageconfig import ImageConfig, chain_ids
from minidock.oci.manifest import Index, Manifest, kind_of
from tests.fixtures.busybox import BusyboxLayout

H = "a" * 64


def test_digest_parse_and_errors() -> None:
    d = Digest.parse(f"sha256:{H}")
    assert str(d) == f"sha256:{H}" and d.short == H[:12]
    for bad in ("sha256:abc", f"md5:{H}", H, f"sha256:{H.upper()}", f"sha256:{H}x"):
        with pytest.raises(ManifestError):
            Digest.parse(bad)
    assert Digest.of_bytes(b"x").hex == hashlib.sha256(b"x").hexdigest()


def _index(entries: list[dict[str, object]]) -> bytes:
    return json.dumps({"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": entries}).encode()


def _entry(arch: str, os_: str = "linux", variant: str = "", n: str = "1", **ann: str) -> dict[str, object]:
    plat: dict[str, str] = {"architecture": arch, "os": os_}
    if variant:
        plat["variant"] = variant
    return {"mediaType": mt.OCI_MANIFEST, "digest": f"sha256:{n * 64}", "size": 10, "platform": plat,
            "annotations": ann}


def test_index_platform_selection_skips_attestations() -> None:
    idx = Index.from_bytes(_index([
        _entry("unknown", "unknown", n="9", **{"vnd.docker.reference.type": "attestation-manifest"}),
        _entry("amd64", n="1"), _entry("arm64", variant="v8", n="2"), _entry("arm", variant="v7", n="3"),
    ]))
    assert idx.select(Platform.parse("linux/amd64")).digest.hex == "1" * 64
    assert idx.select(Platform.parse("linux/arm64")).digest.hex == "2" * 64
    assert idx.select(Platform.parse("linux/arm/v7")).digest.hex == "3" * 64
    with pytest.raises(ManifestError, match="no image for platform linux/s390x"):
        idx.select(Platform.parse("linux/s390x"))
    only_attest = Index.from_bytes(_index([_entry("unknown", "unknown")]))
    with pytest.raises(ManifestError):
        only_attest.select(Platform(os="unknown", architecture="unknown"))


def test_platform_parse() -> None:
    assert Platform.parse("linux/x86_64") == Platform("linux", "amd64")
    assert str(Platform.parse("linux/arm64/v8")) == "linux/arm64/v8"
    for bad in ("linux", "linux/", "/amd64", "a/b/c/d"):
        with pytest.raises(ManifestError):
            Platform.parse(bad)


def test_manifest_content_type_must_match_body() -> None:
    body = {"schemaVersion": 2, "mediaType": mt.DOCKER_MANIFEST,
            "config": {"mediaType": mt.DOCKER_CONFIG, "digest": f"sha256:{H}", "size": 2}, "layers": []}
    data = json.dumps(body).encode()
    assert Manifest.from_bytes(data, mt.DOCKER_MANIFEST).media_type == mt.DOCKER_MANIFEST
    with pytest.raises(ManifestError, match="does not match"):
        Manifest.from_bytes(data, mt.OCI_MANIFEST)
    assert kind_of(data) == "manifest" and kind_of(_index([])) == "index"
    with pytest.raises(ManifestError, match="missing field 'digest'"):
        Manifest.from_bytes(json.dumps({**body, "layers": [{"size": 1}]}).encode())
    with pytest.raises(ManifestError, match="invalid JSON"):
        Manifest.from_bytes(b"{nope")


def test_real_busybox_config_and_chain_ids(busybox_layout: BusyboxLayout) -> None:
    layout = busybox_layout.path
    idx = Index.from_bytes((layout / "index.json").read_bytes())
    man_d = idx.manifests[0]
    man = Manifest.from_bytes((layout / "blobs/sha256" / man_d.digest.hex).read_bytes())
    raw = (layout / "blobs/sha256" / man.config.digest.hex).read_bytes()
    cfg = ImageConfig.from_bytes(raw)
    assert cfg.architecture == "amd64" and cfg.config.cmd == ("sh",)
    assert len(cfg.diff_ids) == len(man.layers) == 1
    assert cfg.chain_ids() == cfg.diff_ids
    again = ImageConfig.from_bytes(cfg.to_bytes())
    assert again == cfg


def test_chain_ids_formula() -> None:
    a, b = Digest.parse(f"sha256:{'1' * 64}"), Digest.parse(f"sha256:{'2' * 64}")
    ids = chain_ids([a, b])
    assert ids[0] == a
    assert ids[1].hex == hashlib.sha256(f"{a} {b}".encode()).hexdigest()
