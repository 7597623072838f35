"""The everyday Dockerfiles in Dockerfiles/ built by Docker 20.10 (BuildKit) and by minidock give the same image
(issue 12): the same config, the same exported file tree, and the same output when run.

minidock builds them as a user would, with no flag: RUN steps reach Debian's mirror through the default bridge
(Docker's builds use --network host only because the private dockerd has no bridge). One minidock store serves
every case, so debian:bookworm is pulled once. What the comparison ignores, and why, is in IGNORE.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

from tests.fixtures.oracle import Oracle, export_both, minidock, minidock_ok
from tests.oracle_compare import DEFAULT_IGNORE, config_subset, diff_trees, tree_from_tar

pytestmark = [pytest.mark.root, pytest.mark.slow]

EXAMPLES = Path(__file__).resolve().parents[2] / "Dockerfiles"

# Legitimately run-specific: what differs between two runs of the very same engine.
IGNORE = (
    *DEFAULT_IGNORE,
    "var/log/*",  # apt/dpkg logs and lastlog/faillog: timestamps of this run
    "var/cache/ldconfig/aux-cache",  # ldconfig's cache of library inodes and ctimes
    "var/cache/apt/*.bin",  # apt's package caches embed the mtimes of the lists they were built from
    "var/cache/debconf/*-old",  # debconf's backup of its previous database: written at every run
    "*/__pycache__", "*/__pycache__/*",  # byte-code embeds source mtimes (pip compiles what it installs)
)


class Case(NamedTuple):
    """One example: its directory under Dockerfiles/ and the command that shows it works."""

    name: str
    args: tuple[str, ...] = ()


CASES = [Case("filetree"), Case("apt-app"), Case("python-venv"), Case("gcc-multistage")]


def _md(env: dict[str, str], *args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return minidock(env, *args, timeout=timeout)


def _md_ok(env: dict[str, str], *args: str, timeout: float = 900) -> str:
    return minidock_ok(env, *args, timeout=timeout)


@pytest.fixture(scope="module")
def md_env(oracle: Oracle, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """One minidock store for every case (its bases are pulled once)."""
    root = tmp_path_factory.mktemp("oracle-builds") / "root"
    env = oracle.minidock_env(root)
    yield env
    _md(env, "system", "prune", "-f")


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_example_matches_docker(case: Case, oracle: Oracle, md_env: dict[str, str], tmp_path: Path) -> None:
    ctx = tmp_path / "ctx"
    shutil.copytree(EXAMPLES / case.name, ctx, symlinks=True)
    tag = f"oracle-{case.name}:1"
    t0 = time.monotonic()
    oracle.build(ctx, tag)
    t1 = time.monotonic()
    _md_ok(md_env, "build", "-q", "-t", tag, str(ctx))
    t2 = time.monotonic()
    print(f"{case.name}: docker {t1 - t0:.1f}s, minidock {t2 - t1:.1f}s")
    assert config_subset(_md_ok(md_env, "inspect", tag)) == config_subset(oracle.docker_ok("image", "inspect", tag))
    want = oracle.docker("run", "--rm", "--network", "none", tag, *case.args)
    got = _md(md_env, "run", "--rm", "--network", "none", tag, *case.args)
    assert got.stdout.splitlines() == want.stdout.splitlines(), got.stderr
    assert got.returncode == want.returncode
    docker_tar, md_tar = export_both(oracle, md_env, tag, tmp_path)
    docker_tree, md_tree = tree_from_tar(docker_tar), tree_from_tar(md_tar)
    diffs = diff_trees(docker_tree, md_tree, IGNORE)
    assert diffs == [], "\n".join(diffs)
    oracle.docker("image", "rm", "-f", tag)
