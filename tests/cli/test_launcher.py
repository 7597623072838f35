"""The venv's launcher (Makefile: `python -S`, minidock appended to sys.path): the lean commands run
without site-packages, the others add them (cli.main.with_site_packages), and PYTHONPATH still wins."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

LAUNCHER = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "minidock"

pytestmark = [pytest.mark.root, pytest.mark.skipif(
    not LAUNCHER.is_file() or b" -S" not in LAUNCHER.read_bytes().split(b"\n", 1)[0],
    reason="no Makefile-made launcher (make venv)")]


def launch(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(LAUNCHER), *args], capture_output=True, text=True, check=False, timeout=60,
                          env=env)


def test_lean_and_full_commands(busybox_store: Callable[[], Path]) -> None:
    busybox_store()
    r = launch("run", "--rm", "--network", "none", "busybox", "echo", "hi")
    assert (r.returncode, r.stdout) == (0, "hi\n"), r.stderr
    assert launch("ps", "-a", "--filter", "status=exited", "-q").returncode == 0
    r = launch("volume", "ls")  # typer: site-packages added on the way
    assert r.returncode == 0 and r.stdout.startswith("DRIVER"), r.stderr
    r = launch("ps", "--no-such-flag")  # a quick command's fallback to typer
    assert r.returncode != 0 and "no-such-flag" in r.stderr


def test_pythonpath_comes_first(tmp_path: Path) -> None:
    pkg = tmp_path / "minidock" / "cli"
    pkg.mkdir(parents=True)
    (tmp_path / "minidock" / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "main.py").write_text("def main():\n    print('shadow')\n    return 0\n")
    r = launch("version", env={**os.environ, "PYTHONPATH": str(tmp_path)})
    assert (r.returncode, r.stdout) == (0, "shadow\n"), r.stderr


# what a run imports: the standard library's heavy modules are left to the runs that need them
NOT_ON_THE_RUN_PATH = {"typing", "pathlib", "re", "enum", "functools", "collections", "contextlib", "json", "signal",
                       "ipaddress", "urllib.parse", "fnmatch", "dataclasses", "subprocess", "shutil", "threading",
                       "hashlib", "socket", "tempfile", "datetime"}


def _imported(*args: str) -> set[str]:
    r = subprocess.run([str(LAUNCHER), *args], capture_output=True, text=True, check=False, timeout=60,
                       env={**os.environ, "PYTHONPROFILEIMPORTTIME": "1"})
    assert r.returncode == 0, r.stderr
    return {line.split("|")[-1].strip() for line in r.stderr.splitlines() if line.startswith("import time:")}


@pytest.mark.parametrize("args", [("run", "--rm", "--network", "none"), ("run", "--network", "none"), ("run", "--rm")])
def test_a_run_imports_nothing_heavy(args: tuple[str, ...], busybox_store: Callable[[], Path]) -> None:
    busybox_store()
    # why: a store's first run compiles the seccomp profile; a first bridge run may (re)create minidock0
    # (choosing its subnet against the host's routes loads ipaddress) and sets up its NAT rules
    _imported("run", "--rm", "busybox", "true")
    loaded = _imported(*args, "busybox", "true")
    assert "minidock.runtime.process" in loaded  # the listing is real
    if "--network" not in args:  # the default bridge network: wired with ints and text, no ipaddress
        assert {"minidock.runtime.net.network", "minidock.runtime.net.nat"} <= loaded
    assert loaded & NOT_ON_THE_RUN_PATH == set()


@pytest.mark.parametrize("args", [("ps", "-a"), ("images",), ("inspect", "busybox"), ("version",), ("network", "ls"),
                                  ("ps", "-a", "--format", "{{.Names}}")], ids=" ".join)
def test_the_quick_commands_import_nothing_heavy(args: tuple[str, ...], busybox_store: Callable[[], Path]) -> None:
    """bench/cli's commands: the lean path, as `run`'s (a first `images`/`network ls` records sizes and the
    default bridge through the engine; the second reads plain JSON)."""
    busybox_store()
    _imported(*args)
    loaded = _imported(*args)
    assert "minidock.cli.quick" in loaded  # the listing is real
    assert loaded & NOT_ON_THE_RUN_PATH == set()  # network ls sorted with `re` until this test came
