"""`attach` and streaming `stats` as subprocesses on a busybox store; parse_sig_proxy unit-tested."""

from __future__ import annotations

import os
import pty
import signal
import subprocess
import time
from functools import partial
from pathlib import Path

import pytest

from minidock.cli.watch import parse_sig_proxy
from minidock.errors import UsageError
from tests.fixtures import cli
from tests.fixtures.cli import MD

TICKER = 'trap "echo got-term; exit 3" TERM; i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.1; done'


md = partial(cli.md, timeout=30)
ok = partial(cli.ok, timeout=30)




def read_until(p: subprocess.Popen[str], text: str) -> str:
    assert p.stdout is not None
    seen = ""
    while text not in seen:
        line = p.stdout.readline()
        assert line, f"ended before {text!r}: {seen!r}"
        seen += line
    return seen


def test_parse_sig_proxy() -> None:
    assert parse_sig_proxy("true", "c1") == (True, "c1")
    assert parse_sig_proxy("false", "c1") == (False, "c1") and parse_sig_proxy("0", "c") == (False, "c")
    assert parse_sig_proxy("c1", "") == (True, "c1")  # `--sig-proxy c1`: the flag took the name
    for bad in (("maybe", "c1"), ("true", "")):
        with pytest.raises(UsageError):
            parse_sig_proxy(*bad)


@pytest.mark.root
def test_attach_streams_from_now_and_returns_the_exit_code(root: Path) -> None:
    ok("run", "-d", "--name", "a1", "busybox", "sh", "-c",
       "echo early; while [ ! -e /tmp/go ]; do sleep 0.05; done; echo late; echo oops >&2; exit 7")
    time.sleep(0.3)
    p = subprocess.Popen([*MD, "attach", "a1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(0.8)
    ok("exec", "a1", "touch", "/tmp/go")
    out, err = p.communicate(timeout=20)
    assert (p.returncode, out, err) == (7, "late\n", "oops\n")  # nothing logged before the attach
    r = md("attach", "a1")
    assert r.returncode == 1 and "start it first" in r.stderr


@pytest.mark.root
def test_attach_proxies_signals_unless_told_not_to(root: Path) -> None:
    ok("run", "-d", "--name", "a2", "busybox", "sh", "-c", TICKER)
    p = subprocess.Popen([*MD, "attach", "--sig-proxy=false", "a2"], stdout=subprocess.PIPE, text=True)
    read_until(p, "tick")
    p.send_signal(signal.SIGINT)
    assert p.wait(timeout=10) == 130  # only the attach ended
    assert "Up " in ok("ps")
    p = subprocess.Popen([*MD, "attach", "a2"], stdout=subprocess.PIPE, text=True)
    read_until(p, "tick")
    p.send_signal(signal.SIGTERM)
    out, _ = p.communicate(timeout=10)
    assert p.returncode == 3 and out.endswith("got-term\n")  # the container got it and chose 3
    assert "Exited (3)" in ok("ps", "-a")


@pytest.mark.root
def test_stats_streams_plain_tables_until_interrupted(root: Path) -> None:
    ok("run", "-d", "--name", "s1", "busybox", "sleep", "30")
    p = subprocess.Popen([*MD, "stats"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = read_until(p, "CONTAINER ID")
    seen += read_until(p, " s1 ")
    seen += read_until(p, " s1 ")  # a second table: it refreshes
    p.send_signal(signal.SIGINT)
    p.communicate(timeout=10)
    assert p.returncode == 0 and seen.count("CONTAINER ID") == 2 and "\x1b[" not in seen
    assert ok("stats", "--no-stream").count("CONTAINER ID") == 1


@pytest.mark.root
def test_stats_redraws_on_a_terminal(root: Path) -> None:
    ok("run", "-d", "--name", "s2", "busybox", "sleep", "30")
    master, slave = pty.openpty()
    p = subprocess.Popen([*MD, "stats", "s2"], stdin=subprocess.DEVNULL, stdout=slave, stderr=slave)
    os.close(slave)
    screen = b""
    deadline = time.monotonic() + 15
    while screen.count(b"s2") < 2 and time.monotonic() < deadline:
        screen += os.read(master, 65536)
    p.send_signal(signal.SIGINT)
    assert p.wait(timeout=10) == 0
    os.close(master)
    assert screen.count(b"s2") >= 2 and b"\x1b[" in screen  # rich Live moved the cursor to redraw
