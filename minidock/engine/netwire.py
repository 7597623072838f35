"""A container's network, wired at the right moments of its life.

Lifecycle: `plan()` (before anything is written: resolves --network, parses and checks -p, so a
taken port fails before the container exists) -> `write_files()` (hosts, resolv.conf, hostname in
containers/<id>/, bind-mounted into the container) -> `NetSession.on_namespaces(pid)` (the runtime's
hook, in the supervising process: veth + address + NAT rules + loopback proxies, or just `lo` up)
-> `NetSession.close()` when the container ends (proxies stop) -> `release()` (veth, lease, rules;
idempotent, also run by `rm`).
"""

from __future__ import annotations

import os

from minidock.engine.request import RunRequest
from minidock.errors import ConflictError, UsageError
from minidock.nouns import NamedTuple
from minidock.oci.runtimespec import Mount
from minidock.paths import Paths
from minidock.runtime.net import netfiles
from minidock.store.containers import ContainerStore
from minidock.store.ctrrecord import ContainerRecord

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from minidock.runtime.net.portmap import PortMapping

__all__ = ["NetPlan", "NetSession", "PortMapping", "plan", "published", "release", "session_for", "write_files"]


def __getattr__(name: str) -> object:
    """`PortMapping`, re-exported for the CLI (which may not import the runtime), loads on first use:
    a run without -p never needs runtime/net/portmap.py."""
    if name == "PortMapping":
        from minidock.runtime.net.portmap import PortMapping

        return PortMapping
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
FILES = (("hosts", "/etc/hosts"), ("resolv.conf", "/etc/resolv.conf"), ("hostname", "/etc/hostname"))
# --dns and --dns-search as Docker's client checks them, for the CLI (which may not import the runtime)
check_dns_server, check_dns_search = netfiles.check_dns_server, netfiles.check_dns_search


class NetPlan(NamedTuple):
    """What --network/-p/-P resolved to. `spec_network` feeds runtimespec.namespaces_for."""

    kind: str  # bridge | none | host | container
    spec_network: str
    network: str = ""
    bridge: str = ""
    subnet: str = ""
    ports: tuple[PortMapping, ...] = ()
    state_dir: str = "."  # "." (pathlib's empty path, as older records have it): none
    add_hosts: tuple[str, ...] = ()
    ip: str = ""  # --ip
    aliases: tuple[str, ...] = ()  # --network-alias
    mac: str = ""  # --mac-address

    def to_json(self) -> dict[str, Any]:
        out = {"kind": self.kind, "spec_network": self.spec_network, "network": self.network,
               "bridge": self.bridge, "subnet": self.subnet, "ports": [p.to_json() for p in self.ports],
               "state_dir": self.state_dir, "add_hosts": list(self.add_hosts)}
        extra = {"ip": self.ip, "aliases": list(self.aliases), "mac": self.mac}
        return {**out, **{k: v for k, v in extra.items() if v}}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> NetPlan:
        return cls(str(d["kind"]), str(d["spec_network"]), str(d.get("network", "")), str(d.get("bridge", "")),
                   str(d.get("subnet", "")), _ports(d.get("ports") or []),
                   str(d.get("state_dir") or "."), tuple(d.get("add_hosts") or ()), str(d.get("ip", "")),
                   tuple(d.get("aliases") or ()), str(d.get("mac", "")))


def _ports(items: list[dict[str, Any]]) -> tuple[PortMapping, ...]:
    """Recorded published ports (portmap loads only when there are some: `run` without -p never needs it)."""
    if not items:
        return ()
    from minidock.runtime.net.portmap import PortMapping

    return tuple(PortMapping.from_json(p) for p in items)


def _container_netns(paths: Paths, name: str) -> str:
    rec = ContainerStore(paths).get(name)
    if rec.status != "running" or not rec.pid:
        raise ConflictError(f"cannot join network of container {name}: it is not running")
    return f"/proc/{rec.pid}/ns/net"


