"""ps --filter (engine/filters.py) over records, without containers."""

from __future__ import annotations

import pytest

from minidock.engine.filters import PsFilter
from minidock.errors import UsageError
from minidock.store.containers import ContainerRecord

IMG = "sha256:" + "ab12" * 16
WEB = ContainerRecord(id="1234" * 16, name="web-1", image="busybox", image_id=IMG, created="", status="running")
JOB = ContainerRecord(id="5678" * 16, name="job", image="docker.io/library/alpine:3.20", image_id="sha256:" + "cd" * 32,
                      created="", status="exited", exit_code=2)
NEW = ContainerRecord(id="9abc" * 16, name="fresh", image="busybox:latest", image_id=IMG, created="")


def names(*texts: str) -> list[str]:
    f = PsFilter.parse(list(texts))
    return [r.name for r in (WEB, JOB, NEW) if f.matches(r)]


def test_keys_and_values() -> None:
    assert names() == ["web-1", "job", "fresh"]
    assert names("status=exited") == ["job"]
    assert names("status=exited", "status=created") == ["job", "fresh"]  # one key: any value
    assert names("name=web") == ["web-1"] and names("name=^f") == ["fresh"]
    assert names("id=5678") == ["job"]
    assert names("ancestor=busybox") == ["web-1", "fresh"]  # busybox == busybox:latest
    assert names("ancestor=alpine:3.20") == ["job"] and names("ancestor=alpine") == []
    assert names("ancestor=ab12ab12") == ["web-1", "fresh"] and names(f"ancestor={IMG}") == ["web-1", "fresh"]
    assert names("exited=2") == ["job"] and names("exited=0") == []
    assert names("ancestor=busybox", "status=created") == ["fresh"]  # two keys: both


def test_state_filters_see_stopped_containers() -> None:
    assert PsFilter.parse(["status=exited"]).shows_all and PsFilter.parse(["exited=1"]).shows_all
    assert not PsFilter.parse(["name=x"]).shows_all and not PsFilter().shows_all


@pytest.mark.parametrize("bad", ["color=red", "status", "status=sleeping", "exited=x", "name=("])
def test_bad_filters(bad: str) -> None:
    with pytest.raises(UsageError, match="invalid filter"):
        PsFilter.parse([bad])
