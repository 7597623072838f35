"""Settings, named as Docker names them: store root, registry mirrors, insecure registries, auth.

- MINIDOCK_ROOT: the store root (see paths.py).
- MINIDOCK_CONFIG: a JSON file (default /etc/minidock/config.json) with `registry-mirrors`
  (URLs tried first for docker.io, like daemon.json), `insecure-registries` (hosts or CIDRs
  reached over plain HTTP; localhost and 127.0.0.0/8 are insecure by default, as in Docker)
  `bridge-subnet` (the default network's subnet), and `unpack-max-ratio` / `unpack-floor-bytes`
  (a pulled or loaded layer may unpack to floor + ratio x its compressed size; ratio 0: no cap).
- Credentials: `auths` of ~/.docker/config.json (or $DOCKER_CONFIG/config.json), base64 `auth`.
"""

from __future__ import annotations

import ipaddress
import json
import os
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

from minidock.errors import UsageError
from minidock.nouns import NamedTuple

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

DEFAULT_CONFIG = "/etc/minidock/config.json"
DEFAULT_BRIDGE_SUBNET = "10.200.0.0/16"  # neither Docker's 172.17.0.0/16 nor podman's 10.88.0.0/16
DEFAULT_UNPACK_RATIO = 100  # see store/layers.py unpack_limit for the reasoning
DEFAULT_UNPACK_FLOOR = 512 << 20
DOCKER_HUB_AUTH_KEY = "https://index.docker.io/v1/"


class Settings(NamedTuple):
    """minidock's settings after reading MINIDOCK_CONFIG."""

    registry_mirrors: tuple[str, ...] = ()
    insecure_registries: tuple[str, ...] = ()
    bridge_subnet: str = DEFAULT_BRIDGE_SUBNET
    extra: Mapping[str, Any] = MappingProxyType({})
    unpack_max_ratio: int = DEFAULT_UNPACK_RATIO  # a layer may unpack to floor + ratio x its compressed size
    unpack_floor_bytes: int = DEFAULT_UNPACK_FLOOR

    @classmethod
    def load(cls, path: str | None = None) -> Settings:
        """Read the settings file named by `path`, $MINIDOCK_CONFIG or the default; absent = defaults."""
        name = path or os.environ.get("MINIDOCK_CONFIG") or DEFAULT_CONFIG
        p = Path(name)
        if not p.exists():
            return cls()
        try:
            raw = json.loads(p.read_text())
        except (OSError, ValueError) as e:
            raise UsageError(f"config {name}: {e}") from e
        if not isinstance(raw, dict):
            raise UsageError(f"config {name}: top level must be a JSON object")
        return cls(
            registry_mirrors=tuple(str(m).rstrip("/") for m in raw.get("registry-mirrors", [])),
            insecure_registries=tuple(str(r) for r in raw.get("insecure-registries", [])),
            bridge_subnet=str(raw.get("bridge-subnet", DEFAULT_BRIDGE_SUBNET)),
            extra=raw,
            unpack_max_ratio=_int(raw, "unpack-max-ratio", DEFAULT_UNPACK_RATIO, name),
            unpack_floor_bytes=_int(raw, "unpack-floor-bytes", DEFAULT_UNPACK_FLOOR, name),
        )

    def is_insecure(self, host: str) -> bool:
        """True when `host` (host[:port]) is reached over plain HTTP."""
        name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
        name = name.strip("[]")
        if name == "localhost" or host in self.insecure_registries or name in self.insecure_registries:
            return True
        try:
            addr = ipaddress.ip_address(name)
        except ValueError:
            return False
        if addr.is_loopback:
            return True
        for entry in self.insecure_registries:
            try:
                if addr in ipaddress.ip_network(entry, strict=False):
                    return True
            except ValueError:
                continue
        return False


def _int(raw: Mapping[str, Any], key: str, default: int, name: str) -> int:
    value = raw.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise UsageError(f"config {name}: {key} must be a non-negative integer, not {value!r}")
    return value


def docker_config_path() -> Path:
    """~/.docker/config.json, or $DOCKER_CONFIG/config.json like the docker CLI."""
    base = os.environ.get("DOCKER_CONFIG")
    return Path(base) / "config.json" if base else Path.home() / ".docker" / "config.json"


def auth_key(registry: str) -> str:
    """The key a registry has in config.json `auths` (Docker Hub's is its legacy v1 URL)."""
    return DOCKER_HUB_AUTH_KEY if registry in ("docker.io", "index.docker.io") else registry


def read_credentials(registry: str) -> tuple[str, str] | None:
    """(user, password) stored for `registry` by `docker login` / `minidock login`, if any."""
    path = docker_config_path()
    try:
        auths = json.loads(path.read_text()).get("auths", {})
    except (OSError, ValueError, AttributeError):
        return None
    key = auth_key(registry)
    candidates = [key, registry, f"https://{registry}", f"http://{registry}"]
    for k in candidates:
        entry = auths.get(k)
        if isinstance(entry, dict) and entry.get("auth"):
            try:
                import base64  # lazy: only registry credentials need it

                user, _, pw = base64.b64decode(entry["auth"]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return None
            return user, pw
    return None
