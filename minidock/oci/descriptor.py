"""Descriptor and Platform: what points at a blob, and for which platform."""

from __future__ import annotations

import os
from types import MappingProxyType

from minidock.errors import ManifestError
from minidock.nouns import NamedTuple
from minidock.oci.digest import Digest

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

_GOARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64",
           "armv7l": "arm", "armv6l": "arm", "i386": "386", "i686": "386",
           "ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64"}


class Platform(NamedTuple):
    """os/architecture[/variant] of an image, as in an index entry or an image config."""

    os: str
    architecture: str
    variant: str = ""
    os_version: str = ""

    @classmethod
    def parse(cls, text: str) -> Platform:
        """Parse `os/arch[/variant]` (the --platform flag); `arm64/v8` style variants kept."""
        parts = text.strip().split("/")
        if len(parts) not in (2, 3) or not all(parts):
            raise ManifestError(f"invalid platform {text!r}: want os/arch[/variant]")
        arch = _GOARCH.get(parts[1], parts[1])
        return cls(os=parts[0], architecture=arch, variant=parts[2] if len(parts) == 3 else "")

    @classmethod
    def host(cls) -> Platform:
        """The platform of this machine, in Go's names (linux/amd64, linux/arm64/v8, ...)."""
        machine = os.uname().machine
        arch = _GOARCH.get(machine, machine)
        variant = {"armv7l": "v7", "armv6l": "v6"}.get(machine, "")
        return cls(os="linux", architecture=arch, variant=variant)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Platform:
        return cls(os=str(d.get("os", "")), architecture=str(d.get("architecture", "")),
                   variant=str(d.get("variant", "")), os_version=str(d.get("os.version", "")))

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"architecture": self.architecture, "os": self.os}
        if self.os_version:
            out["os.version"] = self.os_version
        if self.variant:
            out["variant"] = self.variant
        return out

    def matches(self, want: Platform) -> bool:
        """True when this (an index entry's platform) satisfies `want`; unknown never matches."""
        if self.os == "unknown" or self.architecture == "unknown":
            return False
        if self.os != want.os or self.architecture != want.architecture:
            return False
        if not want.variant:
            return True
        mine = self.variant or ("v8" if self.architecture == "arm64" else "")
        return mine == want.variant

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)


class Descriptor(NamedTuple):
    """A typed pointer to content: media type, digest, size (+ platform, annotations, urls)."""

    media_type: str
    digest: Digest
    size: int
    platform: Platform | None = None
    annotations: Mapping[str, str] = MappingProxyType({})
    urls: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, d: Any, where: str = "descriptor") -> Descriptor:
        if not isinstance(d, dict):
            raise ManifestError(f"{where}: not an object")
        try:
            size = d["size"]
            if not isinstance(size, int) or size < 0:
                raise ManifestError(f"{where}: invalid size {size!r}")
            plat = d.get("platform")
            return cls(
                media_type=str(d.get("mediaType", "")),
                digest=Digest.parse(str(d["digest"])),
                size=size,
                platform=Platform.from_json(plat) if isinstance(plat, dict) else None,
                annotations={str(k): str(v) for k, v in (d.get("annotations") or {}).items()},
                urls=tuple(str(u) for u in d.get("urls") or ()),
            )
        except KeyError as e:
            raise ManifestError(f"{where}: missing field {e.args[0]!r}") from e

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"mediaType": self.media_type, "digest": str(self.digest), "size": self.size}
        if self.urls:
            out["urls"] = list(self.urls)
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        if self.platform is not None:
            out["platform"] = self.platform.to_json()
        return out
