"""The pure parts of networks as Docker 20.10 has them: `network ls --filter`, `network create`'s
checks and IPAM config, address pools (--ip-range, --gateway, --aux-address, --ip), the rules of
--internal / -o enable_ip_masquerade / enable_icc, and the store's record of it all. No root needed."""

from __future__ import annotations

from pathlib import Path

import pytest

from minidock.cli.network import docker_json, go_time, net_row
from minidock.engine.netfilter import NetworkFilter, in_use, natural_key
from minidock.errors import ConflictError, FlagError, MinidockError
from minidock.runtime.net import ipam, nat
from minidock.runtime.net.netconfig import NetworkConfig, NetworkSpec, NetworkStore
from minidock.runtime.net.netspec import check_driver, check_options, ipam_entry, single

NETS = [NetworkConfig("bridge", "b" * 64), NetworkConfig("web", "abc123" + "0" * 58, labels={"x": "1", "y": ""}),
        NetworkConfig("db", "def456" + "0" * 58, labels={"x": "2"}), NetworkConfig("host", "c" * 64, "host"),
        NetworkConfig("none", "d" * 64, "null")]


def _names(*filters: str) -> list[str]:
    f = NetworkFilter.parse(filters)
    return [n.name for n in NETS if f.matches(n)]


def test_ls_filters_combine_as_dockers() -> None:
    assert _names("driver=bridge") == ["bridge", "web", "db"]
    assert _names("driver=null") == ["none"]
    assert _names("label=x") == ["web", "db"] and _names("label=x=1") == ["web"] and _names("label=y=") == ["web"]
    assert _names("name=we", "name=^d") == ["web", "db"]  # one key: any value
    assert _names("name=d", "label=x") == ["db"]  # two keys: all of them (bridge has no label)
    assert _names("name=^b") == ["bridge"] and _names("name=W") == []
    assert _names("id=abc") == ["web"] and _names("id=ABC") == []
    assert _names("type=builtin") == ["bridge", "host", "none"] and _names("type=custom") == ["web", "db"]
    assert _names("scope=local") == [n.name for n in NETS] and _names("scope=swarm") == []
    # Docker 20.10 runs its filters over a list without containers: dangling=true is every custom network
    assert _names("dangling=true") == _names("dangling=1") == ["web", "db"]
    assert _names("dangling=false") == ["bridge", "host", "none"]


@pytest.mark.parametrize(("text", "message", "code"), [
    ("bad", "bad format of filter (expected name=value)", 125),
    ("foo=bar", "Error response from daemon: Invalid filter 'foo'", 1),
    ("type=foo", "Error response from daemon: invalid filter: 'type'='foo'", 1),
    ("dangling=maybe", "Error response from daemon: invalid value for filter 'dangling'", 1),
    ("label!=x", "Error response from daemon: Invalid filter 'label!'", 1)])
def test_ls_filter_errors(text: str, message: str, code: int) -> None:
    with pytest.raises(MinidockError) as e:
        NetworkFilter.parse([text])
    assert message in str(e.value) and e.value.exit_code == code and e.value.bare
    assert isinstance(e.value, FlagError) == (code == 125)


def test_in_use_and_natural_order() -> None:
    records = [{"status": "running", "host_config": {"NetworkMode": "web", "ExtraNetworks": ["db"]}},
               {"status": "exited", "host_config": {"NetworkMode": "other"}},
               {"status": "paused", "host_config": {}}]
    assert in_use(records) == {"web", "db", "bridge"}
    assert sorted(["net10", "net9", "Net1", "bridge", "a-b"], key=natural_key) == ["Net1", "a-b", "bridge", "net9",
                                                                                  "net10"]


