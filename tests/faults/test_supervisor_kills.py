"""Supervisor faults: a foreground `run` and the monitor of `run -d` killed with SIGKILL.

A container's supervisor is the CLI of a foreground run or the monitor of a detached one; killed,
it cleans nothing up (the container dies with it: parent-death signal). After every kill the next
command must succeed and take back what the dead supervisor owned (engine/reclaim.py), `system
check` must then be clean without --repair, and no address lease, cgroup, mount, veth or port rule of
the container may be left, while a bystander container of the same store keeps running and reaching
its gateway. Kills land in the steady state (the container runs) and at a sweep of delays over
creation and start-up; a killed monitor's container is recorded exited at the moment it was found
(never its start time).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from minidock.runtime.net import ipam
from tests.faults.procs import kill

pytestmark = [pytest.mark.root, pytest.mark.slow]
MD = [sys.executable, "-m", "minidock"]


class Store:
    """`minidock` bound to one store root, plus what the host holds for its containers."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.env = {**os.environ, "MINIDOCK_ROOT": str(root)}

    def md(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*MD, *args], env=self.env, capture_output=True, text=True, timeout=timeout,
                              check=False)

    def ok(self, *args: str) -> str:
        r = self.md(*args)
        assert r.returncode == 0, f"minidock {' '.join(args)}: {r.stdout}{r.stderr}"
        return r.stdout

    def start(self, *args: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen([*MD, *args], env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def ids(self) -> set[str]:
        return set(os.listdir(self.root / "containers"))

    def state(self, cid: str) -> dict[str, object]:
        try:
            return dict(json.loads((self.root / "containers" / cid / "state.json").read_text()))
        except (OSError, ValueError):
            return {}

    def check_clean(self) -> None:
        r = self.md("system", "check")
        assert r.returncode == 0 and "repairable" not in r.stdout + r.stderr, r.stdout + r.stderr


def held_by(cid: str) -> list[str]:
    """Everything the host still holds for container `cid`: leases, cgroups, veth, rules, mounts."""
    out = [f"lease {b}" for b in ipam.networks_with_leases(ipam.HOST_DIR) if cid in ipam.leases(ipam.HOST_DIR, b)]
    out += [str(p) for p in Path("/sys/fs/cgroup").glob(f"*/minidock/{cid}")]
    out += [str(p) for p in Path("/sys/fs/cgroup/unified").glob(f"minidock/{cid}")]
    if Path(f"/sys/class/net/vmd{cid[:12]}").exists():
        out.append(f"veth vmd{cid[:12]}")
    if Path(f"/run/minidock/ports-{cid}").exists():
        out.append("port rules marker")
    rules = subprocess.run(["iptables-save", "-t", "nat"], capture_output=True, text=True, check=True).stdout
    if f"minidock:{cid}" in rules:
        out.append("nat rules")
    if cid in Path("/proc/self/mountinfo").read_text():
        out.append("mount")
    return out


def wait_for(cond: Callable[[], bool], timeout: float = 20) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.02)
    return cond()


@pytest.fixture
def store(busybox_store: Callable[[], Path]) -> Iterator[tuple[Store, str]]:
    """A store with a running bystander container (bridge network); removed at the end."""
    s = Store(busybox_store())
    bystander = s.ok("run", "-d", "--name", "bystander", "busybox", "sleep", "600").strip()
    try:
        yield s, bystander
    finally:
        s.md("rm", "-f", *s.ids())


def assert_bystander_fine(s: Store, cid: str) -> None:
    st = s.state(cid)
    assert st["status"] == "running", st
    net = st["network"]
    assert isinstance(net, dict)
    assert ipam.leases(ipam.HOST_DIR, "minidock0").get(cid) == net["ip"]
    r = s.md("exec", cid, "ping", "-c", "1", "-W", "2", str(net["gateway"]))
    assert r.returncode == 0, r.stdout + r.stderr + subprocess.check_output(["ip", "-br", "addr", "show", "minidock0"],
                                                                            text=True)


def assert_reclaimed(s: Store, cid: str, bystander: str) -> None:
    """The next command succeeds and takes everything back; then the store checks clean."""
    s.ok("ps", "-a")
    assert held_by(cid) == []
    s.check_clean()
    assert_bystander_fine(s, bystander)


def test_foreground_run_rm_killed_while_running(store: tuple[Store, str]) -> None:
    s, bystander = store
    before = s.ids()
    proc = s.start("run", "--rm", "-p", "80", "busybox", "sleep", "300")
    assert wait_for(lambda: any(s.state(c).get("network") for c in s.ids() - before))
    (cid,) = s.ids() - before
    assert held_by(cid)  # lease, cgroups, veth, rules
    assert kill(proc)
    assert_reclaimed(s, cid, bystander)
    assert cid not in s.ids()  # --rm: the container goes too


def test_foreground_run_killed_keeps_an_exited_record(store: tuple[Store, str]) -> None:
    s, bystander = store
    before = s.ids()
    proc = s.start("run", "busybox", "sleep", "300")
    assert wait_for(lambda: any(s.state(c).get("network") for c in s.ids() - before))
    (cid,) = s.ids() - before
    started = str(s.state(cid)["started_at"])
    killed_at = time.time()
    assert kill(proc)
    time.sleep(1.1)
    assert_reclaimed(s, cid, bystander)
    state = json.loads(s.ok("inspect", cid))[0]["State"]
    assert (state["Status"], state["ExitCode"]) == ("exited", 255)
    assert state["FinishedAt"] > started
    assert state["FinishedAt"] >= time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(killed_at))
    s.ok("rm", cid)


