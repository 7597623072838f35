"""A built image (its layers kept as plain tars in the store) pushed by minidock and pulled by Docker 20.10:
the registry holds gzip layers, Docker runs the image, and its image id is minidock's."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.oracle import Oracle
from tests.fixtures.sharing import registry_manifest

pytestmark = [pytest.mark.root, pytest.mark.registry]


def _md_ok(env: dict[str, str], *args: str) -> str:
    r = subprocess.run([sys.executable, "-m", "minidock", *args], capture_output=True, text=True, env=env,
                       timeout=300, check=False)
    assert r.returncode == 0, f"minidock {' '.join(args)}: {r.stderr[-3000:]}"
    return r.stdout


def test_built_image_pushed_gzip_runs_under_docker(oracle: Oracle, tmp_path: Path) -> None:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM busybox\nRUN echo built > /built && seq 1 2000 > /numbers\n"
                                    "COPY a.txt /\nCMD [\"sh\", \"-c\", \"cat /built /a.txt; wc -l < /numbers\"]\n")
    (ctx / "a.txt").write_text("from the context\n")
    env = oracle.minidock_env(tmp_path / "root")
    name = f"{oracle.registry.host}/built/plain-layers:1"
    _md_ok(env, "build", "-q", "-t", name, str(ctx))
    image_id = _md_ok(env, "inspect", "--format", "{{.Id}}", name).strip()
    _md_ok(env, "push", name)
    layers = json.loads(registry_manifest(oracle.registry.url, "built/plain-layers", "1").content)["layers"]
    assert [x["mediaType"] for x in layers] == ["application/vnd.oci.image.layer.v1.tar+gzip"] * 3
    oracle.docker_ok("pull", name)
    assert oracle.docker_ok("run", "--rm", "--network", "none", name) == "built\nfrom the context\n2000\n"
    assert oracle.docker_ok("image", "inspect", "--format", "{{.Id}}", name).strip() == image_id
    oracle.docker("rmi", name)