@pytest.mark.parametrize(("spec", "message"), [
    (NetworkSpec(gateway="10.6.0.1"), "every ip-range or gateway must have a corresponding subnet"),
    (NetworkSpec(ip_range="10.6.0.0/24"), "every ip-range or gateway must have a corresponding subnet"),
    (NetworkSpec(aux={"a": "10.6.0.3"}), "no matching subnet for aux-address 10.6.0.3"),
    (NetworkSpec("10.5.0.0/16", gateway="10.6.0.1"), "no matching subnet for gateway 10.6.0.1"),
    (NetworkSpec("10.5.0.0/16", ip_range="10.6.0.0/24"), "no matching subnet for range 10.6.0.0/24"),
    (NetworkSpec("10.5.0.0/16", aux={"10.5.0.3": ""}), "no matching subnet for aux-address "),
    (NetworkSpec("bad"), "Error response from daemon: Invalid subnet bad : invalid CIDR address: bad"),
    (NetworkSpec("10.5.0.0/16", gateway="10.5.0.0/24"),
     "Error response from daemon: invalid gateway address 10.5.0.0/24 in Ipam configuration"),
    (NetworkSpec("10.5.0.0/16", ip_range="10.5.0.5"), 'subpool "10.5.0.5": Invalid Address SubPool'),
    (NetworkSpec("10.5.0.0/16", aux={"a": "10.5.0.1"}),
     "failed to allocate secondary ip address (a:10.5.0.1): Address already in use"),
    (NetworkSpec("fd00::/64"), "minidock supports IPv4 networks only")])
def test_ipam_errors(spec: NetworkSpec, message: str) -> None:
    with pytest.raises(MinidockError) as e:
        ipam_entry(spec)
    assert str(e.value) == message or (message in str(e.value) and str(e.value).startswith("Error response"))
    assert (e.value.exit_code, e.value.bare) == (1, True)


def test_ipam_entry_keeps_what_was_given() -> None:
    assert ipam_entry(NetworkSpec()) == {}
    assert ipam_entry(NetworkSpec("10.5.0.1/16")) == {"Subnet": "10.5.0.1/16"}  # host bits: Docker keeps the text
    assert ipam_entry(NetworkSpec("10.5.0.0/16", "10.5.1.1", "10.5.1.0/24", {"a": "10.5.0.3"})) == {
        "Subnet": "10.5.0.0/16", "IPRange": "10.5.1.0/24", "Gateway": "10.5.1.1",
        "AuxiliaryAddresses": {"a": "10.5.0.3"}}
    assert single(["10.5.0.0/16"], ["10.5.0.9"], []) == ("10.5.0.0/16", "10.5.0.9", "")
    with pytest.raises(MinidockError, match="every ip-range or gateway"):
        single([], ["10.5.0.9"], [])


@pytest.mark.parametrize(("driver", "ipam_driver", "ipv6", "message"), [
    ("host", "default", False, 'only one instance of "host" network is allowed'),
    ("null", "default", False, 'only one instance of "null" network is allowed'),
    ("none", "default", False, 'plugin "none" not found'), ("weave", "default", False, 'plugin "weave" not found'),
    ("bridge", "foo", False, 'plugin "foo" not found'), ("overlay", "default", False, "not a swarm manager"),
    ("bridge", "default", True, "non-overlapping IPv6 address pool")])
def test_driver_errors(driver: str, ipam_driver: str, ipv6: bool, message: str) -> None:
    with pytest.raises(MinidockError, match="^Error response from daemon: .*" + message.replace("(", ".")):
        check_driver(driver, ipam_driver, ipv6)


def test_option_errors() -> None:
    check_options({"com.docker.network.driver.mtu": "1400", "com.docker.network.bridge.enable_icc": "False"}, [])
    with pytest.raises(MinidockError, match=r'mtu value: abc \(strconv.Atoi: parsing "abc": invalid syntax\)$'):
        check_options({"com.docker.network.driver.mtu": "abc"}, [])
    with pytest.raises(MinidockError, match=r'strconv.ParseBool: parsing "yes": invalid syntax\)$'):
        check_options({"com.docker.network.bridge.enable_ip_masquerade": "yes"}, [])
    with pytest.raises(ConflictError, match="bridge name br0 already in use"):
        check_options({"com.docker.network.bridge.name": "br0"}, ["br0"])
    with pytest.raises(MinidockError, match="invalid bridge name"):
        check_options({"com.docker.network.bridge.name": "a-name-longer-than-15"}, [])


