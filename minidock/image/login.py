"""Login and logout: check credentials against a registry, keep them in Docker's config.json.

`verify_credentials` does what `docker login` does: GET /v2/; a 401 challenge is answered with
the credentials (basic: the same request again; bearer: the token server must accept them), and
the registry must then answer 200. `store_credentials` / `remove_credentials` rewrite
~/.docker/config.json (or $DOCKER_CONFIG/config.json) atomically with mode 0600, touching only
`auths[KEY]` (every other key and entry is kept as it was). Docker Hub's key is its legacy
`https://index.docker.io/v1/`. Secrets never appear in messages.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from minidock.config import DOCKER_HUB_AUTH_KEY, docker_config_path
from minidock.errors import AuthError, RegistryError, UsageError
from minidock.image.auth import Authenticator
from minidock.image.reference import DEFAULT_DOMAIN, DOCKER_HUB_API_HOST
from minidock.store.atomic import atomic_write

if TYPE_CHECKING:
    from minidock.image.transport import Transport

HUB_ALIASES = frozenset({"", "docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"})


def server_key(server: str) -> tuple[str, str]:
    """(registry domain, config.json key) for what the user typed (`docker login` semantics)."""
    text = server.strip()
    host = urlsplit(text).netloc if "://" in text else text.split("/", 1)[0]
    host = host.lower() if host.lower() in HUB_ALIASES else host
    if host in HUB_ALIASES:
        return DEFAULT_DOMAIN, DOCKER_HUB_AUTH_KEY
    if not host:
        raise UsageError(f"login: invalid registry address {server!r}")
    return host, host


def verify_credentials(domain: str, user: str, password: str, transport: Transport) -> None:
    """Raise AuthError unless the registry `domain` accepts (user, password); see the module doc."""
    what = f"login {domain}"
    base = transport.base_url(DOCKER_HUB_API_HOST if domain == DEFAULT_DOMAIN else domain)
    resp = transport.request("GET", f"{base}/v2/")
    resp.close()
    if resp.status_code == 200:
        return  # the registry wants no credentials (Docker says "Login Succeeded" too)
    if resp.status_code != 401:
        raise RegistryError(f"{what}: {base}/v2/ answered {resp.status_code}", status=resp.status_code)
    auth = Authenticator(transport, (user, password))
    try:
        header = auth.answer(resp.headers.get("WWW-Authenticate", ""), "", what)
    except AuthError as e:
        if e.status in (401, 403):
            raise AuthError(f"{what}: unauthorized: incorrect username or password", code="UNAUTHORIZED",
                            status=401) from e
        raise
    again = transport.request("GET", f"{base}/v2/", headers={"Authorization": header})
    again.close()
    if again.status_code in (401, 403):
        raise AuthError(f"{what}: unauthorized: incorrect username or password", code="UNAUTHORIZED", status=401)
    if again.status_code != 200:
        raise RegistryError(f"{what}: {base}/v2/ answered {again.status_code}", status=again.status_code)


def _read(path: Path) -> dict[str, Any]:
    try:
        raw = path.read_text()
    except FileNotFoundError:
        return {}
    except OSError as e:
        raise UsageError(f"docker config {path}: {e.strerror}") from e
    if not raw.strip():
        return {}
    try:
        obj = json.loads(raw)
    except ValueError as e:
        raise UsageError(f"docker config {path}: invalid JSON (not rewriting it): {e}") from e
    if not isinstance(obj, dict):
        raise UsageError(f"docker config {path}: top level is not an object (not rewriting it)")
    return obj


def _write(path: Path, obj: dict[str, Any]) -> None:
    target = path.resolve() if path.is_symlink() else path
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    atomic_write(target, (json.dumps(obj, indent="\t") + "\n").encode(), mode=0o600)


def store_credentials(key: str, user: str, password: str, path: Path | None = None) -> Path:
    """Set `auths[key] = {"auth": base64(user:password)}` in the docker config; returns its path."""
    path = path or docker_config_path()
    obj = _read(path)
    auths = obj.get("auths")
    if not isinstance(auths, dict):
        auths = {}
    old = auths.get(key)
    entry: dict[str, Any] = dict(old) if isinstance(old, dict) else {}
    entry.pop("identitytoken", None)
    entry["auth"] = base64.b64encode(f"{user}:{password}".encode()).decode()
    auths[key] = entry
    obj["auths"] = auths
    _write(path, obj)
    return path


def remove_credentials(key: str, path: Path | None = None) -> bool:
    """Delete only `auths[key]` (and its http(s):// spellings); False when there was nothing to remove."""
    path = path or docker_config_path()
    obj = _read(path)
    auths = obj.get("auths")
    if not isinstance(auths, dict):
        return False
    names = [k for k in (key, f"https://{key}", f"http://{key}") if k in auths]
    if not names:
        return False
    for k in names:
        del auths[k]
    _write(path, obj)
    return True