def test_monitor_killed(store: tuple[Store, str]) -> None:
    s, bystander = store
    cid = s.ok("run", "-d", "-p", "80", "busybox", "sleep", "300").strip()
    assert wait_for(lambda: bool(s.state(cid).get("network")))
    started = str(s.state(cid)["started_at"])
    monitor = int(str(s.state(cid)["monitor_pid"]))
    time.sleep(1.1)
    os.kill(monitor, signal.SIGKILL)  # the monitor this test's `run -d` started
    assert_reclaimed(s, cid, bystander)
    state = json.loads(s.ok("inspect", cid))[0]["State"]
    assert (state["Status"], state["ExitCode"], state["Running"]) == ("exited", 255, False)
    assert state["FinishedAt"] > started  # when it was found, never the start time
    assert s.ok("start", cid).strip() in (cid, cid[:12])  # the container is usable again
    assert wait_for(lambda: s.state(cid).get("status") == "running")
    s.ok("rm", "-f", cid)
    assert held_by(cid) == []


@pytest.mark.parametrize("delay", [0.05, 0.12, 0.2, 0.3, 0.45])
def test_foreground_run_rm_killed_during_start(store: tuple[Store, str], delay: float) -> None:
    s, bystander = store
    before = s.ids()
    proc = s.start("run", "--rm", "busybox", "sleep", "300")
    time.sleep(delay)
    kill(proc)
    new = s.ids() - before
    assert_reclaimed(s, next(iter(new), "0" * 64), bystander)
    for cid in new:
        assert held_by(cid) == []
    assert s.ids() == before  # --rm: nothing of it is left, whatever point the kill hit


@pytest.mark.parametrize("delay", [0.05, 0.15, 0.25, 0.4])
def test_run_detached_killed_while_starting(store: tuple[Store, str], delay: float) -> None:
    """`run -d` killed while it creates the container or spawns its monitor: whatever it got to,
    the store checks clean and a container that did start is an ordinary one (rm -f takes all)."""
    s, bystander = store
    before = s.ids()
    proc = s.start("run", "-d", "-p", "80", "busybox", "sleep", "300")
    time.sleep(delay)
    kill(proc)
    new = s.ids() - before
    s.ok("ps", "-a")
    s.check_clean()
    assert_bystander_fine(s, bystander)
    for cid in new:
        if s.state(cid).get("status") not in ("running", "created"):
            assert held_by(cid) == []
        s.ok("rm", "-f", cid)
        assert held_by(cid) == []
    s.check_clean()


def test_check_reports_what_an_orphan_holds_and_repair_takes_it_back(store: tuple[Store, str]) -> None:
    s, bystander = store
    before = s.ids()
    proc = s.start("run", "-p", "80", "busybox", "sleep", "300")
    assert wait_for(lambda: any(s.state(c).get("network") for c in s.ids() - before))
    (cid,) = s.ids() - before
    assert kill(proc)
    r = s.md("system", "check")  # the first command after the kill: it reports, it does not repair
    assert r.returncode != 0
    line = next(ln for ln in (r.stdout + r.stderr).splitlines() if cid[:12] in ln)
    assert "supervisor died" in line and "cgroups" in line and "address lease 10." in line, line
    assert "published-port rules" in line and "(repairable)" in line
    assert held_by(cid)
    r = s.md("system", "check", "--repair")
    assert held_by(cid) == []
    s.check_clean()
    assert s.state(cid)["status"] == "exited"  # not --rm: the record stays, exited
    assert_bystander_fine(s, bystander)
