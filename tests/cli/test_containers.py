"""The container commands end to end: `minidock` subprocesses on a busybox store (tests/fixtures/busybox.py)."""

from __future__ import annotations

import json
import os
import subprocess
import time
from functools import partial
from pathlib import Path

import pytest

from tests.fixtures import cli
from tests.fixtures.cli import MD, until

pytestmark = pytest.mark.root

md = partial(cli.md, timeout=30)
ok = partial(cli.ok, timeout=30)




def test_ps_up_then_exited_after_stop(root: Path) -> None:
    cid = ok("run", "-d", "--name", "s1", "busybox", "sleep", "30").strip()
    assert len(cid) == 64
    line = next(x for x in ok("ps").splitlines() if x.startswith(cid[:12]))
    assert '"sleep 30"' in line and "Up " in line and line.rstrip().endswith("s1")
    t = time.monotonic()
    assert ok("stop", "-t", "1", "s1").strip() == "s1"
    assert time.monotonic() - t < 5
    assert cid[:12] not in ok("ps")
    assert "Exited (137)" in ok("ps", "-a")  # sleep as PID 1 ignores SIGTERM: killed after 1 s
    rows = [json.loads(x) for x in ok("ps", "-a", "--format", "json").splitlines()]
    assert rows[0]["Names"] == "s1" and rows[0]["State"] == "exited"


def test_create_start_attach_and_inspect(root: Path) -> None:
    cid = ok("create", "--name", "c1", "busybox", "sh", "-c", "echo out; echo err >&2; exit 5").strip()
    assert "Created" in ok("ps", "-a")
    r = md("start", "-a", "c1")
    assert (r.returncode, r.stdout, r.stderr) == (5, "out\n", "err\n")
    info = json.loads(ok("inspect", cid[:10]))[0]
    assert info["Id"] == cid and info["Name"] == "/c1" and info["Path"] == "sh"
    assert info["State"]["Status"] == "exited" and info["State"]["ExitCode"] == 5
    assert info["Config"]["Cmd"][0] == "sh" and info["Config"]["Image"] == "busybox"
    image = json.loads(ok("inspect", "busybox"))[0]
    assert image["Id"].startswith("sha256:")


