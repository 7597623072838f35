"""Failures a user meets without root: one clear line and exit 125, never a traceback."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SYSTEM_PYTHON = "/usr/bin/python3"  # the venv's interpreter may live where `nobody` cannot reach


def as_nobody(store: Path, *args: str) -> subprocess.CompletedProcess[str]:
    site = next((REPO / ".venv" / "lib").glob("python3*/site-packages"))
    env = {"PATH": "/usr/bin:/bin", "MINIDOCK_ROOT": str(store), "PYTHONPATH": f"{REPO}:{site}",
           "HOME": "/nonexistent"}
    return subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", SYSTEM_PYTHON, "-m",
                           "minidock", *args], env=env, capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.root
@pytest.mark.skipif(not (shutil.which("setpriv") and os.path.exists(SYSTEM_PYTHON)),
                    reason="needs setpriv and /usr/bin/python3")
@pytest.mark.skipif(sys.version_info[:2] != (3, 11), reason="the system python must match the venv's")
def test_without_root(tmp_path: Path) -> None:
    store = tmp_path / "store"
    store.mkdir()
    os.chmod(tmp_path, 0o755)  # root's store, readable but not writable by nobody
    r = as_nobody(store, "run", "--rm", "busybox", "true")
    assert (r.returncode, r.stderr) == (125, "minidock: run: must be run as root (namespaces, overlay mounts "
                                              "and cgroups need it)\n")
    r = as_nobody(store, "network", "ls")
    assert r.returncode == 125 and r.stderr.count("\n") == 1, r.stderr
    assert r.stderr.startswith(f"minidock: permission denied: {store}")  # the root itself (made 0711 first) or in it
    assert r.stderr.endswith(" (minidock needs root)\n")


def test_a_damaged_container_record_is_dead_and_removable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.fixtures import cli

    monkeypatch.setenv("MINIDOCK_ROOT", str(tmp_path))
    (tmp_path / "containers" / "abc123").mkdir(parents=True)
    (tmp_path / "containers" / "abc123" / "state.json").write_text("{half a reco")
    lines = cli.ok("ps", "-a").splitlines()
    assert len(lines) == 2 and "Dead" in lines[1] and "damaged-abc123" in lines[1]
    r = cli.md("run", "--rm", "Busybox", "true")
    assert r.returncode == 125 and r.stderr == (
        "minidock: invalid reference format: repository name must be lowercase: 'Busybox'\n")
    assert cli.ok("rm", "-f", "damaged-abc123").strip() == "damaged-abc123"
    assert not (tmp_path / "containers" / "abc123").exists()
