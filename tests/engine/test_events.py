"""`events`: the journal written by container, image, volume and network commands, filtered and shown as Docker does."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from minidock.engine.events import line, matches
from minidock.store.events import message
from tests.fixtures.cli import MD, ok


def test_line_and_filters() -> None:
    ev = message("container", "die", "abc", {"name": "web", "image": "busybox", "exitCode": "3", "team": "x"},
                 at_ns=1_700_000_000_123_456_789)
    assert line(ev) == ("2023-11-14T22:13:20.123456789Z container die abc "
                        "(exitCode=3, image=busybox, name=web, team=x)")
    assert ev["status"] == "die" and ev["id"] == "abc" and ev["from"] == "busybox"
    assert matches(ev, {"type": ["container"], "event": ["die", "start"], "label": ["team=x"]})
    assert matches(ev, {"container": ["web"]}) and matches(ev, {"container": ["ab"]})
    assert not matches(ev, {"type": ["image"]}) and not matches(ev, {"label": ["team=y"]})
    assert matches(message("container", "exec_start: sh", "abc", {}), {"event": ["exec_start"]})


@pytest.mark.root
def test_commands_journal_their_events(busybox_store: Callable[[], Path]) -> None:
    busybox_store()
    since = str(int(time.time()) - 1)
    ok("run", "--rm", "--network", "none", "-l", "team=x", "busybox", "true")
    ok("run", "-d", "--name", "ev", "--network", "none", "busybox", "sleep", "100")
    ok("exec", "ev", "true")
    ok("rename", "ev", "ev2")
    ok("kill", "ev2")
    ok("rm", "ev2")
    ok("volume", "create", "vv")
    ok("volume", "rm", "vv")
    ok("tag", "busybox", "other:1")
    ok("rmi", "other:1")
    fmt = "{{.Type}} {{.Action}} {{.Actor.Attributes.name}}"
    out = ok("events", "--since", since, "--until", "0s", "--format", fmt)
    lines = out.splitlines()
    for want in ("container create", "container start", "container die", "container destroy",
                 "container exec_create: true ev", "container exec_die ev", "container rename ev2",
                 "container kill ev2", "volume create", "volume destroy", "image tag other:1", "image untag"):
        assert any(ln.startswith(want) for ln in lines), (want, lines)
    labelled = ok("events", "--since", since, "--until", "0s", "--filter", "label=team=x", "--filter", "event=die")
    assert len(labelled.splitlines()) == 1 and "exitCode=0" in labelled


@pytest.mark.root
def test_events_streams_new_ones_only(busybox_store: Callable[[], Path]) -> None:
    busybox_store()
    ok("run", "--rm", "--network", "none", "busybox", "true")  # history: not shown without --since
    proc = subprocess.Popen([*MD, "events", "--filter", "event=start"], stdout=subprocess.PIPE, text=True)
    try:
        time.sleep(1.0)
        ok("run", "--rm", "--network", "none", "--name", "live", "busybox", "true")
        first = proc.stdout.readline() if proc.stdout else ""
        assert " container start " in first and "name=live" in first
    finally:
        proc.terminate()
        proc.wait(5)


