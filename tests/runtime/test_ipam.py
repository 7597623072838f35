"""IPAM: the pure address picker and the locked lease file, including concurrent allocation."""

from __future__ import annotations

import json
import multiprocessing
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

import pytest

from minidock.errors import ConflictError, UsageError
from minidock.runtime.net import ipam


def test_free_address_skips_network_gateway_and_used() -> None:
    net = IPv4Network("10.213.5.0/24")
    assert ipam.free_address(net, []) == IPv4Address("10.213.5.2")
    assert ipam.free_address(net, ["10.213.5.2", "10.213.5.3"]) == IPv4Address("10.213.5.4")
    assert ipam.gateway_of(net).with_prefixlen == "10.213.5.1/24"


def test_free_address_never_broadcast_and_full_subnet_conflicts() -> None:
    net = IPv4Network("10.213.5.0/30")  # .1 gateway, .2 the only container address, .3 broadcast
    assert ipam.free_address(net, []) == IPv4Address("10.213.5.2")
    with pytest.raises(ConflictError, match=r"subnet 10.213.5.0/30: no free address"):
        ipam.free_address(net, ["10.213.5.2"])


def test_parse_subnet_rejects_bad_text() -> None:
    with pytest.raises(UsageError, match=r"invalid subnet 10\.0\.0\.1/8"):
        ipam.parse_subnet("10.0.0.1/8")
    with pytest.raises(UsageError, match="only IPv4"):
        ipam.parse_subnet("fd00::/64")


def test_choose_subnet_avoids_host_routes() -> None:
    routes = [IPv4Network("10.200.0.0/16"), IPv4Network("10.201.3.0/24")]
    assert str(ipam.choose_subnet("10.200.0.0/16", routes)) == "10.202.0.0/16"
    assert str(ipam.choose_subnet("10.200.0.0/16", [IPv4Network("192.0.2.0/24")])) == "10.200.0.0/16"
    # an explicit choice stands; a fallback is never another engine's default (Docker 172.17, podman 10.88)
    assert str(ipam.choose_subnet("10.88.0.0/16", [])) == "10.88.0.0/16"
    assert str(ipam.choose_subnet("10.88.0.0/16", [IPv4Network("10.88.0.0/16")])) == "10.200.0.0/16"
    for fallback in ipam.FALLBACK_SUBNETS:
        assert not any(IPv4Network(fallback).overlaps(r) for r in ipam.RESERVED)
    assert not any(ipam.parse_subnet("10.200.0.0/16").overlaps(r) for r in ipam.RESERVED)  # the default
    with pytest.raises(ConflictError):
        ipam.choose_subnet("10.0.0.0/16", [IPv4Network("0.0.0.0/0")])


def test_allocate_release_and_file_format(tmp_path: Path) -> None:
    a = ipam.allocate(tmp_path, "bridge", "10.213.9.0/24", "aaa")
    b = ipam.allocate(tmp_path, "bridge", "10.213.9.0/24", "bbb")
    assert (str(a), str(b)) == ("10.213.9.2/24", "10.213.9.3/24")
    assert ipam.allocate(tmp_path, "bridge", "10.213.9.0/24", "aaa") == a  # idempotent
    raw = json.loads((tmp_path / "bridge" / "leases.json").read_text())
    assert raw == {"subnet": "10.213.9.0/24", "leases": {"aaa": "10.213.9.2", "bbb": "10.213.9.3"}}
    assert ipam.release(tmp_path, "bridge", "aaa") is True
    assert ipam.release(tmp_path, "bridge", "aaa") is False
    assert str(ipam.allocate(tmp_path, "bridge", "10.213.9.0/24", "ccc")) == "10.213.9.2/24"
    assert ipam.networks_with_leases(tmp_path) == ["bridge"]
    assert ipam.release_left(tmp_path, "bridge", "bbb") == 1  # "ccc" is left
    assert ipam.release_left(tmp_path, "bridge", "bbb") is None
    assert not list((tmp_path / "bridge").glob(".leases.json.*"))  # no temp files left


def test_reclaim_drops_leases_of_vanished_containers(tmp_path: Path) -> None:
    for cid in ("live", "dead1", "dead2"):
        ipam.allocate(tmp_path, "n1", "10.213.9.0/24", cid)
    gone = ipam.reclaim(tmp_path, "n1", lambda cid, _owner: cid == "live")
    assert sorted(gone) == ["dead1", "dead2"]
    assert list(ipam.leases(tmp_path, "n1")) == ["live"]


def test_bad_network_name(tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        ipam.allocate(tmp_path, "../x", "10.213.9.0/24", "c")


def _worker(state_dir: str, n: int, out: multiprocessing.Queue[list[str]]) -> None:
    got = [str(ipam.allocate(Path(state_dir), "conc", "10.213.10.0/24", f"p{n}-{i}").ip) for i in range(10)]
    out.put(got)


def test_concurrent_allocations_are_distinct(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    q: multiprocessing.Queue[list[str]] = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(str(tmp_path), n, q)) for n in range(6)]
    for p in procs:
        p.start()
    results = [ip for _ in procs for ip in q.get(timeout=30)]
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    assert len(results) == 60
    assert len(set(results)) == 60
    assert len(ipam.leases(tmp_path, "conc")) == 60
