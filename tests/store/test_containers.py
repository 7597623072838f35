"""Container records: a record whose supervisor is gone reads as exited, dated when it was last written."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from minidock.paths import Paths
from minidock.store.containers import ContainerRecord, ContainerStore


def test_a_running_record_without_its_monitor_is_exited_at_its_last_write(tmp_path: Path) -> None:
    store = ContainerStore(Paths(tmp_path))
    dead_pid = int(subprocess.run(["sh", "-c", "echo $$"], check=True, capture_output=True, text=True).stdout)
    rec = store.create(ContainerRecord("a" * 64, "ghost", "busybox", "sha256:x", "2026-01-01T00:00:00.000000Z"))
    store.update(rec.id, status="running", monitor_pid=dead_pid)
    os.utime(store.dir(rec.id) / "state.json", (1_700_000_000.25, 1_700_000_000.25))
    shown = store.get("ghost")
    assert (shown.status, shown.exit_code) == ("exited", 255)
    assert shown.finished_at == "2023-11-14T22:13:20.250000Z"
    assert store.get("ghost").finished_at == shown.finished_at  # the same on every read
