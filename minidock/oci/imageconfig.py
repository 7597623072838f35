"""Image config (Docker/OCI): runtime defaults, rootfs diff_ids, history, and chain IDs."""

from __future__ import annotations

from types import MappingProxyType

from minidock import plainjson
from minidock.errors import ManifestError
from minidock.nouns import NamedTuple
from minidock.oci.digest import Digest
from minidock.oci.manifest import json_object

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any


def _strs(v: Any) -> tuple[str, ...]:
    if v is None:
        return ()
    if not isinstance(v, list):
        raise ManifestError(f"image config: expected a list of strings, got {v!r}")
    return tuple(str(x) for x in v)


def _opt_strs(v: Any) -> tuple[str, ...] | None:
    return None if v is None else _strs(v)


class ContainerConfig(NamedTuple):
    """The `config` object of an image config: what a container of this image runs by default."""

    user: str = ""
    env: tuple[str, ...] = ()
    entrypoint: tuple[str, ...] | None = None
    cmd: tuple[str, ...] | None = None
    working_dir: str = ""
    labels: Mapping[str, str] = MappingProxyType({})
    exposed_ports: tuple[str, ...] = ()
    volumes: tuple[str, ...] = ()
    stop_signal: str = ""
    healthcheck: Mapping[str, Any] | None = None
    onbuild: tuple[str, ...] = ()
    shell: tuple[str, ...] | None = None
    args_escaped: bool = False

    @classmethod
    def from_json(cls, d: dict[str, Any] | None) -> ContainerConfig:
        d = d or {}
        return cls(
            user=str(d.get("User") or ""),
            env=_strs(d.get("Env")),
            entrypoint=_opt_strs(d.get("Entrypoint")),
            cmd=_opt_strs(d.get("Cmd")),
            working_dir=str(d.get("WorkingDir") or ""),
            labels={str(k): str(v) for k, v in (d.get("Labels") or {}).items()},
            exposed_ports=tuple(sorted((d.get("ExposedPorts") or {}).keys())),
            volumes=tuple(sorted((d.get("Volumes") or {}).keys())),
            stop_signal=str(d.get("StopSignal") or ""),
            healthcheck=d.get("Healthcheck") or None,
            onbuild=_strs(d.get("OnBuild")),
            shell=_opt_strs(d.get("Shell")),
            args_escaped=bool(d.get("ArgsEscaped", False)),
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.user:
            out["User"] = self.user
        if self.exposed_ports:
            out["ExposedPorts"] = {p: {} for p in self.exposed_ports}
        if self.env:
            out["Env"] = list(self.env)
        if self.entrypoint is not None:
            out["Entrypoint"] = list(self.entrypoint)
        if self.cmd is not None:
            out["Cmd"] = list(self.cmd)
        if self.volumes:
            out["Volumes"] = {v: {} for v in self.volumes}
        if self.working_dir:
            out["WorkingDir"] = self.working_dir
        if self.labels:
            out["Labels"] = dict(sorted(self.labels.items()))
        if self.stop_signal:
            out["StopSignal"] = self.stop_signal
        if self.healthcheck:
            out["Healthcheck"] = dict(self.healthcheck)
        if self.onbuild:
            out["OnBuild"] = list(self.onbuild)
        if self.shell is not None:
            out["Shell"] = list(self.shell)
        if self.args_escaped:
            out["ArgsEscaped"] = True
        return out


class History(NamedTuple):
    """One entry of an image's history."""

    created: str = ""
    created_by: str = ""
    comment: str = ""
    empty_layer: bool = False

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> History:
        return cls(created=str(d.get("created", "")), created_by=str(d.get("created_by", "")),
                   comment=str(d.get("comment", "")), empty_layer=bool(d.get("empty_layer", False)))

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.created:
            out["created"] = self.created
        if self.created_by:
            out["created_by"] = self.created_by
        if self.comment:
            out["comment"] = self.comment
        if self.empty_layer:
            out["empty_layer"] = True
        return out


_KNOWN = ("architecture", "os", "rootfs", "config", "created", "author", "variant", "history")


class ImageConfig(NamedTuple):
    """An image config blob, typed; unknown top-level fields kept in `extra`."""

    architecture: str
    os: str
    diff_ids: tuple[Digest, ...]
    config: ContainerConfig = ContainerConfig()
    created: str = ""
    author: str = ""
    variant: str = ""
    history: tuple[History, ...] = ()
    extra: Mapping[str, Any] = MappingProxyType({})

    @classmethod
    def from_bytes(cls, data: bytes, what: str = "image config") -> ImageConfig:
        d = json_object(data, what)
        rootfs = d.get("rootfs") or {}
        if rootfs.get("type", "layers") != "layers":
            raise ManifestError(f"{what}: unsupported rootfs type {rootfs.get('type')!r}")
        return cls(
            architecture=str(d.get("architecture", "")),
            os=str(d.get("os", "")),
            diff_ids=tuple(Digest.parse(str(x)) for x in rootfs.get("diff_ids") or ()),
            config=ContainerConfig.from_json(d.get("config")),
            created=str(d.get("created") or ""),
            author=str(d.get("author") or ""),
            variant=str(d.get("variant") or ""),
            history=tuple(History.from_json(h) for h in d.get("history") or () if isinstance(h, dict)),
            extra={k: v for k, v in d.items() if k not in _KNOWN},
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.created:
            out["created"] = self.created
        if self.author:
            out["author"] = self.author
        out["architecture"] = self.architecture
        if self.variant:
            out["variant"] = self.variant
        out["os"] = self.os
        out.update(self.extra)
        out["config"] = self.config.to_json()
        out["rootfs"] = {"type": "layers", "diff_ids": [str(x) for x in self.diff_ids]}
        if self.history:
            out["history"] = [h.to_json() for h in self.history]
        return out

    def to_bytes(self) -> bytes:
        return plainjson.dumps_compact(self.to_json(), ensure_ascii=True).encode()

    def with_config(self, config: ContainerConfig) -> ImageConfig:
        return self._replace(config=config)

    def chain_ids(self) -> tuple[Digest, ...]:
        """The chain ID of each layer prefix (the names of committed snapshots)."""
        return chain_ids(self.diff_ids)


def chain_ids(diff_ids: tuple[Digest, ...] | list[Digest]) -> tuple[Digest, ...]:
    """ChainID(L0) = DiffID(L0); ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln))."""
    from minidock.oci.digest import sha256_hex

    out: list[Digest] = []
    for d in diff_ids:
        if not out:
            out.append(d)
        else:
            out.append(Digest("sha256", sha256_hex(f"{out[-1]} {d}".encode())))
    return tuple(out)
