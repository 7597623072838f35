"""`image prune -a` judged by Docker 20.10: the same image pulled from the same registry into both,
kept while a container uses it, then pruned: the same lines for it (names untagged, repo digest,
image id and layer deleted); only the reclaimed bytes differ (minidock frees the compressed blobs
too). The oracle daemon is shared: the test uses an image of its own, which no other test's
container holds, and what else Docker prunes (other tests' images) is left out of the comparison.
`system prune -a` prints its images through the same code; it is not run on the shared daemon,
whose stopped containers, networks and build cache other tests may still want."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from minidock.oci.digest import Digest
from minidock.oci.imageconfig import chain_ids
from tests.fixtures import images as im

pytestmark = [pytest.mark.registry, pytest.mark.root]
IMAGE = "relstore-prune-probe"


def _image_lines(docker: Any, name: str) -> set[str]:
    """Every line Docker's prune may print about image `name` (names, digests, id, layers)."""
    info = json.loads(docker.docker_ok("image", "inspect", name))[0]
    layers = [str(c) for c in chain_ids([Digest.parse(d) for d in info["RootFS"]["Layers"]])]
    return {*(f"untagged: {n}" for n in info["RepoTags"] + info["RepoDigests"]),
            *(f"deleted: {d}" for d in [info["Id"], *layers])}


def _deleted(out: str, keep: set[str] | None = None) -> list[str]:
    """The `untagged:`/`deleted:` lines (those in `keep` only, when given)."""
    lines = [ln for ln in out.splitlines() if ln.startswith(("untagged: ", "deleted: "))]
    return [ln for ln in lines if keep is None or ln in keep]


def test_image_prune_all_as_docker(oracle: Any, tmp_path: Path) -> None:
    """An image of its own (no other test's container holds it in the shared daemon)."""
    img = im.make_image([im.make_tar([("hello", "file", os.urandom(64))])], cmd=["/hello"])
    oracle.registry.pusher().image(f"library/{IMAGE}", img, "latest")
    env = oracle.minidock_env(tmp_path / "root")

    def md(*args: str) -> str:
        r = subprocess.run([sys.executable, "-m", "minidock", *args], env=env, capture_output=True, text=True,
                           timeout=300, check=False)
        assert r.returncode == 0, r.stderr
        return r.stdout
    name = "relstore-prune"
    oracle.docker("rm", "-f", name)
    for run in (oracle.docker_ok, md):
        run("pull", "-q", IMAGE)
        run("create", "--name", name, "--network", "none", IMAGE)
    ours = _image_lines(oracle, IMAGE)
    assert _deleted(oracle.docker_ok("image", "prune", "-a", "-f"), ours) == []  # a container uses it
    assert md("image", "prune", "-a", "-f") == "Total reclaimed space: 0B\n"
    for run in (oracle.docker_ok, md):
        run("rm", name)
    want = _deleted(oracle.docker_ok("image", "prune", "-a", "-f"), ours)
    assert f"untagged: {IMAGE}:latest" in want and len(want) == 4, want
    out = md("image", "prune", "-a", "-f")
    assert out.startswith("Deleted Images:\n") and "\n\nTotal reclaimed space: " in out
    assert _deleted(out) == want
