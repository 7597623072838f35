"""Commands in containers start with every signal at its default and nothing blocked (Docker: SigIgn 0).

Python ignores SIGPIPE and SIGXFSZ, and execve keeps ignored signals: without a reset, `yes | head`
never ends. Checked in every path that ends in execve: run (foreground, -d, --init), exec, build RUN.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.fixtures.cli import MD, md, ok, until
from tests.fixtures.oracle import Oracle

pytestmark = pytest.mark.root
PIPE = "grep -E '^Sig(Ign|Blk)' /proc/self/status; yes hello | head -c 100000 >/dev/null; echo END"
CLEAN = "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\nEND\n"


def test_run_foreground_and_init(busybox_store: Callable[[], Path]) -> None:
    busybox_store()
    for flags in ((), ("--init",)):
        r = md("run", "--rm", "--network", "none", *flags, "busybox", "sh", "-c", PIPE, timeout=30)
        assert (r.returncode, r.stdout) == (0, CLEAN), r.stderr


def test_run_detached_and_exec(busybox_store: Callable[[], Path]) -> None:
    busybox_store()
    cid = ok("run", "-d", "--network", "none", "busybox", "sh", "-c", PIPE + "; exec sleep 60").strip()
    try:
        assert until(lambda: "END" in ok("logs", cid), timeout=20), ok("logs", cid)
        assert ok("logs", cid) == CLEAN
        assert ok("exec", cid, "sh", "-c", PIPE, timeout=30) == CLEAN
    finally:
        md("rm", "-f", cid)


def test_build_run_step(busybox_store: Callable[[], Path], tmp_path: Path) -> None:
    busybox_store()
    (tmp_path / "Dockerfile").write_text(f'FROM busybox\nRUN {{ {PIPE}; }} > /out\n')
    ok("build", "-q", "-t", "sigs:1", str(tmp_path), timeout=60)
    assert ok("run", "--rm", "--network", "none", "sigs:1", "cat", "/out") == CLEAN


@pytest.mark.slow
def test_same_signal_state_as_docker(oracle: Oracle, tmp_path: Path) -> None:
    probe = ("run", "--rm", "--network", "none", "busybox", "grep", "-E", "^Sig(Blk|Ign|Cgt)", "/proc/self/status")
    docker = oracle.docker_ok(*probe)
    r = subprocess.run([*MD, *probe], capture_output=True, text=True, env=oracle.minidock_env(tmp_path / "root"),
                       timeout=120, check=False)
    assert (r.returncode, r.stdout) == (0, docker), r.stderr
