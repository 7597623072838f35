"""Image manifests and indexes (Docker schema2 and OCI), parsing and platform selection."""

from __future__ import annotations

from types import MappingProxyType

from minidock import plainjson
from minidock.errors import ManifestError
from minidock.nouns import NamedTuple
from minidock.oci import mediatypes as mt
from minidock.oci.descriptor import Descriptor, Platform

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any


def json_object(data: bytes, what: str) -> dict[str, Any]:
    """The JSON object in `data` (a manifest, index or image config); ManifestError names `what`."""
    try:
        obj = plainjson.loads(data)
    except ValueError as e:
        raise ManifestError(f"{what}: invalid JSON: {e}") from e
    if not isinstance(obj, dict):
        raise ManifestError(f"{what}: not a JSON object")
    return obj


def _check_media_type(obj: dict[str, Any], content_type: str, what: str) -> str:
    body_type = str(obj.get("mediaType", ""))
    if body_type and content_type and body_type != content_type:
        raise ManifestError(f"{what}: mediaType {body_type!r} does not match content type {content_type!r}")
    return body_type or content_type


class Manifest(NamedTuple):
    """An image manifest: one config and the ordered layers."""

    media_type: str
    config: Descriptor
    layers: tuple[Descriptor, ...]
    annotations: Mapping[str, str] = MappingProxyType({})

    @classmethod
    def from_bytes(cls, data: bytes, content_type: str = "", what: str = "manifest") -> Manifest:
        obj = json_object(data, what)
        media_type = _check_media_type(obj, content_type, what) or mt.OCI_MANIFEST
        if media_type not in mt.MANIFEST_TYPES:
            raise ManifestError(f"{what}: unsupported manifest type {media_type!r}")
        if obj.get("schemaVersion") != 2:
            raise ManifestError(f"{what}: unsupported schemaVersion {obj.get('schemaVersion')!r}")
        layers = obj.get("layers")
        if not isinstance(layers, list):
            raise ManifestError(f"{what}: missing layers")
        return cls(
            media_type=media_type,
            config=Descriptor.from_json(obj.get("config"), f"{what}: config"),
            layers=tuple(Descriptor.from_json(x, f"{what}: layer {i}") for i, x in enumerate(layers)),
            annotations={str(k): str(v) for k, v in (obj.get("annotations") or {}).items()},
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"schemaVersion": 2, "mediaType": self.media_type,
                               "config": self.config.to_json(),
                               "layers": [x.to_json() for x in self.layers]}
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        return out

    def to_bytes(self) -> bytes:
        """Canonical bytes for a manifest we create (compact, key order as written)."""
        return plainjson.dumps_compact(self.to_json(), ensure_ascii=True).encode()


class Index(NamedTuple):
    """An OCI image index or a Docker manifest list."""

    media_type: str
    manifests: tuple[Descriptor, ...]
    annotations: Mapping[str, str] = MappingProxyType({})

    @classmethod
    def from_bytes(cls, data: bytes, content_type: str = "", what: str = "index") -> Index:
        obj = json_object(data, what)
        media_type = _check_media_type(obj, content_type, what) or mt.OCI_INDEX
        if media_type not in mt.INDEX_TYPES:
            raise ManifestError(f"{what}: unsupported index type {media_type!r}")
        entries = obj.get("manifests")
        if not isinstance(entries, list):
            raise ManifestError(f"{what}: missing manifests")
        return cls(
            media_type=media_type,
            manifests=tuple(Descriptor.from_json(x, f"{what}: entry {i}") for i, x in enumerate(entries)),
            annotations={str(k): str(v) for k, v in (obj.get("annotations") or {}).items()},
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"schemaVersion": 2, "mediaType": self.media_type,
                               "manifests": [x.to_json() for x in self.manifests]}
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        return out

    def to_bytes(self) -> bytes:
        return plainjson.dumps_compact(self.to_json(), ensure_ascii=True).encode()

    def select(self, want: Platform) -> Descriptor:
        """The first entry for `want` (spec: first match wins); attestations never match."""
        for d in self.manifests:
            if d.annotations.get("vnd.docker.reference.type") == "attestation-manifest":
                continue
            if d.platform is not None and d.platform.matches(want):
                return d
        have = ", ".join(str(d.platform) for d in self.manifests
                         if d.platform is not None and d.platform.os != "unknown") or "none"
        raise ManifestError(f"no image for platform {want} in index (has: {have})")


def kind_of(data: bytes, content_type: str = "") -> str:
    """'index' or 'manifest': by the content type, else by the body's mediaType or fields."""
    ctype = content_type.split(";", maxsplit=1)[0].strip()
    if ctype in mt.INDEX_TYPES:
        return "index"
    if ctype in mt.MANIFEST_TYPES:
        return "manifest"
    obj = json_object(data, "manifest")
    body = str(obj.get("mediaType", ""))
    if body in mt.INDEX_TYPES or (not body and "manifests" in obj):
        return "index"
    if body in mt.MANIFEST_TYPES or (not body and "layers" in obj):
        return "manifest"
    raise ManifestError(f"unsupported manifest type {ctype or body or 'unknown'!r}")
