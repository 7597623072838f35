"""`-w relative` is refused before anything happens, with Docker's words and exit code."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.fixtures.cli import MD
from tests.fixtures.oracle import Oracle

pytestmark = [pytest.mark.root, pytest.mark.slow]


def test_relative_workdir_refused_like_docker(oracle: Oracle, tmp_path: Path) -> None:
    env = oracle.minidock_env(tmp_path / "root")
    for verb in ("run", "create"):
        args = (verb, "-w", "rel/dir", "busybox", "pwd")
        docker = oracle.docker(*args)
        r = subprocess.run([*MD, *args], capture_output=True, text=True, env=env, timeout=60, check=False)
        # docker create exits 1 on a daemon error (run wraps them in 125): minidock's create too
        want = 125 if verb == "run" else 1
        assert (r.returncode, docker.returncode) == (want, want), (r.stderr, docker.stderr)
        message = r.stderr.strip().removeprefix("minidock: ")
        assert message == "the working directory 'rel/dir' is invalid, it needs to be an absolute path"
        assert message in docker.stderr
        assert not (tmp_path / "root" / "containers").is_dir() or not any((tmp_path / "root" / "containers").iterdir())
