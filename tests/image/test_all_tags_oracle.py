"""`pull -a` / `push -a` and the lines around every push, against Docker 20.10 on the same registry.

Docker's pull output depends on what its (session-wide) daemon already holds, so the first pull is
compared without its per-layer lines and the second, where both hold everything, whole. Pushes are
compared with the repository names, digests and sizes masked (the two engines' manifests differ in
bytes: minidock keeps the OCI manifest it loaded, Docker writes its own).
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest

from tests.fixtures.oracle import Oracle, minidock, minidock_ok

pytestmark = [pytest.mark.root, pytest.mark.registry]

LAYER_LINE = re.compile(r"^[0-9a-f]{12}: ")


def _repo(oracle: Oracle, what: str) -> str:
    return f"{oracle.registry.host}/alltags-{what}-{uuid.uuid4().hex[:8]}"


def _no_layers(text: str) -> list[str]:
    return [line for line in text.splitlines() if not LAYER_LINE.match(line)]


def _seed_three_tags(oracle: Oracle, env: dict[str, str], repo: str) -> None:
    """REPO:1 and :2 = busybox, :3 = the alpine stand-in, pushed by minidock."""
    for source, tags in (("busybox", ("1", "2")), ("alpine", ("3",))):
        minidock_ok(env, "pull", "-q", source)
        for tag in tags:
            minidock_ok(env, "tag", source, f"{repo}:{tag}")
            minidock_ok(env, "push", "-q", f"{repo}:{tag}")


def test_pull_all_tags_like_docker(oracle: Oracle, tmp_path: Path) -> None:
    repo = _repo(oracle, "pull")
    _seed_three_tags(oracle, oracle.minidock_env(tmp_path / "seed"), repo)
    env = oracle.minidock_env(tmp_path / "root")
    try:
        d, m = oracle.docker("pull", "-a", repo), minidock(env, "pull", "-a", repo)
        assert (m.returncode, _no_layers(m.stdout)) == (d.returncode, _no_layers(d.stdout)), (d.stderr, m.stderr)
        pulling = [line.split(": ", 1)[0] for line in m.stdout.splitlines() if ": Pulling from " in line]
        assert sorted(pulling) == ["1", "2", "3"] and m.stdout.endswith(f"\n{repo}\n")
        again_d, again_m = oracle.docker("pull", "-a", repo), minidock(env, "pull", "-a", repo)
        assert again_m.stdout == again_d.stdout and "Status: Image is up to date for" in again_m.stdout
        assert minidock(env, "pull", "-a", "-q", repo).stdout == oracle.docker("pull", "-a", "-q", repo).stdout
        single_d, single_m = oracle.docker("pull", f"{repo}:2"), minidock(env, "pull", f"{repo}:2")
        assert single_m.stdout == single_d.stdout  # the image is here: no layer lines under either
        tags = minidock_ok(env, "images", "--format", "{{.Tag}}", repo).split()
        assert sorted(tags) == ["1", "2", "3"]
        for bad in (f"{repo}:1", f"{repo}@sha256:{'0' * 64}"):
            d, m = oracle.docker("pull", "-a", bad), minidock(env, "pull", "-a", bad)
            assert (m.returncode, m.stdout, m.stderr) == (d.returncode, d.stdout, d.stderr)
        missing = f"{oracle.registry.host}/alltags-none-{uuid.uuid4().hex[:8]}"
        d, m = oracle.docker("pull", "-a", missing), minidock(env, "pull", "-a", missing)
        assert m.returncode == d.returncode == 1
        assert m.stderr.removeprefix("minidock: ") == d.stderr.removeprefix("Error response from daemon: ")
    finally:
        for tag in ("1", "2", "3"):
            oracle.docker("rmi", f"{repo}:{tag}")


def _masked(text: str, repo: str) -> str:
    text = text.replace(repo, "REPO")
    text = re.sub(r"sha256:[0-9a-f]{64}", "sha256:D", text)
    return re.sub(r"size: \d+", "size: N", text)


def test_push_all_tags_like_docker(oracle: Oracle, tmp_path: Path) -> None:
    env = oracle.minidock_env(tmp_path / "root")
    d_repo, m_repo = _repo(oracle, "dpush"), _repo(oracle, "mpush")
    oracle.docker_ok("pull", "-q", "busybox")
    minidock_ok(env, "pull", "-q", "busybox")
    for tag in ("b", "a"):
        oracle.docker_ok("tag", "busybox", f"{d_repo}:{tag}")
        minidock_ok(env, "tag", "busybox", f"{m_repo}:{tag}")
    try:
        first_d, first_m = oracle.docker("push", "-a", d_repo), minidock(env, "push", "-a", m_repo)
        assert first_d.returncode == first_m.returncode == 0, (first_d.stderr, first_m.stderr)
        shape = re.compile(r"^[0-9a-f]{12}: (Preparing|Pushed|Layer already exists|Mounted from \S+)$")
        for out, repo in ((first_d.stdout, d_repo), (first_m.stdout, m_repo)):
            lines = _masked(out, repo).splitlines()
            assert lines[0] == "The push refers to repository [REPO]"
            assert [x for x in lines[1:] if not shape.match(x)] == ["a: digest: sha256:D size: N",
                                                                    "b: digest: sha256:D size: N"]
        again_d, again_m = oracle.docker("push", "-a", d_repo), minidock(env, "push", "-a", m_repo)
        assert _masked(again_m.stdout, m_repo) == _masked(again_d.stdout, d_repo)
        assert "9015da6cf29d: Layer already exists" in again_m.stdout  # the diff ID, as Docker shows a layer
        assert minidock(env, "push", "-a", "-q", m_repo).stdout == f"{m_repo}\n"
        assert oracle.docker("push", "-a", "-q", d_repo).stdout == f"{d_repo}\n"
        assert minidock(env, "push", "-q", f"{m_repo}:a").stdout == f"{m_repo}:a\n"
        for args in (("push", "-a", "{}:a"), ("push", "{}"), ("push", "-a", "{}-none")):
            d = oracle.docker(*(a.format(d_repo) for a in args))
            m = minidock(env, *(a.format(m_repo) for a in args))
            assert (m.returncode, _masked(m.stdout, m_repo), _masked(m.stderr, m_repo)) == \
                (d.returncode, _masked(d.stdout, d_repo), _masked(d.stderr, d_repo)), args
    finally:
        for tag in ("a", "b"):
            oracle.docker("rmi", f"{d_repo}:{tag}")
