"""Docker 20.10 (BuildKit) as the oracle: the same Dockerfile built by both engines gives the same image."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.oracle import Oracle
from tests.oracle_compare import config_subset, diff_trees, tree_from_tar

pytestmark = [pytest.mark.root, pytest.mark.slow]


def _md(env: dict[str, str], *args: str, timeout: float = 300) -> str:
    r = subprocess.run([sys.executable, "-m", "minidock", *args], capture_output=True, text=True, env=env,
                       timeout=timeout, check=False)
    assert r.returncode == 0, f"minidock {' '.join(args)} exited {r.returncode}: {r.stderr[-4000:]}"
    return r.stdout


def _context(tmp_path: Path, dockerfile: str) -> Path:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(dockerfile)
    return ctx


def _exports(oracle: Oracle, env: dict[str, str], tag: str, tmp_path: Path) -> tuple[Path, Path]:
    cid = oracle.docker_ok("create", tag).strip()
    try:
        oracle.docker_ok("export", "-o", str(tmp_path / "docker.tar"), cid)
    finally:
        oracle.docker("rm", "-f", cid)
    mid = _md(env, "create", tag).strip()
    try:
        _md(env, "export", "-o", str(tmp_path / "minidock.tar"), mid)
    finally:
        _md(env, "rm", "-f", mid)
    return tmp_path / "docker.tar", tmp_path / "minidock.tar"


def test_busybox_build_matches_docker(oracle: Oracle, tmp_path: Path) -> None:
    ctx = _context(tmp_path, 'FROM busybox\nRUN echo hi > /f\nCMD ["cat","/f"]\n')
    tag = "oracle-busybox:1"
    env = oracle.minidock_env(tmp_path / "root")
    oracle.build(ctx, tag)
    _md(env, "build", "-q", "-t", tag, str(ctx))
    docker_cfg = config_subset(oracle.docker_ok("image", "inspect", tag))
    md_cfg = config_subset(_md(env, "inspect", tag))
    assert md_cfg == docker_cfg
    assert docker_cfg["Cmd"] == ["cat", "/f"]
    assert oracle.docker_ok("run", "--rm", "--network", "none", tag) == "hi\n"
    assert _md(env, "run", "--rm", "--network", "none", tag) == "hi\n"
    docker_tar, md_tar = _exports(oracle, env, tag, tmp_path)
    docker_tree, md_tree = tree_from_tar(docker_tar), tree_from_tar(md_tar)
    assert docker_tree["f"].sha256 == md_tree["f"].sha256
    assert docker_tree["bin/sh"].link == "/bin/busybox"
    assert diff_trees(docker_tree, md_tree) == []


def test_debian_from_the_mirror_in_both_engines(oracle: Oracle, tmp_path: Path) -> None:
    ctx = _context(tmp_path, "FROM debian:bookworm\nRUN cat /etc/debian_version > /version\n")
    env = oracle.minidock_env(tmp_path / "root")
    oracle.build(ctx, "oracle-debian:1")
    _md(env, "build", "-q", "-t", "oracle-debian:1", str(ctx))
    want = oracle.docker_ok("run", "--rm", "--network", "none", "oracle-debian:1", "cat", "/version")
    assert want.startswith("12.")
    assert _md(env, "run", "--rm", "--network", "none", "oracle-debian:1", "cat", "/version") == want
    assert config_subset(json.loads(_md(env, "inspect", "oracle-debian:1"))) == config_subset(
        oracle.docker_ok("image", "inspect", "oracle-debian:1"))
