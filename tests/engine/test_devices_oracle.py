"""The device cgroup judged by Docker 20.10: the same devices.list, the same refusals and openings,
for the defaults, `--device` (with and without permissions) and a RUN step of a build."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.engine.test_devices import PROBE
from tests.fixtures.oracle import Oracle

pytestmark = pytest.mark.root

LIST = "cat /sys/fs/cgroup/devices/devices.list"


def _same(oracle: Oracle, env: dict[str, str], *args: str) -> str:
    d = oracle.docker("run", "--rm", "--network", "none", *args)
    m = subprocess.run([sys.executable, "-m", "minidock", "run", "--rm", "--network", "none", *args],
                       capture_output=True, text=True, env=env, timeout=120, check=False)
    assert (m.returncode, m.stdout) == (d.returncode, d.stdout), (args, d.stderr, m.stderr)
    return d.stdout


def test_devices_match_docker(oracle: Oracle, tmp_path: Path) -> None:
    if not Path("/sys/fs/cgroup/devices/devices.list").exists():
        pytest.skip("no v1 devices controller: Docker shows no devices.list to compare")
    env = oracle.minidock_env(tmp_path / "root")
    out = _same(oracle, env, "busybox", "sh", "-c", f"{LIST}; {PROBE}")
    assert "c 1:3 rwm" in out and "loop0-refused" in out
    if Path("/dev/loop-control").exists():
        _same(oracle, env, "--device", "/dev/loop-control", "busybox", "sh", "-c",
              f"{LIST}; exec 3</dev/loop-control && echo opened; ls -ln /dev/loop-control | cut -c1-10")
        _same(oracle, env, "--device", "/dev/loop-control:/dev/lc:r", "busybox", "sh", "-c",
              f"{LIST}; exec 3</dev/lc && echo opened; exec 4>/dev/lc || echo write-refused")
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(f"FROM busybox\nRUN {{ {LIST}; {PROBE}; }} > /probe\n")
    oracle.build(ctx, "devprobe")
    b = subprocess.run([sys.executable, "-m", "minidock", "build", "-q", "-t", "devprobe", str(ctx)],
                       capture_output=True, text=True, env=env, timeout=300, check=False)
    assert b.returncode == 0, b.stderr
    _same(oracle, env, "devprobe", "cat", "/probe")
