"""`network create` options, `--ip`/`--network-alias`/`--mac-address`, `network connect --ip --alias`
and `network prune` / `system prune` end to end, probed from inside containers (Docker 20.10's
behaviour, checked by hand against dockerd 20.10.24: see tests/cli/test_network_oracle.py for the
listings and words).

Every network is made through the `session` fixture (removed, with its bridge, even when a test
fails); only minidock's own addresses and the `outside` netns of test_network_isolation are contacted.
"""

from __future__ import annotations

import json
import secrets
import subprocess

import pytest

from tests.engine.test_network_e2e import Session, session  # noqa: F401 - the fixture is used by name
from tests.engine.test_network_isolation import _pings, outside  # noqa: F401 - the fixture is used by name
from tests.fixtures.cli import md, ok

pytestmark = pytest.mark.root


def _net(session: Session, *flags: str) -> str:  # noqa: F811
    name = f"optnet-{secrets.token_hex(4)}"
    session.networks.append(name)
    ok("network", "create", *flags, name)
    return name


def _sh(net: str, script: str, *flags: str) -> str:
    return ok("run", "--rm", "--network", net, *flags, "busybox", "sh", "-c", script)


def _inspect(name: str, template: str) -> str:
    return ok("inspect", "-f", template, name).strip()


def test_internal_network_reaches_its_own_but_not_the_outside(session: Session, outside: str) -> None:  # noqa: F811
    internal, normal = _net(session, "--internal"), _net(session)
    session.names.append("in1")
    ok("run", "-d", "--name", "in1", "--network", internal, "busybox", "sleep", "120")
    assert _pings(internal, session.ip("in1"), outside) == ["ok", "no"]
    assert _pings(normal, outside) == ["ok"]  # the same host does route a normal network out
    bridge = json.loads(ok("network", "inspect", internal))[0]
    assert bridge["Internal"] is True
    rules = subprocess.run(["iptables-save", "-t", "nat"], capture_output=True, text=True, check=True).stdout
    subnet = bridge["IPAM"]["Config"][0]["Subnet"]
    assert f"-s {subnet} ! -o" not in rules  # no masquerade for an internal network


def test_gateway_ip_range_aux_address_and_mtu(session: Session) -> None:  # noqa: F811
    third = secrets.randbelow(200) + 20
    net = _net(session, "--subnet", f"10.215.{third}.0/24", "--ip-range", f"10.215.{third}.128/25",
               "--gateway", f"10.215.{third}.200", "--aux-address", f"x=10.215.{third}.128",
               "-o", "com.docker.network.driver.mtu=1400", "--label", "k=v")
    out = _sh(net, "ip route; ip addr show eth0")
    assert f"default via 10.215.{third}.200 dev eth0" in out
    assert f"inet 10.215.{third}.129/24" in out  # the range's first address is an aux address
    assert "mtu 1400" in out
    doc = json.loads(ok("network", "inspect", net))[0]
    assert doc["IPAM"]["Config"] == [{"Subnet": f"10.215.{third}.0/24", "IPRange": f"10.215.{third}.128/25",
                                      "Gateway": f"10.215.{third}.200",
                                      "AuxiliaryAddresses": {"x": f"10.215.{third}.128"}}]
    assert doc["Labels"] == {"k": "v"} and doc["Options"] == {"com.docker.network.driver.mtu": "1400"}


