"""Container records: a record whose supervisor is gone is recorded exited once, dated when that was noticed."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from minidock.paths import Paths
from minidock.store.alive import start_time
from minidock.store.containers import ContainerRecord, ContainerStore, now_rfc3339


def test_a_running_record_without_its_monitor_is_exited_when_noticed(tmp_path: Path) -> None:
    store = ContainerStore(Paths(tmp_path))
    dead_pid = int(subprocess.run(["sh", "-c", "echo $$"], check=True, capture_output=True, text=True).stdout)
    rec = store.create(ContainerRecord("a" * 64, "ghost", "busybox", "sha256:x", "2026-01-01T00:00:00.000000Z"))
    store.update(rec.id, status="running", monitor_pid=dead_pid, started_at="2026-01-01T00:00:01.000000Z")
    os.utime(f"{store.dir(rec.id)}/state.json", (1_700_000_000.25, 1_700_000_000.25))
    before = now_rfc3339()
    shown = store.get("ghost")
    assert (shown.status, shown.exit_code, shown.reclaim) == ("exited", 255, True)
    assert shown.finished_at >= before  # when it was noticed: never the start time or the last write
    assert store._read(rec.id) == shown  # recorded once, under the lock
    assert store.get("ghost").finished_at == shown.finished_at  # the same on every read


def test_a_reused_supervisor_pid_is_not_the_supervisor(tmp_path: Path) -> None:
    store = ContainerStore(Paths(tmp_path))
    me, since = os.getpid(), start_time(os.getpid())
    assert since > 0
    live = store.create(ContainerRecord("b" * 64, "live", "busybox", "sha256:x", "2026-01-01T00:00:00.000000Z"))
    store.update(live.id, status="running", monitor_pid=me, monitor_start=since)
    assert store.get("live").status == "running"
    reused = store.create(ContainerRecord("c" * 64, "reused", "busybox", "sha256:x", "2026-01-01T00:00:00.000000Z"))
    store.update(reused.id, status="running", monitor_pid=me, monitor_start=since - 1)  # our pid, another start
    shown = store.get("reused")
    assert (shown.status, shown.reclaim) == ("exited", True)
