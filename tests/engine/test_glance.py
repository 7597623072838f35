"""engine/glance.py reads what the store's classes read: the same records, texts and networks."""

from __future__ import annotations

from pathlib import Path

import pytest

from minidock.engine import glance


def test_epoch_reads_rfc3339_like_datetime() -> None:
    from datetime import datetime

    for text in ("2024-01-02T03:04:05Z", "2024-01-02T03:04:05.123456789Z", "1999-12-31T23:59:59+02:00",
                 "2026-02-28T12:00:00.5-05:30"):
        want = datetime.fromisoformat(text.replace("Z", "+00:00").replace(".123456789", ".123456")).timestamp()
        assert abs(glance.epoch(text) - want) < 1e-3  # type: ignore[operator]
    assert glance.epoch("yesterday") is None
    assert glance.docker_time("2024-01-02T03:04:05.5Z") == "2024-01-02 03:04:05 +0000 UTC"


def test_builtin_networks_are_the_runtimes(tmp_path: Path) -> None:
    from minidock.runtime.net.netconfig import _builtin

    for name, id_, driver in glance.BUILTIN_NETWORKS:
        assert (_builtin(name).id, _builtin(name).driver) == (id_, driver)
    assert glance.networks(str(tmp_path)) is None  # no default bridge recorded yet: the engine's job


def test_records_and_find(tmp_path: Path) -> None:
    from minidock.errors import ConflictError, NotFoundError
    from minidock.paths import Paths
    from minidock.store.containers import ContainerRecord, ContainerStore

    store = ContainerStore(Paths(tmp_path))
    for cid, name, created in (("ab12", "one", "2024-01-01T00:00:01Z"), ("ab34", "two", "2024-01-01T00:00:02Z")):
        store.create(ContainerRecord(cid, name, "busybox", "sha256:x", created, ("sleep", "1 2"), status="running",
                                     pid=2 ** 22 + 7))
    records = glance.records(str(tmp_path))
    assert [d["name"] for d in records] == ["two", "one"]
    assert [d["status"] for d in records] == ["exited", "exited"]  # no supervisor: shown exited, as the store does
    assert [r.status for r in store.list()] == ["exited", "exited"]
    assert glance.find("one", str(tmp_path))["id"] == "ab12" == glance.find("/one", str(tmp_path))["id"]
    assert glance.command_text(records[0]) == "\"sleep '1 2'\""
    with pytest.raises(ConflictError):
        glance.find("ab", str(tmp_path))
    with pytest.raises(NotFoundError, match="no such container: zz"):
        glance.find("zz", str(tmp_path))
