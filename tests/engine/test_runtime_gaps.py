"""`minidock run` end to end for issues 3 and 4: /sys/fs/cgroup seen from inside, and a supervisor
(the monitor of `run -d`, the CLI of a foreground run) killed by SIGKILL leaves nothing behind once
`rm` / `container prune` ran."""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.fixtures.cli import MD, md

pytestmark = pytest.mark.root
CG = Path("/sys/fs/cgroup")


def _v1() -> bool:
    return not (CG / "cgroup.controllers").exists()


def test_cgroup_view_from_inside(busybox_store: Callable[[], Path]) -> None:
    if not _v1():
        pytest.skip("the v1 probes need a v1/hybrid host (v2: tests/runtime/test_cgroup_view.py)")
    busybox_store()
    r = md("run", "--rm", "--network", "none", "--memory", "32m", "--cpus", "0.5", "busybox", "sh", "-c",
           "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/cpu/cpu.cfs_quota_us; "
           "grep -c ':/$' /proc/self/cgroup; wc -l < /proc/self/cgroup; "
           "echo 1 > /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || echo ro; "
           "mkdir /sys/fs/cgroup/x 2>/dev/null || echo ro")
    assert r.returncode == 0, r.stderr
    limit, quota, at_root, total, *ro = r.stdout.split()
    assert (limit, quota, ro) == ("33554432", "50000", ["ro", "ro"])
    assert at_root == total  # /proc/self/cgroup shows / in every hierarchy


def test_explain_shows_the_cgroup_mounts(busybox_store: Callable[[], Path]) -> None:
    busybox_store()
    r = md("run", "--rm", "--explain", "--network", "none", "busybox", "true")
    assert r.returncode == 0, r.stderr
    text = r.stdout + r.stderr
    assert ("mount -t cgroup -o " in text) if _v1() else ("mount -t cgroup2 " in text)
    assert "die with the supervisor" in text


def _gone(pid: int, timeout: float) -> bool:
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        return bool(select.select([fd], [], [], timeout)[0])
    finally:
        os.close(fd)
        with contextlib.suppress(ChildProcessError):  # ours to reap when this process is a subreaper
            os.waitpid(pid, os.WNOHANG)


def _pids_of(cid: str) -> list[int]:
    procs = CG / ("pids" if _v1() else "") / "minidock" / cid / "cgroup.procs"
    return [int(p) for p in procs.read_text().split()] if procs.exists() else []


def _wait_for_sleep(cid: str, timeout: float = 10) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for pid in _pids_of(cid):
            with contextlib.suppress(FileNotFoundError):
                if Path(f"/proc/{pid}/cmdline").read_bytes().startswith(b"sleep\0"):
                    return pid
        time.sleep(0.05)
    raise AssertionError(f"container {cid[:12]} did not start")


def _ps_status(name: str) -> str:
    r = md("ps", "-a", "--format", "json")
    assert r.returncode == 0, r.stderr
    rows = [json.loads(ln) for ln in r.stdout.splitlines()]
    return next((str(row["Status"]) for row in rows if row["Names"] == name), "")


def _assert_nothing_left(root: Path, cid: str) -> None:
    assert not list(CG.glob(f"*/minidock/{cid}")) and not (CG / "minidock" / cid).exists()
    assert str(root) not in Path("/proc/self/mountinfo").read_text()
    assert not (root / "containers" / cid).exists()
    assert not (root / "snapshots" / cid).exists()
    for p in Path("/proc").iterdir():  # no process of the container still runs
        with contextlib.suppress(FileNotFoundError, NotADirectoryError, ProcessLookupError):
            if p.name.isdigit() and f"/minidock/{cid}" in (p / "cgroup").read_text():
                raise AssertionError(f"process {p.name} of {cid[:12]} is left")


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["KILL", "TERM"])
def test_killing_the_monitor_leaves_an_exited_container_rm_cleans(busybox_store: Callable[[], Path], sig: int) -> None:
    root = busybox_store()
    name = f"gap-mon-{os.getpid()}"
    r = md("run", "-d", "--name", name, "--network", "none", "busybox", "sleep", "60")
    assert r.returncode == 0, r.stderr
    cid = r.stdout.strip()
    state = json.loads((root / "containers" / cid / "state.json").read_text())
    monitor, pid1 = state["monitor_pid"], state["pid"]
    sleeper = _wait_for_sleep(cid)
    assert sleeper == pid1 and _ps_status(name).startswith("Up")
    os.kill(monitor, sig)
    assert _gone(monitor, 5)
    assert _gone(pid1, 5), "the container outlived its monitor"
    assert _ps_status(name).startswith("Exited")
    r = md("rm", name)
    assert r.returncode == 0, r.stderr
    _assert_nothing_left(root, cid)


def test_a_killed_foreground_run_is_not_leaked(busybox_store: Callable[[], Path]) -> None:
    root = busybox_store()
    name = f"gap-fg-{os.getpid()}"
    cli = subprocess.Popen([*MD, "run", "--rm", "--name", name, "--network", "none", "busybox", "sleep", "60"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not (cids := [p.name for p in (root / "containers").iterdir()]) and time.monotonic() < deadline:
            time.sleep(0.05)
        cid = cids[0]
        pid1 = _wait_for_sleep(cid)
    finally:
        cli.kill()
        cli.wait()
    assert _gone(pid1, 5), "the container outlived the CLI that ran it"
    assert _ps_status(name) == ""  # the next command took back what the dead CLI held: --rm, so all of it
    assert not (root / "containers" / cid).exists()
    _assert_nothing_left(root, cid)
