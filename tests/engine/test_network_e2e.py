"""Networking end to end through the real CLI: published ports, `port`, user networks by name,
none/host/container: modes, concurrent starts, and that `rm -f` leaves no veth, rule or lease.

Only loopback and the container addresses minidock made are ever contacted.
"""

from __future__ import annotations

import json
import secrets
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from minidock.runtime.net import ipam
from tests.fixtures.cli import md, ok
from tests.fixtures.registry import free_port

pytestmark = pytest.mark.root
HTTPD = "mkdir -p /www; echo hello-$(hostname) > /www/index.html; exec httpd -f -p 80 -h /www"


class Session:
    """Containers and networks a test made; `close()` removes them all (rm -f, network rm)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.names: list[str] = []
        self.networks: list[str] = []

    def web(self, name: str, *flags: str, image: str = "busybox") -> str:
        """A detached busybox httpd serving `hello-<hostname>` on port 80; its id."""
        self.names.append(name)
        cid = ok("run", "-d", "--name", name, *flags, image, "sh", "-c", HTTPD).strip()
        return cid

    def network(self) -> str:
        name = f"testnet-{secrets.token_hex(4)}"
        ok("network", "create", name)
        self.networks.append(name)
        return name

    def record(self, name: str) -> dict[str, object]:
        for cdir in (self.root / "containers").iterdir():
            state = json.loads((cdir / "state.json").read_text())
            if state["name"] == name:
                return dict(state)
        raise AssertionError(f"no container {name}")

    def ip(self, name: str) -> str:
        net = self.record(name)["network"]
        assert isinstance(net, dict)
        return str(net["ip"])

    def close(self) -> None:
        if self.names:
            md("rm", "-f", *self.names)
        for n in self.networks:
            md("network", "rm", n)


@pytest.fixture
def session(busybox_store: Callable[[], Path]) -> Iterator[Session]:
    s = Session(busybox_store())
    try:
        yield s
    finally:
        s.close()


def get(url: str, timeout: float = 5.0) -> str:
    """GET `url`, retrying until the server inside the container listens."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            r = requests.get(url, timeout=2)
            r.raise_for_status()
            return r.text
        except requests.RequestException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def test_published_port_on_loopback_and_container_ip(session: Session) -> None:
    port = free_port()
    cid = session.web("web", "-p", f"127.0.0.1:{port}:80")
    body = get(f"http://127.0.0.1:{port}/")
    assert body == f"hello-{cid[:12]}\n"
    assert get(f"http://{session.ip('web')}/") == body
    dnat = [ln for ln in _nat_rules().splitlines() if f"minidock:{cid}" in ln and "-j DNAT" in ln]
    assert len(dnat) == 1 and "-d 127.0.0.1/32" in dnat[0] and f"--dport {port} " in dnat[0]  # kernel, not proxy
    assert Path("/proc/sys/net/ipv4/conf/minidock0/route_localnet").read_text().strip() == "1"
    assert ok("port", "web") == f"80/tcp -> 127.0.0.1:{port}\n"
    assert ok("port", "web", "80/tcp") == f"127.0.0.1:{port}\n"
    r = md("port", "web", "81")
    assert r.returncode != 0 and "no public port '81/tcp' published for web" in r.stderr
    ok("stop", "-t", "1", "web")
    assert ok("port", "web") == ""
    assert f"minidock:{cid}" not in _nat_rules()
    ok("start", "web")  # a new monitor wires the network again: same host port, proxy back
    assert get(f"http://127.0.0.1:{port}/") == body


def test_random_host_port_and_publish_all(session: Session, tmp_path: Path) -> None:
    session.web("rnd", "-p", "80")
    line = ok("port", "rnd")
    assert line.startswith("80/tcp -> 0.0.0.0:")
    port = int(line.rsplit(":", 1)[1])
    assert port > 1024 and get(f"http://127.0.0.1:{port}/").startswith("hello-")
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM busybox\nEXPOSE 80 9000/tcp\n")
    ok("build", "-q", "-t", "exposer", str(ctx))
    session.web("all", "-P", image="exposer")
    lines = ok("port", "all").splitlines()
    assert [ln.split(" -> ")[0] for ln in lines] == ["80/tcp", "9000/tcp"]
    ports = [int(ln.rsplit(":", 1)[1]) for ln in lines]
    assert len(set(ports)) == 2 and port not in ports
    assert get(f"http://127.0.0.1:{ports[0]}/").startswith("hello-")


def test_taken_port_fails_before_the_container_exists(session: Session) -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen(1)
        port = held.getsockname()[1]
        r = md("run", "-d", "--name", "clash", "-p", f"127.0.0.1:{port}:80", "busybox", "sleep", "30")
    assert r.returncode == 125
    assert f"port 127.0.0.1:{port}/tcp is already allocated" in r.stderr
    assert ok("ps", "-a", "-q") == ""
    assert list((session.root / "containers").iterdir()) == []


def _links() -> set[str]:
    out = subprocess.run(["ip", "-o", "link"], check=True, capture_output=True, text=True).stdout
    return {ln.split(": ")[1].split("@")[0] for ln in out.splitlines()}