def plan(req: RunRequest, paths: Paths, exposed: tuple[str, ...]) -> NetPlan:
    """Resolve the network flags; published ports are checked free now (Docker's early error)."""
    value = req.network or "bridge"
    if req.ip and (value in ("none", "host", "bridge", "default") or value.startswith("container:")):
        raise ConflictError("user specified IP address is supported on user defined networks only")
    if value in ("none", "host"):
        if req.publish or req.publish_all:
            raise UsageError(f"published ports need a bridge network, not --network {value}")
        return NetPlan(value, value, add_hosts=req.add_hosts, mac=req.mac_address)
    if value.startswith("container:"):
        return NetPlan("container", _container_netns(paths, value.partition(":")[2]), add_hosts=req.add_hosts)
    from minidock.engine import networks
    from minidock.runtime.net import portmap

    mode = networks.lookup(value, paths)  # the bridge itself is wired at attach (nothing to undo here)
    if mode.network is None:
        raise UsageError(f"network {value}: cannot be joined by containers")
    mappings: list[PortMapping] = [m for p in req.publish for m in portmap.parse_publish(p)]
    if req.publish_all:
        mappings = portmap.publish_all(exposed, mappings)
    ports = tuple(portmap.check_ports(mappings)) if mappings else ()
    cfg = mode.network
    if req.ip:
        networks.check_static(cfg, req.ip)
    return NetPlan("bridge", "bridge", cfg.name, cfg.bridge, cfg.subnet, ports, paths.networks, req.add_hosts,
                   req.ip, req.network_aliases if cfg.name != "bridge" else (), req.mac_address)


def write_files(cdir: str, hostname: str, req: RunRequest, net: NetPlan) -> tuple[Mount, ...]:
    """containers/<id>/{hosts,resolv.conf,hostname} and the bind mounts that put them in /etc."""
    extra = tuple(netfiles.parse_add_host(h) for h in req.add_hosts)
    dns = netfiles.DnsOptions(tuple(req.dns), tuple(req.dns_search), tuple(req.dns_options))
    texts = {"hosts": netfiles.hosts_file(hostname, None, (), extra),
             "resolv.conf": netfiles.container_resolv(netfiles.host_resolv(), dns, net.kind == "host"),
             "hostname": netfiles.hostname_file(hostname)}
    if net.kind == "host":
        with open("/etc/hosts") as f:
            texts["hosts"] = f.read() + "".join(f"{h.ip}\t{h.name}\n" for h in extra)
    for name, text in texts.items():
        with open(f"{cdir}/{name}", "w") as f:
            f.write(text)
    mode = ("ro",) if req.read_only else ()  # why: Docker: --read-only covers these files too
    return tuple(Mount(dst, "bind", f"{cdir}/{name}", ("rbind", "rprivate", *mode)) for name, dst in FILES)


def _rewrite_in_place(path: str, text: str) -> None:
    """Bind-mounted files must keep their inode: truncate and write, never rename over them."""
    with open(path, "r+") as f:
        f.seek(0)
        f.write(text)
        f.truncate()