def test_store_records_the_options(tmp_path: Path) -> None:
    store = NetworkStore(tmp_path)
    spec = NetworkSpec("10.219.0.0/16", "10.219.1.1", "10.219.1.0/24", {"a": "10.219.0.3"}, {"k": "v"},
                       {"com.docker.network.bridge.name": "mdtestbr0", "com.docker.network.driver.mtu": "1400",
                        "com.docker.network.bridge.enable_icc": "false"}, internal=True, attachable=True)
    cfg = store.create("opts", spec, [])
    again = store.get("opts")
    assert again == cfg and (cfg.bridge, cfg.gateway, cfg.ip_range) == ("mdtestbr0", "10.219.1.1", "10.219.1.0/24")
    assert cfg.policy == ("internal", "no-icc", "mtu=1400")
    doc = docker_json(cfg)
    assert doc["IPAM"] == {"Driver": "default", "Options": {}, "Config": [
        {"Subnet": "10.219.0.0/16", "IPRange": "10.219.1.0/24", "Gateway": "10.219.1.1",
         "AuxiliaryAddresses": {"a": "10.219.0.3"}}]}
    assert (doc["Internal"], doc["Attachable"], doc["Labels"]) == (True, True, {"k": "v"})
    plain = store.create("plain", None, [])
    assert docker_json(plain)["Options"] == {} and docker_json(plain)["IPAM"]["Config"][0]["Gateway"]
    assert "labels" not in plain.to_json()  # older readers see the same file
    row = net_row(cfg)
    assert (row["Labels"], row["Internal"], row["Label"]("k")) == ("k=v", "true", "v")
    assert go_time("2026-01-02T03:04:05.120000000Z") == "2026-01-02 03:04:05.12 +0000 UTC"
    assert go_time("2026-01-02T03:04:05Z") == "2026-01-02 03:04:05 +0000 UTC"


def test_pool_allocation() -> None:
    net, prefix = ipam.subnet_ints("10.9.0.0/24")
    pool = ipam.Pool("10.9.0.0/24", "10.9.0.200", "10.9.0.128/25", ("10.9.0.128",))
    assert ipam.int_to_ip(ipam.free_host(net, prefix, [], pool)) == "10.9.0.129"
    assert ipam.int_to_ip(ipam.free_host(net, prefix, ["10.9.0.129"], pool)) == "10.9.0.130"
    assert ipam.int_to_ip(ipam.free_host(net, prefix, [], ipam.Pool("10.9.0.0/24", "10.9.0.9"))) == "10.9.0.1"
    full = ipam.Pool("10.9.0.0/24", ip_range="10.9.0.252/30")
    with pytest.raises(ConflictError):
        ipam.free_host(net, prefix, ["10.9.0.252", "10.9.0.253", "10.9.0.254"], full)


def test_static_address_lease(tmp_path: Path) -> None:
    pool = ipam.Pool("10.9.0.0/24", static="10.9.0.50")
    assert ipam.allocate(tmp_path, "n", pool, "c1") == "10.9.0.50/24"
    assert ipam.allocate(tmp_path, "n", pool, "c1") == "10.9.0.50/24"  # the same container again
    with pytest.raises(ConflictError, match="Address already in use"):
        ipam.allocate(tmp_path, "n", pool, "c2")
    with pytest.raises(ConflictError, match="Address already in use"):
        ipam.allocate(tmp_path, "n", ipam.Pool("10.9.0.0/24", static="10.9.0.1"), "c3")  # the gateway
    assert ipam.allocate(tmp_path, "n", "10.9.0.0/24", "c4") == "10.9.0.2/24"


def test_policy_rules() -> None:
    def lines(policy: tuple[str, ...]) -> list[str]:
        rules = nat.network_rules("br", "10.9.0.0/24", policy)
        return [f"{r.table} {r.chain} {r.args.split(' -m comment')[0]}" for r in rules]

    normal = lines(())
    assert "nat MINIDOCK-POSTROUTING -s 10.9.0.0/24 ! -o br -j MASQUERADE" in normal
    internal = lines(("internal",))
    assert not any("-s 10.9.0.0/24 ! -o br -j MASQUERADE" in x for x in internal)
    assert "filter MINIDOCK-ISOLATION-STAGE-1 -i br ! -d 10.9.0.0/24 -j DROP" in internal
    assert "filter MINIDOCK-ISOLATION-STAGE-1 ! -s 10.9.0.0/24 -o br -j DROP" in internal
    assert not any("MASQUERADE" in x and "10.9.0.0/24" in x for x in lines(("no-masquerade",)))
    icc = lines(("no-icc",))
    drop, accept = "filter MINIDOCK-FORWARD -i br -o br -j DROP", "filter MINIDOCK-FORWARD -i br -j ACCEPT"
    assert icc.index(drop) < icc.index(accept)