def test_user_network_reaches_peers_by_name_and_is_removed(session: Session) -> None:
    net = session.network()
    bridge = "mdk-" + json.loads(ok("network", "inspect", net))[0]["Id"][:11]  # Docker shows no bridge name here
    web = session.web("web", "--network", net)
    session.names.append("client")
    ok("run", "-d", "--name", "client", "--network", net, "busybox", "sleep", "60")
    assert ok("exec", "client", "wget", "-qO-", "http://web/") == f"hello-{web[:12]}\n"
    assert f"{session.ip('client')}\tclient" in ok("exec", "web", "cat", "/etc/hosts")
    r = md("run", "--rm", "--network", net, "busybox", "wget", "-qO-", "http://web/")
    assert r.returncode == 0 and r.stdout == f"hello-{web[:12]}\n", r.stderr
    assert bridge in _links()
    client_ip = session.ip("client")
    ok("rm", "-f", "client")
    assert client_ip not in ok("exec", "web", "cat", "/etc/hosts")  # the peer forgets a removed container
    assert "active endpoints" in md("network", "rm", net).stderr
    ok("rm", "-f", "web")
    leases = Path(ipam.HOST_DIR, bridge, "leases.json")
    data = json.loads(leases.read_text())
    stale = {"leases": {"0" * 64: "10.0.0.9"}, "owners": {"0" * 64: str(session.root)}}
    leases.write_text(json.dumps({**data, **stale}))  # a crashed container's lease
    ok("network", "remove", net)  # Docker's alias of `network rm`
    session.networks.remove(net)
    assert bridge not in _links()
    assert not Path(ipam.HOST_DIR, bridge).exists()


def test_none_host_and_container_modes(session: Session) -> None:
    links = ok("run", "--rm", "--network", "none", "busybox", "ip", "-o", "link").splitlines()
    assert len(links) == 1 and ": lo: <LOOPBACK,UP" in links[0]
    host_links = _links()
    inside = ok("run", "--rm", "--network", "host", "busybox", "ip", "-o", "link")
    seen = {ln.split(": ")[1].split("@")[0] for ln in inside.splitlines()}
    assert len(seen & host_links) >= 2 and "lo" in seen
    cid = session.web("owner")
    ip = session.ip("owner")
    out = ok("run", "--rm", "--network", "container:owner", "busybox", "sh", "-c",
             "ip -o -4 addr show eth0; wget -qO- http://127.0.0.1/")
    assert f"inet {ip}/" in out and out.endswith(f"hello-{cid[:12]}\n")
    r = md("run", "--rm", "--network", "container:nosuch", "busybox", "true")
    assert r.returncode != 0 and "nosuch" in r.stderr


def test_add_host_and_dns(session: Session) -> None:
    out = ok("run", "--rm", "--add-host", "db.local:10.9.8.7", "--dns", "10.0.0.53", "--hostname", "probe",
             "busybox", "cat", "/etc/hosts", "/etc/resolv.conf", "/etc/hostname")
    assert "10.9.8.7\tdb.local" in out
    assert "nameserver 10.0.0.53" in out
    assert "probe" in out.splitlines()[-1]
    assert any(ln.endswith("probe") and not ln.startswith("127.") for ln in out.splitlines())
    assert _own_leases(session.root) == {}  # a foreground run --rm releases its address at exit


def _own_leases(root: Path, bridge: str = "minidock0") -> dict[str, str]:
    """The leases this store holds on `bridge` (the file is host-wide: other stores' are there too)."""
    owned = ipam.owned(ipam.HOST_DIR, bridge)
    return {cid: ip for cid, (ip, owner) in owned.items() if owner == str(root)}


def _nat_rules() -> str:
    return subprocess.run(["iptables-save", "-t", "nat"], check=True, capture_output=True, text=True).stdout


def test_concurrent_starts_get_distinct_addresses_and_rm_leaves_nothing(session: Session) -> None:
    names = [f"par{i}" for i in range(5)]
    session.names += names
    with ThreadPoolExecutor(5) as pool:
        ids = list(pool.map(lambda n: ok("run", "-d", "--name", n, "-p", "80", "busybox", "sh", "-c", HTTPD).strip(),
                            names))
    ips = [session.ip(n) for n in names]
    assert len(set(ips)) == 5
    for n, cid in zip(names, ids, strict=True):
        port = int(ok("port", n, "80").rsplit(":", 1)[1])
        assert get(f"http://127.0.0.1:{port}/") == f"hello-{cid[:12]}\n"
    rules = _nat_rules()
    assert all(f"minidock:{cid}" in rules for cid in ids)
    assert set(_own_leases(session.root)) == set(ids)
    ok("rm", "-f", *names)
    session.names.clear()
    links = _links()
    assert not any(f"vmd{cid[:12]}" in links for cid in ids)
    rules = _nat_rules()
    assert not any(f"minidock:{cid}" in rules for cid in ids)
    assert _own_leases(session.root) == {}
    gateway = json.loads(ok("network", "inspect", "bridge"))[0]["IPAM"]["Config"][0]["Gateway"]
    addrs = subprocess.run(["ip", "-o", "-4", "addr", "show", "dev", "minidock0"], check=True,
                           capture_output=True, text=True).stdout
    assert f"inet {gateway}/" in addrs  # the bridge keeps its gateway (other stores' containers use it)
