"""Docker 20.10 (BuildKit) as the oracle: the same Dockerfile built by both engines gives the same image."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fixtures.oracle import Oracle, export_both, minidock_ok
from tests.oracle_compare import config_subset, diff_trees, tree_from_tar

pytestmark = [pytest.mark.root, pytest.mark.slow]


def _md(env: dict[str, str], *args: str, timeout: float = 300) -> str:
    return minidock_ok(env, *args, timeout=timeout)


def _context(tmp_path: Path, dockerfile: str) -> Path:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(dockerfile)
    return ctx


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
    docker_tar, md_tar = export_both(oracle, env, tag, tmp_path)
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