def test_static_ip_aliases_and_mac(session: Session) -> None:  # noqa: F811
    third = secrets.randbelow(200) + 20
    net, plain = _net(session, "--subnet", f"10.216.{third}.0/24"), _net(session)
    session.names += ["st1"]
    ok("run", "-d", "--name", "st1", "--network", net, "--ip", f"10.216.{third}.50", "--network-alias", "web",
       "--network-alias", "www", "--mac-address", "02:42:0a:d8:00:99", "busybox", "sleep", "120")
    assert _sh(net, "ping -c1 -W1 web >/dev/null && ping -c1 -W1 www >/dev/null && echo ok").strip() == "ok"
    assert "02:42:0a:d8:00:99" in ok("exec", "st1", "ip", "link", "show", "eth0")
    cid = _inspect("st1", "{{.Id}}")
    assert json.loads(_inspect("st1", "{{json .NetworkSettings.Networks}}"))[net] | {"NetworkID": ""} == {
        "IPAMConfig": {"IPv4Address": f"10.216.{third}.50"}, "Links": None, "Aliases": ["web", "www", cid[:12]],
        "NetworkID": "", "EndpointID": "", "Gateway": f"10.216.{third}.1", "IPAddress": f"10.216.{third}.50",
        "IPPrefixLen": 24, "IPv6Gateway": "", "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0,
        "MacAddress": "02:42:0a:d8:00:99", "DriverOpts": None}
    assert _inspect("st1", "{{.Config.MacAddress}}") == "02:42:0a:d8:00:99"
    for flags, code, words in (
            (("--network", net, "--ip", f"10.216.{third}.50"), 125, "Address already in use"),
            (("--network", net, "--ip", f"10.217.{third}.5"), 125, "It does not belong to any of this network's"),
            (("--network", plain, "--ip", "10.1.1.1"), 125, "only when connecting to networks with user configured"),
            (("--ip", "10.1.1.1"), 125, "supported on user defined networks only"),
            (("--network-alias", "x"), 125, "network-scoped aliases are only supported for user-defined networks"),
            (("--mac-address", "bad"), 125, "bad is not a valid mac address")):
        r = md("run", "--rm", *flags, "busybox", "true")
        assert (r.returncode, words in r.stderr) == (code, True), (flags, r.stderr)
    r = md("create", "--network", net, "--ip", f"10.216.{third}.50", "busybox")
    assert (r.returncode, "Address already in use" in r.stderr) == (1, True)


def test_connect_with_ip_and_alias(session: Session) -> None:  # noqa: F811
    third = secrets.randbelow(200) + 20
    first, second = _net(session), _net(session, "--subnet", f"10.218.{third}.0/24")
    session.names.append("cn1")
    ok("run", "-d", "--name", "cn1", "--network", first, "busybox", "sleep", "120")
    ok("network", "connect", "--ip", f"10.218.{third}.60", "--alias", "ca", "--alias", "cb", second, "cn1")
    assert f"inet 10.218.{third}.60/24" in ok("exec", "cn1", "ip", "addr", "show", "eth1")
    assert _sh(second, "ping -c1 -W1 cb >/dev/null && echo ok").strip() == "ok"
    end = json.loads(_inspect("cn1", "{{json .NetworkSettings.Networks}}"))[second]
    assert (end["IPAMConfig"], end["Aliases"][:2]) == ({"IPv4Address": f"10.218.{third}.60"}, ["ca", "cb"])
    r = md("network", "connect", "--ip", "10.1.1.1", first, "cn1")
    assert r.returncode == 1 and "endpoint with name cn1 already exists" in r.stderr
    ok("network", "disconnect", second, "cn1")
    assert second not in _inspect("cn1", "{{json .NetworkSettings.Networks}}")
    assert "ExtraEndpoints" not in _inspect("cn1", "{{json .HostConfig}}")


def test_prune_keeps_networks_of_running_containers(session: Session) -> None:  # noqa: F811
    used, stopped, idle = _net(session, "--label", "p=1"), _net(session, "--label", "p=1"), _net(session)
    session.names += ["pr1", "pr2"]
    ok("run", "-d", "--name", "pr1", "--network", used, "busybox", "sleep", "120")
    ok("run", "--name", "pr2", "--network", stopped, "busybox", "true")
    r = md("network", "prune", "-f", "--filter", "label=p=1")
    assert r.stdout == f"Deleted Networks:\n{stopped}\n\n"  # Docker 20.10: a stopped container holds no endpoint
    assert "Deleted Networks:\n" + idle + "\n" in ok("system", "prune", "-f")
    names = ok("network", "ls", "--format", "{{.Name}}").split()
    assert used in names and stopped not in names and idle not in names
    assert {"bridge", "host", "none"} <= set(names)
