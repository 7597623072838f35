"""Bridge + veth attach/detach in network namespaces the tests create (`unshare --net sleep`).

Traffic goes only to addresses these tests create (the container's on a test bridge) and loopback.
"""

from __future__ import annotations

import ipaddress
import json
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pyroute2 import IPRoute

from minidock.runtime.net import network, portmap
from minidock.runtime.net.netlink import Netlink, mac_for
from minidock.runtime.net.network import Attachment, NetworkAttachRequest
from minidock.runtime.net.proxy import start_proxy

pytestmark = pytest.mark.root

SERVER = """
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1]))); s.listen()
print("ready", flush=True)
while True:
    c, a = s.accept()
    c.sendall(("hello " + a[0]).encode()); c.close()
"""


@dataclass
class Bridged:
    bridge: str
    subnet: str
    gateway: str
    state_dir: Path


def _netns_child() -> subprocess.Popen[bytes]:
    child = subprocess.Popen(["unshare", "--net", "sleep", "60"])
    own = os.readlink("/proc/self/ns/net")
    for _ in range(200):
        try:
            if os.readlink(f"/proc/{child.pid}/ns/net") != own:
                return child
        except FileNotFoundError:
            pass
        time.sleep(0.01)
    child.kill()
    raise AssertionError("unshare --net child did not get a network namespace")


@pytest.fixture
def netns() -> Iterator[int]:
    """The pid of a process in a fresh network namespace; killed (by pid) afterwards."""
    child = _netns_child()
    try:
        yield child.pid
    finally:
        child.kill()
        child.wait()


@pytest.fixture
def testnet(tmp_path: Path) -> Iterator[Bridged]:
    """A uniquely named bridge on a random 10.213.x.0/24 subnet; deleted afterwards."""
    third = secrets.randbelow(250) + 1
    net = Bridged(f"mdt{secrets.token_hex(4)}", f"10.213.{third}.0/24", f"10.213.{third}.1", tmp_path / "networks")
    try:
        network.ensure_bridge(net.bridge, f"{net.gateway}/24", mtu=None)
        yield net
    finally:
        network.remove_bridge(net.bridge)


def _in_ns(pid: int, *argv: str) -> str:
    return subprocess.run(["nsenter", f"--net=/proc/{pid}/ns/net", *argv], capture_output=True, text=True,
                          check=True).stdout


def _request(net: Bridged, cid: str) -> NetworkAttachRequest:
    return NetworkAttachRequest("mdtest", net.bridge, net.subnet, cid, net.state_dir)


def test_ensure_bridge_is_idempotent_and_has_gateway(testnet: Bridged) -> None:
    first = network.ensure_bridge(testnet.bridge, f"{testnet.gateway}/24")
    assert network.ensure_bridge(testnet.bridge, f"{testnet.gateway}/24") == first
    with IPRoute() as ipr:
        (link,) = ipr.get_links(first)
        assert link.get("ifname") == testnet.bridge
        assert link.get("operstate") in ("UP", "UNKNOWN", "DOWN")  # no ports yet: carrier may be down
        assert link["flags"] & 1  # IFF_UP
        addrs = [a.get("IFA_ADDRESS") for a in ipr.get_addr(index=first)]
        assert testnet.gateway in addrs
        assert link.get("mtu") == network.default_mtu()


def test_attach_configures_eth0_route_and_host_can_connect(testnet: Bridged, netns: int) -> None:
    cid = secrets.token_hex(32)
    att = network.attach(netns, _request(testnet, cid))
    try:
        assert att.ip.startswith(testnet.subnet.rsplit(".", 1)[0]) and att.ip != testnet.gateway
        assert (att.prefixlen, att.gateway, att.pid) == (24, testnet.gateway, netns)
        assert att.mac == mac_for(ipaddress.ip_address(att.ip))
        addr = json.loads(_in_ns(netns, "ip", "-j", "addr", "show", "eth0"))[0]
        assert addr["operstate"] == "UP" and addr["address"] == att.mac
        assert {"local": att.ip, "prefixlen": 24} in [{k: a[k] for k in ("local", "prefixlen")}
                                                      for a in addr["addr_info"] if a["family"] == "inet"]
        assert addr["mtu"] == network.default_mtu()
        routes = json.loads(_in_ns(netns, "ip", "-j", "route", "show", "default"))
        assert routes[0]["gateway"] == testnet.gateway and routes[0]["dev"] == "eth0"
        assert "UP" in json.loads(_in_ns(netns, "ip", "-j", "link", "show", "lo"))[0]["flags"]
        assert network.bridge_ports(testnet.bridge) == [att.host_veth]
        assert Attachment.from_json(json.loads(json.dumps(att.to_json()))) == att
        _assert_tcp_from_host(netns, att.ip)
    finally:
        network.detach(att, testnet.state_dir)
    with IPRoute() as ipr:
        assert ipr.link_lookup(ifname=att.host_veth) == []
    assert json.loads(_in_ns(netns, "ip", "-j", "link", "show"))[0]["ifname"] == "lo"  # eth0 died with the peer
    assert (testnet.state_dir / "mdtest" / "leases.json").exists()
    assert json.loads((testnet.state_dir / "mdtest" / "leases.json").read_text())["leases"] == {}


