"""Pure parts of the lifecycle: restart policy, log options/writer/reader, ps texts (no root needed)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from minidock.engine import info, logs
from minidock.engine.restart import RestartPolicy, backoff
from minidock.errors import UsageError
from minidock.store.containers import ContainerRecord


def test_restart_policy() -> None:
    p = RestartPolicy.parse("on-failure:2")
    assert (p.name, p.max_retries) == ("on-failure", 2)
    assert p.should_restart(1, 0, False) and p.should_restart(1, 1, False)
    assert not p.should_restart(1, 2, False) and not p.should_restart(0, 0, False)
    assert RestartPolicy.parse("always").should_restart(0, 99, False)
    assert not RestartPolicy.parse("always").should_restart(1, 0, True)
    assert not RestartPolicy.parse("no").should_restart(1, 0, False)
    assert RestartPolicy.from_json(p.to_json()) == p
    for bad in ("sometimes", "always:3", "on-failure:x"):
        with pytest.raises(UsageError):
            RestartPolicy.parse(bad)
    assert backoff(0) < backoff(1) <= backoff(10) == 2.0


def test_log_options() -> None:
    assert logs.LogOptions.parse(["max-size=10m,max-file=3"]) == logs.LogOptions(10 << 20, 3)
    assert logs.LogOptions.parse([]) == logs.LogOptions()
    for bad in (["max-size=0"], ["max-file=0"], ["color=red"], ["max-size"]):
        with pytest.raises(UsageError):
            logs.LogOptions.parse(bad)


def test_writer_lines_partials_and_rotation(tmp_path: Path) -> None:
    path = tmp_path / "log"
    w = logs.LogWriter(path, logs.LogOptions(max_size=300, max_file=2))
    w.write("stdout", b"one\ntw")
    w.write("stderr", b"err\n")
    w.write("stdout", b"o\n")
    assert [(e.stream, e.text) for e in logs.read_entries(path)] == [
        ("stdout", "one\n"), ("stderr", "err\n"), ("stdout", "two\n")]
    for i in range(20):
        w.write("stdout", f"line {i}\n".encode())
    w.write("stdout", b"no newline")
    w.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["log", "log.1"]
    assert all(p.stat().st_size <= 300 for p in tmp_path.iterdir())
    texts = [e.text for e in logs.read_entries(path)]
    assert texts[-1] == "no newline" and texts[-2] == "line 19\n"
    assert [e.text for e in logs.read_entries(path, tail=2)] == texts[-2:]
    assert logs.rfc3339_nano(1_700_000_000_123_456_789) == "2023-11-14T22:13:20.123456789Z"


def test_ps_texts() -> None:
    now = datetime(2024, 1, 1, 0, 10, tzinfo=UTC)
    r = ContainerRecord(id="a" * 64, name="n", image="busybox", image_id="", created="2024-01-01T00:09:55Z",
                        command=("sh", "-c", "while true; do sleep 1; done"), status="running",
                        started_at="2024-01-01T00:09:57.123456789Z")
    assert info.status_text(r, now) == "Up 2 seconds"
    assert info.status_text(r.with_(status="paused"), now) == "Up 2 seconds (Paused)"
    assert info.created_text(r, now) == "5 seconds ago"
    done = r.with_(status="exited", exit_code=3, finished_at="2024-01-01T00:08:00Z")
    assert info.status_text(done, now) == "Exited (3) 2 minutes ago"
    assert info.status_text(r.with_(status="created"), now) == "Created"
    assert info.command_text(r) == '"sh -c \'while true; …"'  # Docker's: an argument with a space is quoted
    assert info.command_text(r, trunc=False) == '"sh -c \'while true; do sleep 1; done\'"'
