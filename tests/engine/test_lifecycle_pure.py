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
    opts = logs.LogOptions.parse(["max-size=10m,max-file=3"])
    assert (opts.max_size, opts.max_file, opts.to_json()) == (10 << 20, 3, {"max-size": "10m", "max-file": "3"})
    assert logs.LogOptions.parse([]) == logs.LogOptions() and logs.LogOptions().to_json() == {}
    opts = logs.LogOptions.parse(["labels=a,b", "env=E,F", "compress=true", "tag={{.Name}}"])
    assert opts.to_json() == {"labels": "a,b", "env": "E,F", "compress": "true", "tag": "{{.Name}}"} and opts.compress
    for bad, message in ((["max-size=0"], "max-size"), (["max-file=0"], "max-file"),
                         (["color=red"], "unknown log opt 'color' for json-file log driver"), (["max-size"], "size"),
                         (["compress=maybe"], "ParseBool"), (["compress=true", "max-file=1"], "compress cannot"),
                         (["tag={{.Nope}}"], "can't evaluate field Nope in type [*]logger.Info"),
                         (["env-regex=("], "env-regex")):
        with pytest.raises(UsageError, match=message):
            logs.LogOptions.parse(bad)


def test_log_attrs_as_docker_picks_them() -> None:
    """logger.Info.ExtraAttributes: listed labels/env that exist, regexes searched in keys, tag."""
    labels, env = {"ab": "1", "c": "x y&z"}, ["EA=1", "EB=2", "BARE"]
    opts = logs.LogOptions.parse(["labels=c,nope", "env=EA,BARE", "labels-regex=b", "env-regex=^EB"])
    attrs = opts.attrs(labels, env)
    assert attrs == {"c": "x y&z", "ab": "1", "EA": "1", "EB": "2"}
    record = {"id": "f" * 64, "name": "web", "image": "bb", "image_id": "sha256:" + "a" * 64, "command": ["echo", "hi"],
              "host_config": {"Config": {"Labels": labels, "Env": env}}}
    tag = logs.LogOptions.parse(["tag={{.ID}}|{{.Name}}|{{.ImageID}}|{{.ImageName}}|{{.Command}}"]).record_attrs(record)
    assert tag == {"tag": f"{'f' * 12}|web|sha256:aaaaa|bb|echo hi"}
    assert logs.LogOptions.parse(["max-size=1m"]).record_attrs(record) == {}
    from minidock.engine.glance import details

    assert details(attrs) == "EA=1,EB=2,ab=1,c=x+y%26z " and details({}) == " "


def test_compressed_rotation_is_read_back(tmp_path: Path) -> None:
    path = tmp_path / "log"
    w = logs.LogWriter(str(path), logs.LogOptions.parse(["max-size=300", "max-file=3", "compress=true"]),
                       {"k": "v"})
    for i in range(40):
        w.write("stdout", f"line {i}\n".encode())
    w.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["log", "log.1.gz", "log.2.gz"]
    entries = logs.read_entries(path)
    assert entries[-1].text == "line 39\n" and entries[-1].attrs == (("k", "v"),)
    numbers = [int(e.text.split()[1]) for e in entries]
    assert numbers == list(range(numbers[0], 40))  # oldest kept first, nothing lost in between
    from minidock.engine.glance import log_entries

    assert [t for _, t, _, _ in log_entries("x", store=str(tmp_path / "none"))] == []


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
