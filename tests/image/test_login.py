"""Login/logout against real registries (htpasswd basic auth, token auth) and config.json rewrites."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import pytest

from minidock.config import DOCKER_HUB_AUTH_KEY, Settings, read_credentials
from minidock.errors import AuthError, UsageError
from minidock.image.login import remove_credentials, server_key, store_credentials, verify_credentials
from minidock.image.transport import RetryPolicy, Transport
from tests.fixtures.registry import HUB_PASSWORD, HUB_USER, RegistryServer
from tests.fixtures.sharing import HTPASSWD_PASSWORD, HTPASSWD_USER

FAST = RetryPolicy(attempts=2, backoff=0.05, deadline=2.0, connect_timeout=2.0, read_timeout=5.0)


def transport() -> Transport:
    return Transport(Settings(), FAST)


def test_server_keys_like_docker() -> None:
    for hub in ("", "docker.io", "index.docker.io", "https://index.docker.io/v1/", "registry-1.docker.io"):
        assert server_key(hub) == ("docker.io", DOCKER_HUB_AUTH_KEY)
    assert server_key("localhost:5000") == ("localhost:5000", "localhost:5000")
    assert server_key("https://registry.example.com/v2/") == ("registry.example.com", "registry.example.com")


def test_store_keeps_everything_else(docker_config: Path) -> None:
    path = docker_config / "config.json"
    other = {"auths": {"other.example:5000": {"auth": "b3RoZXI6cHc=", "email": "x@y"}},
             "credHelpers": {"gcr.io": "gcloud"}, "psFormat": "table {{.ID}}", "HttpHeaders": {"X-A": "1"}}
    path.write_text(json.dumps(other))
    assert store_credentials("reg.example:5000", "bob", "pa:ss") == path
    got = json.loads(path.read_text())
    assert got["auths"]["other.example:5000"] == other["auths"]["other.example:5000"]  # type: ignore[index]
    assert {k: got[k] for k in ("credHelpers", "psFormat", "HttpHeaders")} == {
        k: other[k] for k in ("credHelpers", "psFormat", "HttpHeaders")}
    assert base64.b64decode(got["auths"]["reg.example:5000"]["auth"]).decode() == "bob:pa:ss"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert read_credentials("reg.example:5000") == ("bob", "pa:ss")
    assert remove_credentials("reg.example:5000") is True
    assert remove_credentials("reg.example:5000") is False
    assert json.loads(path.read_text()) == other
    assert not [p for p in docker_config.iterdir() if p.name != "config.json"]  # no temp files left


def test_invalid_config_is_not_clobbered(docker_config: Path) -> None:
    (docker_config / "config.json").write_text("{not json")
    with pytest.raises(UsageError, match="invalid JSON"):
        store_credentials("x:1", "u", "p")
    assert (docker_config / "config.json").read_text() == "{not json"


def test_fresh_config_dir_is_created(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "new" / "dir"))
    path = store_credentials(DOCKER_HUB_AUTH_KEY, "u", "p")
    assert json.loads(path.read_text()) == {"auths": {DOCKER_HUB_AUTH_KEY: {"auth": "dTpw"}}}
    assert read_credentials("docker.io") == ("u", "p")


@pytest.mark.registry
def test_htpasswd_registry_accepts_and_rejects(htpasswd_registry: RegistryServer) -> None:
    verify_credentials(htpasswd_registry.host, HTPASSWD_USER, HTPASSWD_PASSWORD, transport())
    with pytest.raises(AuthError) as e:
        verify_credentials(htpasswd_registry.host, HTPASSWD_USER, "wrong", transport())
    assert str(e.value) == f"login {htpasswd_registry.host}: unauthorized: incorrect username or password"
    assert "wrong" not in str(e.value)


@pytest.mark.registry
def test_token_registry_accepts_and_rejects(hub_registry: RegistryServer) -> None:
    verify_credentials(hub_registry.host, HUB_USER, HUB_PASSWORD, transport())
    with pytest.raises(AuthError, match="incorrect username or password"):
        verify_credentials(hub_registry.host, HUB_USER, "nope", transport())


@pytest.mark.registry
def test_open_registry_needs_nothing(registry: RegistryServer) -> None:
    verify_credentials(registry.host, "anyone", "anything", transport())