class NetSession:
    """The network side of one running container, held by the process that supervises it."""

    __slots__ = ("attachment", "container_id", "hostname", "name", "net", "paths", "proxies")

    def __init__(self, net: NetPlan, paths: Paths, container_id: str, name: str, hostname: str) -> None:
        self.net, self.paths, self.container_id, self.name, self.hostname = net, paths, container_id, name, hostname
        self.attachment: dict[str, Any] = {}
        self.proxies: list[Any] = []

    def on_namespaces(self, pid: int) -> None:
        """The runtime hook: the child's netns exists and nothing runs in it yet.

        `none` needs nothing here: the runtime brings `lo` up in every network namespace it makes."""
        if self.net.kind != "bridge":
            return
        from minidock.engine import networks
        from minidock.runtime.net import hostbridge, ipam, network

        bridge = self.net.bridge
        cfg = networks.user_config(self.paths, self.net.network)  # --gateway, --ip-range, -o ...: None for bridge
        with hostbridge.wire_lock(bridge):  # why: host-wide: other stores wire and unwire this bridge too
            subnet = networks.wire(bridge, self.net.subnet, default=self.net.network == "bridge", cfg=cfg)
            req = network.NetworkAttachRequest(self.net.network, bridge, subnet, self.container_id, ipam.HOST_DIR,
                                               lease_key=bridge, owner=os.path.abspath(self.paths.root),
                                               mtu=networks.mtu_of(cfg), pool=networks.pool_of(cfg, self.net.ip),
                                               mac=self.net.mac)
            att = network.attach(pid, req)
            self._hosts(att.ip)  # why (under the lock): peers' hosts files change one container at a time
        if subnet != self.net.subnet:  # the bridge carries another store's choice: show what is real
            networks.adopt(self.paths, self.net.network, subnet)
        self.attachment = {**att.to_json(), "ports": [p.to_json() for p in self.net.ports]}
        record = ContainerStore(self.paths).get(self.container_id)
        if record.host_config.get("ExtraNetworks"):  # `network connect`ed ones: eth1...
            from minidock.engine.netconnect import attach_extras

            self.attachment["extra"] = attach_extras(self.paths, self.container_id, pid)
        if self.net.ports:
            self._publish(att.ip)
        ContainerStore(self.paths).update(self.container_id, network=self.attachment)

    def _publish(self, ip: str) -> None:
        from minidock.runtime.net import nat, proxy

        nat.add_port_rules(self.container_id, self.net.bridge, ip, self.net.ports)
        self.proxies = [proxy.start_proxy(m, ip) for m in self.net.ports]

    def _hosts(self, ip: str) -> None:
        """Own address, and on user networks every peer by name (both ways), like Docker's DNS."""
        extra = tuple(netfiles.parse_add_host(h) for h in self.net.add_hosts)
        peers = _peers(self.paths, self.net.bridge, self.container_id) if self.net.network != "bridge" else []
        extra += tuple(netfiles.ExtraHost(n, pip) for n, pip, _ in peers)
        cdir = self.paths.container(self.container_id)
        _rewrite_in_place(f"{cdir}/hosts", netfiles.hosts_file(self.hostname, ip, (self.name,), extra))
        own = " ".join((self.name, *self.net.aliases))  # why: --network-alias names resolve like the name
        for _name, _pip, pdir in peers:
            with open(f"{pdir}/hosts", "a") as f:
                f.write(f"{ip}\t{own}\n")

    def close(self) -> None:
        """Stop the loopback proxies (the container has ended)."""
        for p in self.proxies:
            p.close()
        self.proxies = []


def _peers(paths: Paths, bridge: str, container_id: str) -> list[tuple[str, str, str]]:
    """(name, address, state dir) of the other containers with a lease on `bridge`."""
    from minidock.runtime.net import ipam

    store = ContainerStore(paths)
    out = []
    for cid, ip in ipam.leases(ipam.HOST_DIR, bridge).items():
        if cid == container_id or not os.path.exists(f"{paths.container(cid)}/hosts"):
            continue
        try:
            rec = store.get(cid)
        except Exception:  # noqa: BLE001 - a peer being removed right now
            continue
        out.append((" ".join((rec.name, *aliases_on(rec, bridge))), ip.split("/")[0], paths.container(cid)))
    return out


def aliases_on(rec: ContainerRecord, bridge: str) -> tuple[str, ...]:
    """The --network-alias / `network connect --alias` names of `rec` on the network of `bridge`."""
    plan = rec.host_config.get("NetworkPlan") or {}
    if plan.get("bridge") == bridge:
        return tuple(plan.get("aliases") or ())
    ends = rec.host_config.get("ExtraEndpoints") or {}
    return next((tuple(e.get("aliases") or ()) for e in ends.values() if e.get("bridge") == bridge), ())


def add_peer_names(paths: Paths, container_id: str, name: str, bridge: str, ip: str) -> None:
    """A container joining `bridge` late (`network connect`): its name into the peers' hosts files,
    theirs into its own (appended: bind-mounted files keep their inode)."""
    peers = _peers(paths, bridge, container_id)
    for _name, _pip, pdir in peers:
        with open(f"{pdir}/hosts", "a") as f:
            f.write(f"{ip}\t{name}\n")
    with open(f"{paths.container(container_id)}/hosts", "a") as f:
        f.write("".join(f"{pip}\t{pname}\n" for pname, pip, _ in peers))


