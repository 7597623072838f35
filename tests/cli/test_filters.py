"""`logs --since/--until` and `ps --filter` as subprocesses on a busybox store."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pytest

from minidock.engine.logs import parse_time, rfc3339_nano
from tests.fixtures import cli

pytestmark = pytest.mark.root

ok = partial(cli.ok, timeout=30)




def test_logs_since_until(root: Path) -> None:
    ok("run", "-d", "--name", "lg", "busybox", "sh", "-c", "echo one; sleep 1; echo two")
    assert ok("wait", "lg").strip() == "0"
    stamps = [line.split(" ", 1)[0] for line in ok("logs", "-t", "lg").splitlines()]
    middle = rfc3339_nano(int((parse_time(stamps[0]) + 0.5) * 1e9))
    assert ok("logs", "--since", middle, "lg") == "two\n"
    assert ok("logs", "--until", middle, "lg") == "one\n"
    assert ok("logs", "--since", "1h", "lg") == "one\ntwo\n"
    assert ok("logs", "--until", "1h", "lg") == ""
    assert ok("logs", "--since", "1h", "--tail", "1", "lg") == "two\n"
    assert ok("logs", "-f", "--until", middle, "lg") == "one\n"  # a past --until ends a follow at once
    r = cli.md("logs", "--since", "yesterday", "lg")
    assert r.returncode == 1 and "invalid time" in r.stderr


def test_ps_filters(root: Path) -> None:
    assert cli.md("run", "--name", "f-job", "busybox", "sh", "-c", "exit 3", timeout=30).returncode == 3
    ok("run", "-d", "--name", "f-web", "busybox", "sleep", "30")
    ok("create", "--name", "other", "busybox", "true")

    def shown(*flt: str) -> list[str]:
        return sorted(ok("ps", "--format", "json", *(x for f in flt for x in ("--filter", f))).splitlines())

    assert [n for n in ok("ps", "--filter", "status=exited").split() if n.startswith("f-")] == ["f-job"]
    assert len(shown("status=exited")) == 1 and '"Names":"f-job"' in shown("status=exited")[0]
    assert '"Names":"f-web"' in shown("name=f-")[0] and len(shown("name=f-")) == 1  # no -a: running only
    assert len(ok("ps", "-a", "-q", "--filter", "name=^f-").split()) == 2
    assert len(ok("ps", "-a", "-q", "--filter", "ancestor=busybox:latest").split()) == 3
    assert len(ok("ps", "-q", "--filter", "status=created", "--filter", "status=exited").split()) == 2
    assert len(ok("ps", "-q", "--filter", "exited=3").split()) == 1
    r = cli.md("ps", "--filter", "colour=red")
    assert r.returncode == 1 and r.stderr == "Error response from daemon: Invalid filter 'colour'\n"
