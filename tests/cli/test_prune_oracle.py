"""`image prune -a` judged by Docker 20.10: the same image pulled from the same registry into both,
kept while a container uses it, then pruned: the same lines (names untagged, repo digest, image id and
layer deleted), only the reclaimed bytes differ (minidock frees the compressed blobs too). `system
prune -a` prints its images through the same code; it is not run on the shared oracle daemon, whose
stopped containers, networks and build cache other tests' may still want."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.registry, pytest.mark.root]


def _lines(out: str) -> list[str]:
    """The output without the number of bytes reclaimed."""
    return [line.split(":")[0] if line.startswith("Total reclaimed space") else line for line in out.splitlines()]


def test_image_prune_all_as_docker(oracle: object, tmp_path: Path) -> None:
    command = ("image", "prune", "-a", "-f")
    o: object = oracle
    env = o.minidock_env(tmp_path / "root")  # type: ignore[attr-defined]

    def md(*args: str) -> str:
        r = subprocess.run([sys.executable, "-m", "minidock", *args], env=env, capture_output=True, text=True,
                           timeout=300, check=False)
        assert r.returncode == 0, r.stderr
        return r.stdout
    name = "relstore-prune"
    for run in (o.docker_ok, md):  # type: ignore[attr-defined]
        run("pull", "-q", "busybox")
        run("create", "--name", name, "--network", "none", "busybox", "true")
    assert _lines(o.docker_ok("image", "prune", "-a", "-f")) == _lines(md("image", "prune", "-a", "-f"))  # type: ignore[attr-defined]
    for run in (o.docker_ok, md):  # type: ignore[attr-defined]
        run("rm", name)
    want = _lines(o.docker_ok(*command))  # type: ignore[attr-defined]
    assert "untagged: busybox:latest" in want
    assert _lines(md(*command)) == want