def session_for(paths: Paths, record: ContainerRecord) -> NetSession:
    """The network session of a stored container (its plan was kept in host_config at create)."""
    raw = record.host_config.get("NetworkPlan") or {"kind": "none", "spec_network": "none"}
    with open(f"{paths.container(record.id)}/hostname") as f:
        hostname = f.read().strip() or record.id[:12]
    return NetSession(NetPlan.from_json(raw), paths, record.id, record.name, hostname)


def release(paths: Paths, container_id: str, attachment: Mapping[str, Any]) -> None:
    """Undo a container's network: veth, lease, NAT rules. Idempotent; a no-op for none/host.

    The bridge keeps its gateway address (other stores' containers may use it; see hostbridge).
    No iptables run unless the container published ports.
    """
    if not attachment:
        return
    from minidock.runtime.net import ipam, network

    _release_extras(paths, container_id, attachment)
    name = str(attachment.get("network", ""))
    bridge = str(attachment.get("bridge") or network.DEFAULT_BRIDGE)
    if bridge != network.DEFAULT_BRIDGE and not os.path.isdir(f"{ipam.HOST_DIR}/{bridge}"):
        # its network was removed (prune takes a stopped container's network, as Docker's does): no
        # lease is left, and taking the bridge's locks would only make its directory again
        network.delete_veth(str(attachment.get("host_veth") or network.host_veth_name(container_id)))
    else:
        _release_on(paths, container_id, attachment, bridge, name)
    if attachment.get("ports"):
        from minidock.runtime.net import nat

        nat.remove_rules(container_id)


def _release_on(paths: Paths, container_id: str, attachment: Mapping[str, Any], bridge: str, name: str) -> None:
    from minidock.runtime.net import hostbridge, ipam, network

    with hostbridge.wire_lock(bridge):
        network.delete_veth(str(attachment.get("host_veth") or network.host_veth_name(container_id)))
        if ipam.release_left(ipam.HOST_DIR, bridge, container_id) is None:
            network.detach(container_id, paths.networks)  # a lease an older minidock kept in the store
        if name and name != "bridge":
            forget_in_peers(paths, bridge, str(attachment.get("ip", "")))


def _release_extras(paths: Paths, container_id: str, attachment: Mapping[str, Any]) -> None:
    """The connected networks' veths and leases: those this process wired and those `network
    connect` added to the record while the container ran."""
    extra = {str(a.get("host_veth")): a for a in attachment.get("extra") or ()}
    rec = ContainerStore(paths).find(container_id)
    if rec is not None:
        extra.update({str(a.get("host_veth")): a for a in rec.network.get("extra") or ()})
    if extra:
        from minidock.engine.netconnect import release_extras

        release_extras(paths, container_id, {"extra": list(extra.values())})


def forget_in_peers(paths: Paths, bridge: str, ip: str) -> None:
    """A removed container's line leaves the hosts files of the peers still on its network."""
    from minidock.runtime.net import ipam

    for cid in ipam.leases(ipam.HOST_DIR, bridge):
        hosts = f"{paths.container(cid)}/hosts"
        try:
            with open(hosts) as f:
                lines = f.read().splitlines(keepends=True)
            kept = [ln for ln in lines if not ln.startswith(f"{ip}\t")]
            if ip and kept != lines:
                _rewrite_in_place(hosts, "".join(kept))
        except OSError:
            continue  # a peer being removed right now


def published(ref: str, paths: Paths | None = None) -> tuple[str, list[PortMapping]]:
    """`port NAME`: the container's name and its published ports (none unless it is running)."""
    record = ContainerStore(paths or Paths.from_env()).get(ref)
    raw = record.host_config.get("NetworkPlan")
    if record.status not in ("running", "paused", "restarting") or not raw:
        return record.name, []
    return record.name, list(NetPlan.from_json(raw).ports)
