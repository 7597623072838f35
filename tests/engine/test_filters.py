"""ps --filter (engine/filters.py) over records, without containers."""

from __future__ import annotations

import re

import pytest

from minidock.engine.filters import PsFilter
from minidock.errors import MinidockError, UsageError
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


@pytest.mark.parametrize(("bad", "said", "code"), [
    ("color=red", "Error response from daemon: Invalid filter 'color'", 1),  # the daemon's check of the name
    ("=x", "Error response from daemon: Invalid filter ''", 1),
    ("status", 'invalid argument "status" for "-f, --filter" flag: bad format of filter (expected name=value)'
               "\nSee 'minidock ps --help'.", 125),  # docker/cli's
    ("status=sleeping", "invalid filter 'status=sleeping'", 0), ("exited=x", "invalid filter 'exited=x'", 0),
    ("name=(", "invalid filter 'name=('", 0)])  # minidock's words: what the value should be
def test_bad_filters(bad: str, said: str, code: int) -> None:
    with pytest.raises(MinidockError) as e:
        PsFilter.parse([bad])
    assert str(e.value).startswith(said) and e.value.exit_code == (code or e.value.exit_code)


def _ported(name: str, ports: list[tuple[int, int, str]], exposed: tuple[str, ...] = (),
            status: str = "running") -> ContainerRecord:
    published = [{"host_ip": "0.0.0.0", "host_port": h, "container_port": c, "protocol": p} for h, c, p in ports]
    return ContainerRecord(id=name * 8, name=name, image="busybox", image_id=IMG, created="", status=status,
                           host_config={"Config": {"ExposedPorts": {e: {} for e in exposed}}},
                           network={"ip": "10.200.0.2", "ports": published})


def test_ps_ports_as_docker_groups_them() -> None:
    """docker/cli DisplayablePorts: same-number publishes and exposed ports grouped into ranges in
    the order made, other mappings last; nothing once the container stopped."""
    from minidock.engine.glance import ports_text

    r = _ported("p1", [(18080, 80, "tcp"), (90, 90, "tcp"), (18081, 81, "tcp")],
                ("91/tcp", "92/tcp", "95/udp", "80/tcp"))
    assert ports_text(r.to_json()) == "0.0.0.0:90->90/tcp, 91-92/tcp, 95/udp, 0.0.0.0:18080->80/tcp, " \
                                      "0.0.0.0:18081->81/tcp"
    r = _ported("p2", [(8000 + n, 8000 + n, "tcp") for n in range(3)], ("7000/tcp", "7002/tcp"))
    assert ports_text(r.to_json()) == "7000/tcp, 7002/tcp, 0.0.0.0:8000-8002->8000-8002/tcp"
    assert ports_text(_ported("p3", [(1, 2, "tcp")], ("3/tcp",), status="exited").to_json()) == ""


def test_publish_expose_and_task_filters() -> None:
    web = _ported("pw", [(18080, 80, "tcp")], ("90/tcp", "91/udp"))

    def hit(*texts: str) -> bool:
        return PsFilter.parse(list(texts)).matches(web)
    assert hit("publish=18080") and not hit("publish=80") and hit("publish=18000-18100/tcp")
    assert hit("expose=80") and hit("expose=90") and not hit("expose=91") and hit("expose=91/udp")
    assert hit("is-task=false") and not hit("is-task=true")
    for bad, message in (("publish=abc", 'parsing "abc": invalid syntax'), ("expose=1:2", "should not contain ':'"),
                         ("is-task=maybe", "Invalid filter 'is-task=[maybe]'"), ("publish=99999", "out of range")):
        with pytest.raises(UsageError, match=re.escape(message)):
            PsFilter.parse([bad])


def test_before_and_since_select_by_position() -> None:
    from minidock.errors import NotFoundError

    newest_first = [NEW, WEB, JOB]

    def window(*texts: str) -> list[str]:
        return [r.name for r in PsFilter.parse(list(texts)).window(newest_first, lambda r: (r.id, r.name))]
    assert window("before=fresh") == ["web-1", "job"] and window("since=job") == ["fresh", "web-1"]
    assert window("before=fresh", "since=job") == ["web-1"] and window("since=9abc") == []
    with pytest.raises(NotFoundError, match="no such container nosuch"):
        window("before=nosuch")


def test_prune_filters() -> None:
    from minidock.engine.filters import PruneFilter

    f = PruneFilter.parse(["until=1h", "label=a", "label!=b=2"], now=10_000)
    assert (f.until, f.labels, f.dangling) == (6400.0, (("a", True), ("b=2", False)), None)
    assert f.matches("1970-01-01T00:00:00Z", {"a": "1"}) and f.matches("1970-01-01T00:00:00Z", {"a": "", "b": "3"})
    assert not f.matches("1970-01-01T00:00:00Z", {"a": "1", "b": "2"})  # label!=b=2
    assert not f.matches("1970-01-01T02:00:00Z", {"a": "1"})  # made after until
    assert not f.matches("1970-01-01T00:00:00Z", {})  # no label a
    assert PruneFilter.parse(["dangling=false"], images=True).dangling is False
    # the daemon's ExactMatch: false over true over anything else (docker/cli adds its own value)
    for values, want in ((["dangling=true", "dangling=0"], False), (["dangling=maybe"], None),
                         (["dangling=TRUE"], None), ([" Dangling=1"], True)):
        assert PruneFilter.parse(values, images=True).dangling is want, values
    for bad, message, images in (("foo=1", "Error response from daemon: Invalid filter 'foo'", False),
                                 ("Label!=x", "", False),
                                 ("dangling=true", "Error response from daemon: Invalid filter 'dangling'", False),
                                 ("until=garbage", 'failed to parse value as time or duration: "garbage"', False),
                                 ("x", 'invalid argument "x" for "--filter" flag: bad format of filter', True)):
        if not message:
            assert PruneFilter.parse([bad]).labels == (("x", False),)
            continue
        with pytest.raises(MinidockError, match=re.escape(message)):
            PruneFilter.parse([bad], images=images)
