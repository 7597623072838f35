"""Sharing images with independent implementations: skopeo, umoci, podman and docker-registry.

Every test drives the real `minidock` CLI in a subprocess with a private MINIDOCK_ROOT and DOCKER_CONFIG.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
import uuid
from pathlib import Path

import pytest

from tests.fixtures.busybox import BusyboxLayout
from tests.fixtures.registry import RegistryServer
from tests.fixtures.sharing import HTPASSWD_PASSWORD, HTPASSWD_USER, Podman

MINIDOCK = [sys.executable, "-m", "minidock.cli.main"]


class Minidock:
    """The CLI against one store root and docker config dir."""

    def __init__(self, tmp: Path) -> None:
        self.env = {**os.environ, "MINIDOCK_ROOT": str(tmp / "root"), "DOCKER_CONFIG": str(tmp / "docker"),
                    "MINIDOCK_CONFIG": str(tmp / "none.json")}

    def __call__(self, *args: str, check: bool = True, stdin: bytes | None = None,
                 timeout: float = 120) -> subprocess.CompletedProcess[str]:
        raw = subprocess.run([*MINIDOCK, *args], env=self.env, input=stdin or b"", capture_output=True,
                             timeout=timeout, check=False, cwd=Path(__file__).resolve().parents[2])
        res = subprocess.CompletedProcess(raw.args, raw.returncode, raw.stdout.decode(errors="replace"),
                                          raw.stderr.decode(errors="replace"))
        if check and res.returncode != 0:
            raise AssertionError(f"minidock {' '.join(args)}: exit {res.returncode}\n{res.stdout}\n{res.stderr}")
        return res


@pytest.fixture
def md(tmp_path: Path) -> Minidock:
    return Minidock(tmp_path)


@pytest.fixture
def busybox_tar(tmp_path: Path, busybox_layout: BusyboxLayout) -> Path:
    """The busybox OCI layout as a tar (what `minidock load` reads)."""
    out = tmp_path / "busybox-oci.tar"
    with tarfile.open(out, "w") as tf:
        tf.add(busybox_layout.path, arcname=".")
    return out


def run(*cmd: str, timeout: float = 120) -> str:
    res = subprocess.run(list(cmd), capture_output=True, text=True, timeout=timeout, check=False)
    assert res.returncode == 0, f"{' '.join(cmd)}: {res.stdout}\n{res.stderr}"
    return res.stdout


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


@pytest.mark.registry
def test_minidock_push_is_read_by_skopeo_and_umoci(md: Minidock, busybox_tar: Path, registry: RegistryServer,
                                                  tmp_path: Path, busybox_layout: BusyboxLayout) -> None:
    manifest, size = busybox_layout.manifest, busybox_layout.manifest_size
    assert md("load", "-i", str(busybox_tar)).stdout == "Loaded image: busybox:1.38.0-glibc\n"
    name = f"{registry.host}/interop/{unique('bb')}:v1"
    md("tag", "busybox:1.38.0-glibc", name)
    out = md("push", name).stdout
    assert out.splitlines()[0] == f"The push refers to repository [{name.rsplit(':', 1)[0]}]"
    assert out.count(": Pushed") == 1 and out.endswith(f"v1: digest: {manifest} size: {size}\n")
    info = json.loads(run("skopeo", "inspect", "--tls-verify=false", f"docker://{name}"))
    assert info["Digest"] == manifest and info["Architecture"] == "amd64"
    again = md("push", name).stdout
    assert again.count("Layer already exists") == 1  # the layer (Docker shows no config line)
    run("skopeo", "copy", "--quiet", "--src-tls-verify=false", f"docker://{name}", f"oci:{tmp_path / 'layout'}:v1")
    run("umoci", "unpack", "--image", f"{tmp_path / 'layout'}:v1", str(tmp_path / "bundle"))
    assert (tmp_path / "bundle/rootfs/bin/busybox").is_file()


@pytest.mark.root
@pytest.mark.registry
def test_minidock_push_runs_under_podman(md: Minidock, busybox_tar: Path, registry: RegistryServer,
                                         podman: Podman) -> None:
    md("load", "-i", str(busybox_tar))
    name = f"{registry.host}/interop/{unique('pm')}:v1"
    md("tag", "busybox:1.38.0-glibc", name)
    md("push", "-q", name)
    out = podman("run", "--rm", "--network", "none", "--tls-verify=false", name, "echo", "pushed by minidock")
    assert out.stdout == "pushed by minidock\n"


@pytest.mark.root
@pytest.mark.registry
def test_skopeo_pushed_image_pulls_and_runs_with_the_same_digest(md: Minidock, registry: RegistryServer,
                                                                busybox_layout: BusyboxLayout) -> None:
    layout = busybox_layout.path
    name = f"{registry.host}/interop/{unique('sk')}:v1"
    run("skopeo", "copy", "--quiet", "--dest-tls-verify=false", f"oci:{layout}", f"docker://{name}")
    out = md("pull", name).stdout
    want = json.loads((layout / "index.json").read_text())["manifests"][0]["digest"]
    assert f"Digest: {want}" in out
    got = md("run", "--rm", "--network", "none", name, "echo", "pulled from skopeo")
    assert got.stdout == "pulled from skopeo\n"


@pytest.mark.root
def test_minidock_save_loads_in_podman(md: Minidock, busybox_tar: Path, podman: Podman, tmp_path: Path,
                                       busybox_layout: BusyboxLayout) -> None:
    md("load", "-i", str(busybox_tar))
    md("tag", "busybox:1.38.0-glibc", "localhost:5000/saved/bb:v1")
    md("save", "--format", "oci", "-o", str(tmp_path / "oci.tar"), "localhost:5000/saved/bb:v1")
    podman("load", "-i", str(tmp_path / "oci.tar"))
    digests = podman("images", "--digests", "--format", "{{.Digest}}").stdout.split()
    assert digests == [busybox_layout.manifest]  # the OCI archive kept the manifest bytes
    podman("rmi", "-a", "-f")
    md("save", "-o", str(tmp_path / "docker.tar"), "localhost:5000/saved/bb:v1")
    loaded = podman("load", "-i", str(tmp_path / "docker.tar")).stdout
    assert "localhost:5000/saved/bb:v1" in loaded
    out = podman("run", "--rm", "--network", "none", "localhost:5000/saved/bb:v1", "echo", "saved by minidock")
    assert out.stdout == "saved by minidock\n"


@pytest.mark.root
@pytest.mark.parametrize("fmt", ["docker-archive", "oci-archive"])
def test_podman_save_loads_in_minidock_and_runs(md: Minidock, podman: Podman, busybox_layout: BusyboxLayout,
                                                tmp_path: Path, fmt: str) -> None:
    layout = busybox_layout.path
    podman("pull", "-q", f"oci:{layout}")
    image_id = podman("images", "-q").stdout.split()[0]
    podman("tag", image_id, "localhost/podman/bb:v1")
    podman("save", "--format", fmt, "-o", str(tmp_path / "p.tar"), "localhost/podman/bb:v1")
    assert md("load", "-i", str(tmp_path / "p.tar")).stdout == "Loaded image: localhost/podman/bb:v1\n"
    out = md("run", "--rm", "--network", "none", "localhost/podman/bb:v1", "echo", f"saved by podman ({fmt})")
    assert out.stdout == f"saved by podman ({fmt})\n"


@pytest.mark.root
def test_export_merges_layers_and_import_runs(md: Minidock, busybox_tar: Path, tmp_path: Path) -> None:
    md("load", "-i", str(busybox_tar))
    script = "echo changed > /etc/note; rm /bin/true; mkdir -p /opt/x && echo y > /opt/x/f"
    md("run", "--name", "exp", "--network", "none", "busybox:1.38.0-glibc", "sh", "-c", script)
    md("export", "exp", "-o", str(tmp_path / "rootfs.tar"))
    with tarfile.open(tmp_path / "rootfs.tar") as tf:
        names = set(tf.getnames())
        assert tf.extractfile("etc/note").read() == b"changed\n"  # type: ignore[union-attr]
    assert {"bin/busybox", "bin/sh", "etc/note", "opt/x/f"} <= names
    assert "bin/true" not in names and not any(".wh." in n for n in names)
    data = (tmp_path / "rootfs.tar").read_bytes()
    out = md("import", "-", "imported/bb:v1", "-c", 'CMD ["/bin/sh", "-c", "cat /etc/note"]',
             stdin=data, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("sha256:")
    assert md("run", "--rm", "--network", "none", "imported/bb:v1").stdout == "changed\n"
    inspect = json.loads(md("inspect", "imported/bb:v1").stdout)[0]
    assert inspect["Config"]["Cmd"] == ["/bin/sh", "-c", "cat /etc/note"] and inspect["Os"] == "linux"
    md("rm", "exp")


@pytest.mark.registry
def test_login_logout_against_htpasswd_and_token_registries(md: Minidock, htpasswd_registry: RegistryServer,
                                                           hub_registry: RegistryServer, tmp_path: Path) -> None:
    config = tmp_path / "docker" / "config.json"
    config.parent.mkdir()
    config.write_text(json.dumps({"auths": {"keep.example": {"auth": "a2VlcDprZWVw"}}, "detachKeys": "ctrl-x"}))
    bad = md("login", htpasswd_registry.host, "-u", HTPASSWD_USER, "--password-stdin", stdin=b"nope\n", check=False)
    assert bad.returncode == 1 and "incorrect username or password" in bad.stderr and "nope" not in bad.stderr
    ok = md("login", htpasswd_registry.host, "-u", HTPASSWD_USER, "--password-stdin",
            stdin=f"{HTPASSWD_PASSWORD}\n".encode())
    assert ok.stdout == "Login Succeeded\n" and HTPASSWD_PASSWORD not in ok.stdout + ok.stderr
    warned = md("login", hub_registry.host, "-u", "minidock", "-p", "s3cret")
    assert "WARNING! Using --password via the CLI is insecure" in warned.stderr
    auths = json.loads(config.read_text())["auths"]
    assert set(auths) == {"keep.example", htpasswd_registry.host, hub_registry.host}
    assert oct(config.stat().st_mode & 0o777) == "0o600"
    assert md("logout", htpasswd_registry.host).stdout == f"Removing login credentials for {htpasswd_registry.host}\n"
    after = json.loads(config.read_text())
    assert set(after["auths"]) == {"keep.example", hub_registry.host} and after["detachKeys"] == "ctrl-x"
    assert md("logout", htpasswd_registry.host).stdout == f"Not logged in to {htpasswd_registry.host}\n"


def test_load_from_stdin_and_save_to_stdout(md: Minidock, busybox_tar: Path, busybox_layout: BusyboxLayout) -> None:
    out = md("load", stdin=None, check=False)  # empty stdin: not a tar
    assert out.returncode == 1 and "load:" in out.stderr
    res = subprocess.run([*MINIDOCK, "load"], env=md.env, stdin=busybox_tar.open("rb"), capture_output=True,
                         check=False, cwd=Path(__file__).resolve().parents[2])
    assert res.stdout == b"Loaded image: busybox:1.38.0-glibc\n", res.stderr
    saved = subprocess.run([*MINIDOCK, "save", "--format", "oci", "busybox:1.38.0-glibc"], env=md.env,
                           capture_output=True, check=True, cwd=Path(__file__).resolve().parents[2]).stdout
    with tarfile.open(fileobj=io.BytesIO(saved)) as tf:
        index = json.loads(tf.extractfile("index.json").read())  # type: ignore[union-attr]
    assert index["manifests"][0]["digest"] == busybox_layout.manifest
