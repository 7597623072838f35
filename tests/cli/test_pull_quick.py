"""`minidock pull` reads plain command lines without typer; anything unusual goes to the typer command."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from minidock.cli.main import _quick_pull


@pytest.mark.parametrize("args", [[], ["--help"], ["-q"], ["--platform"], ["--platform", "-q", "x"],
                                  ["a", "b"], ["--all-tags", "x"], ["-a", "x"]])
def test_unusual_lines_go_to_typer(args: list[str]) -> None:
    assert _quick_pull(args) is None


def test_a_plain_pull_imports_no_typer_and_fails_like_the_typer_command(tmp_path: Path) -> None:
    env = dict(os.environ, MINIDOCK_ROOT=str(tmp_path / "root"), PYTHONPROFILEIMPORTTIME="1")
    quick = subprocess.run([sys.executable, "-m", "minidock", "pull", "-q", "--platform=linux/amd64",
                            "127.0.0.1:1/x"], env=env, capture_output=True, text=True, check=False)
    assert quick.returncode == 1
    assert "| typer" not in quick.stderr and "| click" not in quick.stderr
    lines = [line for line in quick.stderr.splitlines() if not line.startswith("import time:")]
    assert lines == ["minidock: pull 127.0.0.1:1/x:latest: GET http://127.0.0.1:1/v2/x/manifests/latest: "
                     "connection refused"]
    bad = subprocess.run([sys.executable, "-m", "minidock", "pull", "BAD::name"], env=env, capture_output=True,
                         text=True, check=False)
    assert (bad.returncode, bad.stdout) == (1, "")
    assert bad.stderr.splitlines()[-1] == "minidock: invalid reference format: repository name must be lowercase: " \
                                          "'BAD::name'"
