"""The state of one stage while it builds, and turning it into stored image blobs.

`StageState` is the image so far (typed config with diff_ids and history, the manifest's layer
descriptors, the top chain id), the cache key so far, the ARGs in scope and the SHELL.
`write_image()` stores config and OCI manifest in the content store (blobs only: naming the image
is the builder's last act). Layer descriptors of a base image pulled in Docker's media types are
rewritten to the equivalent OCI ones so the manifest is a clean OCI manifest.
"""

from __future__ import annotations

import time

from minidock.oci import mediatypes as mt
from minidock.oci.descriptor import Descriptor, Platform
from minidock.oci.digest import Digest, sha256_hex
from minidock.oci.imageconfig import ContainerConfig, History, ImageConfig
from minidock.oci.manifest import Manifest
from minidock.store.store import Store

DEFAULT_SHELL = ("/bin/sh", "-c")
DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
PROXY_ARGS = frozenset({
    "HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY", "ftp_proxy",
    "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy",
})  # fmt: skip
_RFC3339 = "%Y-%m-%dT%H:%M:%SZ"
_YEAR_10000 = 253402300800  # seconds since 1970 at 10000-01-01T00:00:00Z
_OCI_EQUIVALENT = {mt.DOCKER_LAYER_GZIP: mt.OCI_LAYER_GZIP, mt.DOCKER_LAYER_FOREIGN: mt.OCI_LAYER_ND_GZIP}


def rfc3339(seconds: float) -> str:
    """A UTC timestamp in RFC 3339 (whole seconds)."""
    whole = int(seconds)
    if 0 <= whole < _YEAR_10000:
        return time.strftime(_RFC3339, time.gmtime(whole))
    import datetime  # lazy: outside years 1970-9999 (datetime's limits and errors apply there)

    return datetime.datetime.fromtimestamp(whole, datetime.UTC).strftime(_RFC3339)


class StageState:
    """One stage's image under construction."""

    __slots__ = ("args", "chain", "cmd_set", "config", "key", "layers", "shell")

    def __init__(self, config: ImageConfig, layers: list[Descriptor], chain: Digest | None, key: str,
                 *, args: dict[str, str] | None = None, shell: tuple[str, ...] = DEFAULT_SHELL,
                 cmd_set: bool = False) -> None:
        self.config, self.layers, self.chain, self.key = config, layers, chain, key
        self.args: dict[str, str] = {} if args is None else args
        self.shell, self.cmd_set = shell, cmd_set

    @property
    def cc(self) -> ContainerConfig:
        return self.config.config

    def set_cc(self, **changes: object) -> None:
        """Replace fields of the container config."""
        self.config = self.config.with_config(self.cc._replace(**changes))  # type: ignore[arg-type]

    def add_history(self, entry: History) -> None:
        self.config = self.config._replace(history=(*self.config.history, entry))

    def add_layer(self, layer: Descriptor, diff_id: Digest, chain: Digest) -> None:
        self.layers.append(layer)
        self.config = self.config._replace(diff_ids=(*self.config.diff_ids, diff_id))
        self.chain = chain

    def expansion_env(self) -> dict[str, str]:
        """What `$VAR` means in ADD/COPY/ENV/...: ARGs in scope, overridden by ENV."""
        env = dict(self.args)
        for item in self.cc.env:
            k, _, v = item.partition("=")
            env[k] = v
        return env

    def run_env(self) -> tuple[str, ...]:
        """A RUN step's environment: the image's Env plus ARGs (ENV wins), PATH always set."""
        names = {item.partition("=")[0] for item in self.cc.env}
        env = list(self.cc.env) + [f"{k}={v}" for k, v in self.args.items() if k not in names]
        if "PATH" not in names:
            env.insert(0, DEFAULT_PATH)
        return tuple(env)

    def visible_args(self) -> list[tuple[str, str]]:
        """Non-proxy ARGs not shadowed by ENV, as BuildKit lists them in RUN's history (`|N K=v`)."""
        names = {item.partition("=")[0] for item in self.cc.env}
        return sorted((k, v) for k, v in self.args.items() if k not in PROXY_ARGS and k not in names)


def scratch_state(platform: Platform, key: str) -> StageState:
    """The state of `FROM scratch`: no layers, BuildKit's default PATH."""
    config = ImageConfig(architecture=platform.architecture, os=platform.os, variant=platform.variant,
                         diff_ids=(), config=ContainerConfig(env=(DEFAULT_PATH,)))
    return StageState(config=config, layers=[], chain=None, key=key)


def base_state(config: ImageConfig, layers: tuple[Descriptor, ...], key: str) -> StageState:
    """The state of `FROM image` (ONBUILD triggers are taken out of the config: they run now)."""
    cfg = config.with_config(config.config._replace(onbuild=()))
    descs = [d._replace(media_type=_OCI_EQUIVALENT.get(d.media_type, d.media_type)) for d in layers]
    chains = cfg.chain_ids()
    return StageState(config=cfg, layers=descs, chain=chains[-1] if chains else None, key=key)


def set_env(env: tuple[str, ...], key: str, value: str) -> tuple[str, ...]:
    """`env` with KEY=value replaced in place (or appended)."""
    item = f"{key}={value}"
    out = list(env)
    for i, cur in enumerate(out):
        if cur.partition("=")[0] == key:
            out[i] = item
            return tuple(out)
    return (*out, item)


def write_image(store: Store, state: StageState, created: str) -> tuple[Descriptor, Digest]:
    """Store the config and OCI manifest of `state`; returns (manifest descriptor, config digest)."""
    config = state.config._replace(created=created)
    cfg_bytes = config.to_bytes()
    cfg_digest = store.content.put(cfg_bytes, _digest(cfg_bytes))
    manifest = Manifest(mt.OCI_MANIFEST, Descriptor(mt.OCI_CONFIG, cfg_digest, len(cfg_bytes)), tuple(state.layers))
    data = manifest.to_bytes()
    return Descriptor(mt.OCI_MANIFEST, store.content.put(data, _digest(data)), len(data)), cfg_digest


def _digest(data: bytes) -> Digest:
    """The digest of a blob about to be stored (already stored, on a cached rebuild: no OpenSSL load)."""
    return Digest("sha256", sha256_hex(data))
