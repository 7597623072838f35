"""IPAM: the pure address picker and the locked lease file, including concurrent allocation."""

from __future__ import annotations

import json
import multiprocessing
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

import pytest

from minidock.errors import ConflictError, StoreError, UsageError
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
    reserved = [IPv4Network(r) for r in ipam.RESERVED]
    for fallback in ipam.FALLBACK_SUBNETS:
        assert not any(IPv4Network(fallback).overlaps(r) for r in reserved)
    assert not any(ipam.parse_subnet("10.200.0.0/16").overlaps(r) for r in reserved)  # the default
    with pytest.raises(ConflictError):
        ipam.choose_subnet("10.0.0.0/16", [IPv4Network("0.0.0.0/0")])


def test_allocate_release_and_file_format(tmp_path: Path) -> None:
    a = ipam.allocate(tmp_path, "bridge", "10.213.9.0/24", "aaa")
    b = ipam.allocate(tmp_path, "bridge", "10.213.9.0/24", "bbb")
    assert (a, b) == ("10.213.9.2/24", "10.213.9.3/24")
    assert ipam.allocate(tmp_path, "bridge", "10.213.9.0/24", "aaa") == a  # idempotent
    raw = json.loads((tmp_path / "bridge" / "leases.json").read_text())
    assert raw == {"subnet": "10.213.9.0/24", "leases": {"aaa": "10.213.9.2", "bbb": "10.213.9.3"}}
    assert ipam.release(tmp_path, "bridge", "aaa") is True
    assert ipam.release(tmp_path, "bridge", "aaa") is False
    assert ipam.allocate(str(tmp_path), "bridge", "10.213.9.0/24", "ccc") == "10.213.9.2/24"
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
    got = [ipam.allocate(state_dir, "conc", "10.213.10.0/24", f"p{n}-{i}").partition("/")[0] for i in range(10)]
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


# ---- the `run` path's ints and text agree with ipaddress ---------------------------------------

GOOD_SUBNETS = ("10.200.0.0/16", "0.0.0.0/0", "192.168.255.252/30", "10.0.0.0/255.255.0.0", "10.0.0.0/08")
BAD_SUBNETS = ("10.0.0.1/8", "10.0.0.0/31", "10.0.0.0/32", "10.0.0.0", "010.0.0.0/8", "10.0.0/8", "10.0.0.0/33",
               "fd00::/64", " 10.0.0.0/8", "10.0.0.0/8 ", "10.0.0.0/", "10.0.0.0/x", "", "10.0.0.0/１６",
               "0x0a.0.0.0/8")


@pytest.mark.parametrize("text", GOOD_SUBNETS)
def test_subnet_ints_are_parse_subnets(text: str) -> None:
    net = ipam.parse_subnet(text)
    assert ipam.subnet_ints(text) == (int(net.network_address), net.prefixlen)
    assert ipam.gateway_for(text) == (str(ipam.gateway_of(net).ip), net.prefixlen)


@pytest.mark.parametrize("text", BAD_SUBNETS)
def test_subnet_ints_refuse_what_parse_subnet_refuses_with_its_words(text: str) -> None:
    with pytest.raises(UsageError) as want:
        ipam.parse_subnet(text)
    with pytest.raises(UsageError) as got:
        ipam.subnet_ints(text)
    assert str(got.value) == str(want.value)


@pytest.mark.parametrize("text", ["1.2.3", "01.2.3.4", "1.2.3.4 ", "0x1.2.3.4", "256.1.1.1", "1.2.3.4\0", "1.2.3.-4",
                                  "", "١.2.3.4", "1.2.3.4.5"])
def test_ip_to_int_refuses_what_ipv4address_refuses(text: str) -> None:
    with pytest.raises(ValueError) as want:
        IPv4Address(text)
    with pytest.raises(ValueError) as got:
        ipam.ip_to_int(text)
    assert str(got.value) == str(want.value)


def test_ip_text_round_trip() -> None:
    for text in ("0.0.0.0", "10.200.0.1", "255.255.255.255", "192.168.1.10"):
        assert ipam.ip_to_int(text) == int(IPv4Address(text))
        assert ipam.int_to_ip(ipam.ip_to_int(text)) == text


@pytest.mark.parametrize("text", ["10.213.5.0/24", "10.213.5.0/30", "10.213.5.0/31", "10.213.5.7/32"])
def test_free_host_is_free_address(text: str) -> None:
    net = IPv4Network(text)
    hosts = [str(h) for h in net.hosts()]
    for used in ([], hosts[:1], hosts[1:2], hosts[:-1]):
        try:
            want: int | str = int(ipam.free_address(net, used))
        except ConflictError as e:
            want = str(e)
        try:
            got: int | str = ipam.free_host(int(net.network_address), net.prefixlen, used)
        except ConflictError as e:
            got = str(e)
        assert got == want


def test_a_damaged_lease_file_is_an_error_not_an_address(tmp_path: Path) -> None:
    (tmp_path / "n").mkdir()
    (tmp_path / "n" / "leases.json").write_text('{"subnet": "10.213.9.0/24", "leases": {"a": "10.213.9.300"}}')
    with pytest.raises(ValueError, match=r"10\.213\.9\.300"):
        ipam.allocate(tmp_path, "n", "10.213.9.0/24", "a")  # its own lease: checked, not echoed
    with pytest.raises(ValueError, match=r"10\.213\.9\.300"):
        ipam.allocate(tmp_path, "n", "10.213.9.0/24", "b")
    with pytest.raises(UsageError, match=r"invalid subnet 10\.213\.9\.1/24"):
        ipam.allocate(tmp_path, "n", "10.213.9.1/24", "b")
    (tmp_path / "n" / "leases.json").write_text("{not json")
    with pytest.raises(StoreError, match=r"state file .*leases\.json: Expecting property name"):
        ipam.allocate(tmp_path, "n", "10.213.9.0/24", "b")


def test_state_files_are_what_json_dumps_writes(tmp_path: Path) -> None:
    ipam.allocate(tmp_path, "n", "10.213.9.0/24", "aaa", owner="/var/lib/störe")
    ipam.allocate(tmp_path, "n", "10.213.9.0/24", "bbb")
    want = {"subnet": "10.213.9.0/24", "leases": {"aaa": "10.213.9.2", "bbb": "10.213.9.3"},
            "owners": {"aaa": "/var/lib/störe"}}
    assert (tmp_path / "n" / "leases.json").read_bytes() == (json.dumps(want, indent=2, sort_keys=True) + "\n").encode()
    obj = {"z": [1, 2.5, None, True, {}], "a": {"é": "\u2603", "k": []}}
    ipam.atomic_write_json(str(tmp_path / "x.json"), obj, durable=True)
    assert (tmp_path / "x.json").read_bytes() == (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode()
    assert ipam.read_json(tmp_path / "x.json", None) == obj and ipam.read_json(tmp_path / "nope", 7) == 7


def test_networks_with_leases_lists_directories_holding_a_lease_file(tmp_path: Path) -> None:
    for d in ("a", "b", ".hidden"):
        (tmp_path / d).mkdir()
    (tmp_path / "a" / "leases.json").write_text("{}")
    (tmp_path / ".hidden" / "leases.json").write_text("{}")
    (tmp_path / "file").write_text("")
    assert ipam.networks_with_leases(tmp_path) == [".hidden", "a"]  # as Path.glob("*/leases.json") had it
    assert ipam.networks_with_leases(tmp_path / "missing") == []
    assert ipam.networks_with_leases(tmp_path / "file") == []
