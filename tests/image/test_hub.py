"""The Docker Hub flow for real: `pull alpine` through a registry-mirrors entry that wants bearer tokens."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

import pytest

from minidock.errors import AuthError
from minidock.image.pull import Puller
from minidock.image.reference import Reference
from minidock.image.transport import RetryPolicy, Transport
from minidock.oci.descriptor import Platform
from minidock.oci.digest import Digest
from minidock.paths import Paths
from minidock.store.store import Store
from tests.fixtures.registry import HUB_PASSWORD, HUB_SERVICE, HUB_USER, RegistryServer

pytestmark = pytest.mark.registry
FAST = RetryPolicy(attempts=2, backoff=0.05, deadline=2.0, connect_timeout=2.0, read_timeout=5.0)
REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.open(Paths(tmp_path / "root"))


def hub_pull(hub: RegistryServer, store: Store, text: str) -> tuple[object, list[dict[str, object]]]:
    assert hub.token_server is not None
    before = len(hub.token_server.requests)
    settings = hub.settings()
    result = Puller(store, settings, Transport(settings, FAST)).pull(Reference.parse(text), Platform("linux", "amd64"))
    return result, hub.token_server.requests[before:]


def test_pull_alpine_through_the_mirror(hub_registry: RegistryServer, store: Store, docker_config: Path) -> None:
    result, token_requests = hub_pull(hub_registry, store, "alpine")
    assert result.name == "docker.io/library/alpine:latest"  # type: ignore[attr-defined]
    assert result.manifest == Digest.parse(hub_registry.images["alpine"].digest)  # type: ignore[attr-defined]
    assert len(token_requests) == 1  # one token, cached for manifest, config and layer
    q = token_requests[0]["query"]
    assert q == {"service": [HUB_SERVICE], "scope": ["repository:library/alpine:pull"]}  # verbatim, library/
    assert token_requests[0]["authorization"] == ""  # anonymous
    assert store.images.get("docker.io/library/alpine:latest").target.digest == result.manifest  # type: ignore


def test_credentials_from_docker_config_go_to_the_token_server(hub_registry: RegistryServer, store: Store,
                                                               docker_config: Path) -> None:
    auth = base64.b64encode(f"{HUB_USER}:{HUB_PASSWORD}".encode()).decode()
    (docker_config / "config.json").write_text(json.dumps({"auths": {"https://index.docker.io/v1/": {"auth": auth}}}))
    _, token_requests = hub_pull(hub_registry, store, "busybox:1.38.0-musl")
    assert token_requests[0]["authorization"] == f"Basic {auth}"


def test_wrong_credentials_are_an_auth_error(hub_registry: RegistryServer, store: Store,
                                             docker_config: Path) -> None:
    auth = base64.b64encode(b"minidock:wrong").decode()
    (docker_config / "config.json").write_text(json.dumps({"auths": {"https://index.docker.io/v1/": {"auth": auth}}}))
    with pytest.raises(AuthError, match="refused"):
        hub_pull(hub_registry, store, "busybox:1.38.0-musl")


def test_token_without_access_is_a_second_401(hub_registry: RegistryServer, store: Store,
                                              docker_config: Path) -> None:
    """Like auth.docker.io for `alpine` without `library/`: a token with empty access, then 401 again."""
    with pytest.raises(AuthError, match="access denied") as info:
        hub_pull(hub_registry, store, f"{hub_registry.host}/alpine")
    assert info.value.status == 401


def test_cli_pull_alpine_like_docker(hub_registry: RegistryServer, tmp_path: Path, docker_config: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "MINIDOCK_ROOT": str(tmp_path / "root"), "DOCKER_CONFIG": str(docker_config),
           "MINIDOCK_CONFIG": str(hub_registry.config_file(tmp_path)), "HOME": str(tmp_path)}
    code = "import sys; from minidock.cli.main import main; sys.exit(main(sys.argv[1:]))"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-c", code, *args], env=env, cwd=REPO_ROOT, check=False,
                              capture_output=True, text=True, timeout=60)

    first = run("pull", "alpine")
    assert first.returncode == 0, first.stderr
    lines = first.stdout.splitlines()
    assert lines[:2] == ["Using default tag: latest", "latest: Pulling from library/alpine"]
    assert lines[-3].startswith("Digest: sha256:")
    assert lines[-2:] == ["Status: Downloaded newer image for alpine:latest", "docker.io/library/alpine:latest"]
    again = run("pull", "alpine")
    assert again.stdout.splitlines()[1:] == ["latest: Pulling from library/alpine", lines[-3],
                                             "Status: Image is up to date for alpine:latest",
                                             "docker.io/library/alpine:latest"]  # no layer lines, as Docker's
    quiet = run("pull", "-q", "alpine:3.20")
    assert quiet.stdout == "docker.io/library/alpine:3.20\n"
    bad = run("pull", "alpine:nope")
    assert bad.returncode == 1 and bad.stderr.strip() == "minidock: pull alpine:nope: manifest unknown"
    upper = run("pull", "Alpine")
    assert upper.returncode == 1 and "must be lowercase" in upper.stderr and upper.stdout == ""