def test_logs_streams_tail_timestamps_and_follow(root: Path) -> None:
    from minidock.engine.execs import ExecRequest, exec_in

    ok("run", "-d", "--name", "l1", "busybox", "sh", "-c",
       "echo a; echo b >&2; while [ ! -e /tmp/go ]; do sleep 0.05; done; echo c; sleep 0.3; echo d")
    p = subprocess.Popen([*MD, "logs", "-f", "l1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert p.stdout is not None
    assert p.stdout.readline() == "a\n"
    assert exec_in(ExecRequest("l1", ("touch", "/tmp/go"))) == 0  # only now can "c" be written
    assert p.stdout.readline() == "c\n"
    assert p.stdout.readline() == "d\n"
    out, err = p.communicate(timeout=10)  # -f ends when the container exits
    assert out == "" and err == "b\n"
    r = md("logs", "--tail", "1", "-t", "l1")
    assert r.stdout.endswith("Z d\n") and r.stdout[:4].isdigit()


def test_exec_sees_the_container(root: Path) -> None:
    ok("run", "-d", "--name", "e1", "--hostname", "inbox", "busybox", "sleep", "30")
    out = ok("exec", "e1", "sh", "-c", "tr '\\0' ' ' < /proc/1/cmdline; echo; hostname; head -1 /proc/mounts")
    assert out.splitlines() == ["sleep 30 ", "inbox", out.splitlines()[2]]
    assert out.splitlines()[2].startswith("overlay / overlay")
    assert md("exec", "e1", "sh", "-c", "exit 3").returncode == 3
    assert ok("exec", "-e", "X=1", "-w", "/tmp", "-u", "nobody", "e1", "sh", "-c", "echo $X $(pwd) $(id -u)") \
        == "1 /tmp 65534\n"
    r = md("exec", "e1", "nope")
    assert r.returncode == 127 and "not found" in r.stderr


def test_exec_not_running(root: Path) -> None:
    ok("create", "--name", "x1", "busybox", "true")
    r = md("exec", "x1", "true")
    assert r.returncode == 1 and "is not running" in r.stderr


def test_init_reaps_zombies(root: Path) -> None:
    # sh starts a child that backgrounds a grandchild and exits: the grandchild's zombie goes to PID 1
    ok("run", "-d", "--init", "--name", "i1", "busybox", "sh", "-c", "sleep 30")
    ok("exec", "-d", "i1", "sh", "-c", "sleep 0.2 & exit 0")
    time.sleep(0.8)
    assert ok("exec", "i1", "cat", "/proc/1/cmdline").split("\0")[0] == "/sbin/docker-init"
    states = ok("exec", "i1", "sh", "-c", "cat /proc/[0-9]*/stat")
    assert " Z " not in states
    t = time.monotonic()
    ok("stop", "i1")  # tini forwards SIGTERM: no 10 s wait
    assert time.monotonic() - t < 3


def test_log_rotation_keeps_the_cap(root: Path) -> None:
    cid = ok("run", "-d", "--log-opt", "max-size=2k", "--log-opt", "max-file=3", "busybox", "sh", "-c",
             "i=0; while [ $i -lt 300 ]; do echo line-$i; i=$((i+1)); done").strip()
    assert ok("wait", cid).strip() == "0"
    d = root / "containers" / cid
    files = sorted(p.name for p in d.iterdir() if p.name.startswith("log"))
    assert files == ["log", "log.1", "log.2"]
    assert all((d / f).stat().st_size <= 2048 for f in files)
    lines = ok("logs", cid).splitlines()
    assert lines[-1] == "line-299" and 0 < len(lines) < 300  # the oldest were rotated away
    assert lines == [f"line-{i}" for i in range(300 - len(lines), 300)]


def test_two_containers_at_once(root: Path) -> None:
    a = ok("run", "-d", "busybox", "sh", "-c", "echo A > /tmp/who; sleep 30").strip()
    b = ok("run", "-d", "busybox", "sh", "-c", "echo B > /tmp/who; sleep 30").strip()
    assert ok("exec", a, "cat", "/tmp/who") == "A\n" and ok("exec", b, "cat", "/tmp/who") == "B\n"
    assert ok("exec", a, "hostname").strip() == a[:12]
    ok("rm", "-f", a)
    assert ok("exec", b, "cat", "/tmp/who") == "B\n"
    assert "Up " in ok("ps")


def test_pause_unpause(root: Path) -> None:
    cid = ok("run", "-d", "busybox", "sh", "-c", "while true; do echo x >> /tmp/n; sleep 0.05; done").strip()
    ok("pause", cid)
    assert "(Paused)" in ok("ps")
    time.sleep(0.2)
    before = (root / "snapshots" / cid / "fs" / "tmp" / "n").stat().st_size
    time.sleep(0.4)
    assert (root / "snapshots" / cid / "fs" / "tmp" / "n").stat().st_size == before
    assert md("pause", cid).returncode != 0
    ok("unpause", cid)
    assert until(lambda: (root / "snapshots" / cid / "fs" / "tmp" / "n").stat().st_size > before)
    assert "(Paused)" not in ok("ps")


def test_wait_from_another_process(root: Path) -> None:
    cid = ok("run", "-d", "busybox", "sh", "-c", "sleep 0.5; exit 9").strip()
    t = time.monotonic()
    assert ok("wait", cid) == "9\n"
    assert time.monotonic() - t > 0.2


def test_rm_f_leaves_nothing(root: Path) -> None:
    cid = ok("run", "-d", "busybox", "sleep", "30").strip()
    pid = json.loads(ok("inspect", cid))[0]["State"]["Pid"]
    r = md("rm", cid)
    assert r.returncode != 0 and "container is running: stop the container before removing or force remove" in r.stderr
    ok("rm", "-f", cid)
    assert not os.path.exists(f"/proc/{pid}/cmdline") or Path(f"/proc/{pid}/cmdline").read_bytes() == b""
    assert cid not in Path("/proc/self/mountinfo").read_text()
    assert not list(Path("/sys/fs/cgroup").glob(f"*/minidock/{cid}"))
    assert not (root / "containers" / cid).exists() and not (root / "snapshots" / cid).exists()


def test_names_and_prefixes(root: Path) -> None:
    ok("create", "--name", "n1", "busybox", "true")
    r = md("create", "--name", "n1", "busybox", "true")
    assert r.returncode == 1 and "already in use" in r.stderr  # Docker: create exits 1 here, run 125
    r = md("inspect", "--type", "container", "nosuch")
    assert (r.returncode, r.stdout, r.stderr) == (1, "[]\n", "Error: No such container: nosuch\n")  # Docker's words
    assert md("rm", "nosuch").returncode == 1
    ok("container", "prune", "-f")
    assert ok("ps", "-aq") == ""
