"""Two stores on one host share `minidock0`: distinct addresses, one gateway nobody takes away, a fixed MAC.

Store A's container pings the gateway the whole time store B starts and removes its containers
(B's last one included): no packet may be lost, the gateway address stays on the bridge and the
bridge's MAC (so A's ARP entry for the gateway) never changes.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from minidock.runtime.net import hostbridge, ipam, network
from tests.fixtures.cli import MD

pytestmark = pytest.mark.root


class Store:
    """`minidock` bound to one store root (MINIDOCK_ROOT in the child's environment only)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.env = {**os.environ, "MINIDOCK_ROOT": str(root)}
        self.ids: list[str] = []

    def run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*MD, *args], capture_output=True, text=True, env=self.env, timeout=timeout, check=False)

    def ok(self, *args: str, timeout: float = 60) -> str:
        r = self.run(*args, timeout=timeout)
        assert r.returncode == 0, f"minidock {' '.join(args)} ({self.root}): {r.stderr}"
        return r.stdout

    def start(self) -> str:
        cid = self.ok("run", "-d", "busybox", "sleep", "300").strip()
        self.ids.append(cid)
        return cid

    def attachment(self, cid: str) -> dict[str, object]:
        state = json.loads((self.root / "containers" / cid / "state.json").read_text())
        net = state["network"]
        assert isinstance(net, dict)
        return net

    def close(self) -> None:
        if self.ids:
            self.run("rm", "-f", *self.ids)


@pytest.fixture
def two_stores(busybox_store: Callable[[], Path]) -> Iterator[tuple[Store, Store]]:
    a, b = Store(busybox_store()), Store(busybox_store())
    try:
        yield a, b
    finally:
        a.close()
        b.close()


def _subnet(s: Store, network: str) -> str:
    return str(json.loads(s.ok("network", "inspect", network))[0]["IPAM"]["Config"][0]["Subnet"])


def _bridge(s: Store, network: str) -> str:
    """The bridge: named in Options for `bridge` and `-o com.docker.network.bridge.name` (as in Docker),
    else mdk-<first 11 hex of the id>."""
    doc = json.loads(s.ok("network", "inspect", network))[0]
    return str(doc["Options"].get("com.docker.network.bridge.name") or f"mdk-{doc['Id'][:11]}")


def _bridge_mac() -> str:
    out = subprocess.run(["ip", "-o", "link", "show", "minidock0"], check=True, capture_output=True, text=True).stdout
    return out.split("link/ether ")[1].split()[0]


def _bridge_addrs() -> str:
    return subprocess.run(["ip", "-o", "-4", "addr", "show", "dev", "minidock0"], check=True,
                          capture_output=True, text=True).stdout


def test_two_stores_share_the_bridge_safely(two_stores: tuple[Store, Store]) -> None:
    a, b = two_stores
    b.ok("network", "ls")  # B's default network is recorded while A has no container (the reported clash)
    ca, cb = a.start(), b.start()
    na, nb = a.attachment(ca), b.attachment(cb)
    assert na["ip"] != nb["ip"] and na["gateway"] == nb["gateway"] and na["prefixlen"] == nb["prefixlen"]
    gateway = str(na["gateway"])
    subnet, _ = hostbridge.recorded("minidock0")
    assert ipam.gateway_of(ipam.parse_subnet(subnet)).ip.compressed == gateway
    # both stores show the subnet the bridge really carries
    assert json.loads(a.ok("network", "inspect", "bridge"))[0]["IPAM"]["Config"][0]["Subnet"] == subnet
    assert json.loads(b.ok("network", "inspect", "bridge"))[0]["IPAM"]["Config"][0]["Subnet"] == subnet
    owners = ipam.owned(ipam.HOST_DIR, "minidock0")
    assert owners[ca] == (na["ip"], str(a.root)) and owners[cb] == (nb["ip"], str(b.root))
    mac = _bridge_mac()
    assert mac == network.bridge_mac(gateway)  # fixed: 02:42 + the gateway's bytes
    ping = subprocess.Popen([*MD, "exec", ca, "ping", "-c", "30", "-i", "0.1", "-W", "1", gateway], env=a.env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        b.ok("rm", "-f", cb)  # B's last container: the gateway must stay
        b.ids.clear()
        for _ in range(2):
            c = b.start()
            assert b.attachment(c)["ip"] != na["ip"]
            b.ok("rm", "-f", c)
            b.ids.clear()
            assert _bridge_mac() == mac
        out, err = ping.communicate(timeout=30)
    finally:
        if ping.poll() is None:
            ping.kill()
    assert ping.returncode == 0 and " 0% packet loss" in out, out + err
    assert f"inet {gateway}/" in _bridge_addrs()
    neigh = a.ok("exec", ca, "ip", "neigh", "show", gateway)
    assert f"lladdr {mac}" in neigh  # A's ARP entry for the gateway is the bridge's fixed MAC
    assert ca in ipam.leases(ipam.HOST_DIR, "minidock0") and cb not in ipam.leases(ipam.HOST_DIR, "minidock0")


def test_user_networks_of_two_stores_get_distinct_subnets(two_stores: tuple[Store, Store]) -> None:
    a, b = two_stores
    name = f"hw{os.getpid()}"
    try:
        a.ok("network", "create", name)
        b.ok("network", "create", name)  # neither bridge exists yet: no route tells them apart
        sa, sb = _subnet(a, name), _subnet(b, name)
        assert not ipam.parse_subnet(sa).overlaps(ipam.parse_subnet(sb))
        ba, bb = _bridge(a, name), _bridge(b, name)
        assert hostbridge.recorded(ba)[0] == sa and hostbridge.recorded(bb)[0] == sb
        r = b.run("network", "create", "--subnet", sa, f"{name}x")
        assert r.returncode != 0 and "overlaps" in r.stderr
    finally:
        a.run("network", "rm", name)
        b.run("network", "rm", name)
    assert not Path(ipam.HOST_DIR, ba).exists() and not Path(ipam.HOST_DIR, bb).exists()


def test_a_lease_of_a_store_that_is_gone_is_taken_back(two_stores: tuple[Store, Store], tmp_path: Path) -> None:
    a, _ = two_stores
    gone = str(tmp_path / "deleted-store")
    subnet, _ = hostbridge.recorded("minidock0")
    if not subnet:
        a.start()
        subnet, _ = hostbridge.recorded("minidock0")
    cid = os.urandom(32).hex()
    ip = ipam.allocate(ipam.HOST_DIR, "minidock0", subnet, cid, owner=gone)
    a.ok("container", "prune", "-f")  # any command of any store that opens its records
    assert cid not in ipam.leases(ipam.HOST_DIR, "minidock0")
    own = os.urandom(32).hex()  # this store's lease for a container it does not have: check names it
    ip = ipam.allocate(ipam.HOST_DIR, "minidock0", subnet, own, owner=str(a.root)).partition("/")[0]
    r = a.run("system", "check")
    assert f"address lease {ip} on minidock0: container {own[:12]} no longer exists" in r.stdout + r.stderr
    a.ok("container", "prune", "-f")
    assert own not in ipam.leases(ipam.HOST_DIR, "minidock0")
    assert a.run("system", "check").returncode == 0