def _start_server(netns: int, port: int) -> subprocess.Popen[str]:
    srv = subprocess.Popen(["nsenter", f"--net=/proc/{netns}/ns/net", sys.executable, "-c", SERVER, str(port)],
                           stdout=subprocess.PIPE, text=True)
    assert srv.stdout is not None and srv.stdout.readline().strip() == "ready"
    return srv


def _assert_tcp_from_host(netns: int, ip: str) -> None:
    srv = _start_server(netns, 8080)
    try:
        with socket.create_connection((ip, 8080), timeout=5) as c:
            assert c.recv(100).decode().startswith("hello ")
    finally:
        srv.kill()
        srv.wait()


def test_published_port_via_loopback_proxy(testnet: Bridged, netns: int) -> None:
    cid = secrets.token_hex(32)
    att = network.attach(netns, _request(testnet, cid))
    srv = _start_server(netns, 9090)
    proxy = None
    try:
        (m,) = portmap.check_ports(portmap.parse_publish("127.0.0.1::9090"))
        proxy = start_proxy(m, att.ip)
        with socket.create_connection(("127.0.0.1", m.host_port), timeout=5) as c:
            assert c.recv(100).decode() == f"hello {testnet.gateway}"  # the proxy connects from the bridge
    finally:
        if proxy:
            proxy.close()
        srv.kill()
        srv.wait()
        network.detach(cid, testnet.state_dir)  # detach by id: finds veth and lease itself
    with IPRoute() as ipr:
        assert ipr.link_lookup(ifname=att.host_veth) == []


def test_two_containers_get_distinct_addresses_and_detach_twice_is_safe(testnet: Bridged) -> None:
    a, b = _netns_child(), _netns_child()
    ids = [secrets.token_hex(32) for _ in range(2)]
    atts: list[Attachment] = []
    try:
        atts = [network.attach(p.pid, _request(testnet, cid)) for p, cid in zip((a, b), ids, strict=True)]
        assert atts[0].ip != atts[1].ip
        assert sorted(network.bridge_ports(testnet.bridge)) == sorted(x.host_veth for x in atts)
    finally:
        for x in atts:
            assert network.detach(x, testnet.state_dir) == ["mdtest"]
            assert network.detach(x, testnet.state_dir) == []
        for p in (a, b):
            p.kill()
            p.wait()
    assert network.bridge_ports(testnet.bridge) == []


def test_failed_attach_leaves_no_lease_or_veth(testnet: Bridged, netns: int) -> None:
    cid = secrets.token_hex(32)
    req = NetworkAttachRequest("mdtest", f"mdtnone{secrets.token_hex(2)}", testnet.subnet, cid, testnet.state_dir)
    with pytest.raises(network.RuntimeSetupError, match="does not exist"):
        network.attach(netns, req)
    with IPRoute() as ipr:
        assert ipr.link_lookup(ifname=network.host_veth_name(cid)) == []
    assert json.loads((testnet.state_dir / "mdtest" / "leases.json").read_text())["leases"] == {}


def test_loopback_up_for_network_none(netns: int) -> None:
    assert "UP" not in json.loads(_in_ns(netns, "ip", "-j", "link", "show", "lo"))[0]["flags"]
    network.loopback_up(netns)
    assert "UP" in json.loads(_in_ns(netns, "ip", "-j", "link", "show", "lo"))[0]["flags"]
    with Netlink.in_netns(netns) as nl:
        assert [lk.name for lk in nl.links()] == ["lo"]


def test_remove_bridge_absent_is_false() -> None:
    assert network.remove_bridge(f"mdt{secrets.token_hex(4)}") is False
