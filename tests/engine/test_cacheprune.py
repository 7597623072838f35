"""`builder prune --filter until=D --keep-storage N`: Docker's checks (against a private dockerd), which
entries go (by when they were recorded, oldest first down to the size kept), and Go's durations."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from minidock.builder.cache import RECORDED, BuildCache, CacheEntry
from minidock.engine.cacheprune import parse_filters, parse_keep_storage, prune_build_cache
from minidock.errors import FlagError, MinidockError
from minidock.goduration import DurationError, parse_duration
from minidock.oci import mediatypes as mt
from minidock.oci.descriptor import Descriptor
from minidock.oci.digest import Digest
from minidock.oci.imageconfig import History
from minidock.paths import Paths
from minidock.store.store import Store
from tests.fixtures.oracle import Both, Oracle

# Go 1.x time.ParseDuration (each checked with Docker 20.10: `builder prune --filter until=TEXT`)
GO_DURATIONS = [("24h", 86400.0), ("1h30m", 5400.0), ("1.5h", 5400.0), ("-1h", -3600.0), ("+5m", 300.0),
                (".5s", 0.5), ("1.s", 1.0), ("0", 0.0), ("-0", 0.0), ("250ms", 0.25), ("2us", 2e-6), ("3ns", 3e-9)]
GO_REFUSALS = [("", 'time: invalid duration ""'), ("abc", 'time: invalid duration "abc"'),
               ("10", 'time: missing unit in duration "10"'), (".", 'time: invalid duration "."'),
               ("1h:", 'time: unknown unit "h:" in duration "1h:"'),
               ("2020-01-01", 'time: unknown unit "-" in duration "2020-01-01"'), ("1d", 'time: unknown unit "d" in '
                                                                                      'duration "1d"')]


@pytest.mark.parametrize(("text", "seconds"), GO_DURATIONS)
def test_go_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(("text", "said"), GO_REFUSALS)
def test_go_duration_refusals(text: str, said: str) -> None:
    with pytest.raises(DurationError) as e:
        parse_duration(text)
    assert str(e.value) == said


def test_filters_and_keep_storage_as_docker_reads_them() -> None:
    assert parse_filters([]) is None and parse_filters(["id=x", "parent=y2"]) is None
    assert parse_filters(["until=1h30m", "label=a"]) == 5400.0 and parse_filters(["unused-for=2s"]) == 2.0
    assert parse_keep_storage("1.5GB") == 3 << 29 and parse_keep_storage("10mb") == 10 << 20
    assert parse_keep_storage("0") == 0
    for bad in ("abc", "-1", "1x"):
        with pytest.raises(FlagError, match=f"invalid size: '{bad}'"):
            parse_keep_storage(bad)
    with pytest.raises(FlagError) as e:
        parse_filters(["bogus"])
    assert e.value.exit_code == 125
    for texts, said in ((["dangling=true"], "Invalid filter 'dangling'"),
                        (["until=1h", "until=2h"], "filters expect only one value"),
                        (["until=1h", "unused-for=2h"], 'conflicting filters: "until" and "unused-for"')):
        with pytest.raises(MinidockError, match=said) as e:
            parse_filters(texts)
        assert e.value.exit_code == 1


# ---- which entries go -------------------------------------------------------------------------

def _layer(store: Store, name: str, size: int) -> CacheEntry:
    blob = store.content.put(name.encode())
    diff_id = Digest.of_bytes(name.encode())
    tmp = store.snapshots.new_extract()
    (Path(tmp) / "f").write_bytes(b"x" * size)
    store.snapshots.commit_extract(tmp, diff_id, diff_id, None)
    return CacheEntry(History(created_by=f"RUN {name}"), Descriptor(mt.OCI_LAYER_GZIP, blob, len(name)), diff_id,
                      diff_id)


def _aged(store: Store, ages: dict[str, float]) -> None:
    """Back-date the entries: key -> seconds since it was recorded."""
    import time

    path = Path(store.paths.build_cache)
    data = json.loads(path.read_text())
    for key, age in ages.items():
        data["entries"][key][RECORDED] = time.time() - age
    path.write_text(json.dumps(data))


@pytest.fixture
def cache_store(store_root: Path) -> Iterator[Store]:
    store = Store.open(Paths(store_root))
    entries = {"old": _layer(store, "old", 4000), "mid": _layer(store, "mid", 3000), "new": _layer(store, "new", 2000),
               "meta": CacheEntry(History(created_by="ENV A=1", empty_layer=True))}
    BuildCache(store).put_many(entries)
    _aged(store, {"old": 3 * 3600, "mid": 2 * 3600, "new": 60, "meta": 3 * 3600})
    yield store


def _left(store: Store) -> set[str]:
    return set(json.loads(Path(store.paths.build_cache).read_text())["entries"])


def test_recording_keeps_the_first_time(cache_store: Store) -> None:
    path = Path(cache_store.paths.build_cache)
    raw = json.loads(path.read_text())["entries"]["old"]
    BuildCache(cache_store).put_many({"old": CacheEntry.from_json(raw)})  # a build that hit it again
    assert json.loads(path.read_text())["entries"]["old"][RECORDED] == raw[RECORDED]


def test_until_spares_what_is_younger(cache_store: Store) -> None:
    r = prune_build_cache(True, cache_store, until=parse_filters(["until=90m"]))
    assert r.entries == 3 and _left(cache_store) == {"new"}
    assert len(r.gc.snapshots) == 2 and r.reclaimed >= 7000


def test_keep_storage_removes_the_oldest_down_to_the_size_kept(cache_store: Store) -> None:
    r = prune_build_cache(True, cache_store, keep_storage=5500)  # 9000 bytes of layers: old (4000) goes
    assert _left(cache_store) == {"meta", "mid", "new"} and len(r.gc.snapshots) == 1
    r = prune_build_cache(True, cache_store, keep_storage=1 << 30)
    assert r.entries == 0 and _left(cache_store) == {"meta", "mid", "new"}
    prune_build_cache(True, cache_store, keep_storage=2000)  # oldest first: meta (no bytes), then mid
    assert _left(cache_store) == {"new"}


def test_an_entry_from_before_times_were_kept_counts_as_old(cache_store: Store) -> None:
    path = Path(cache_store.paths.build_cache)
    data = json.loads(path.read_text())
    del data["entries"]["new"][RECORDED]
    path.write_text(json.dumps(data))
    prune_build_cache(True, cache_store, until=3600 * 4)  # the others are younger than 4 h
    assert _left(cache_store) == {"old", "mid", "meta"}
    prune_build_cache(True, cache_store, until=60 * 30)
    assert _left(cache_store) == set()


# ---- Docker's words ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def both(oracle: Oracle, tmp_path_factory: pytest.TempPathFactory) -> Both:
    return Both(oracle, tmp_path_factory.mktemp("md-cacheprune") / "root")


@pytest.mark.root
@pytest.mark.parametrize("args", [("--filter", "bogus"), ("--filter", "bogus=1"), ("--filter", "until=abc"),
                                  ("--filter", "until=10"), ("--filter", "until=2020-01-01"),
                                  ("--filter", "until=1h", "--filter", "until=2h"),
                                  ("--filter", "until=1h", "--filter", "unused-for=1h"),
                                  ("--filter", "unused-for=x"), ("--keep-storage", "abc"), ("--keep-storage", "-1"),
                                  ("--filter", "reference=x")], ids=" ".join)
def test_refusals_are_dockers(both: Both, args: tuple[str, ...]) -> None:
    d, m = both.both("builder", "prune", "-f", *args)
    assert m.returncode == d.returncode, (d.stderr, m.stderr)
    want = d.stderr.removeprefix("Error response from daemon: ").replace("docker", "minidock")
    assert m.stderr.removeprefix("minidock: ") == want


@pytest.mark.root
@pytest.mark.parametrize("args", [("--filter", "until=10000h"), ("--keep-storage", "1000GB"),
                                  ("--filter", "unused-for=10000h", "-a")], ids=" ".join)
def test_accepted_as_docker(both: Both, args: tuple[str, ...]) -> None:
    """Only what prunes nothing under the session's dockerd (other tests' build cache is theirs: an id= or
    label= filter narrows nothing there, Docker then prunes all its dangling cache, so it is not run here)."""
    both.same("builder", "prune", "-f", *args)
