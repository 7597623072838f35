"""Container networking: the bridge, a veth per container, its address, route and lease.

Modes (`--network`), and what the engine does for each:
- `bridge` (default) / a user network: `ensure_bridge` once, then `attach(pid, request)` from the
  process model's `on_namespaces(pid)` hook (after the child unshared CLONE_NEWNET, before execve);
  `detach` when the container is removed or its monitor sees it exit; `remove_bridge` when the
  network's last lease is gone. Ports: portmap.check_ports before start, nat + proxy after attach.
- `none`: the child still unshares its netns; the hook calls `loopback_up(pid)` only.
- `host`: no net namespace in the spec (drop the `network` Namespace); nothing to do here.
- `container:NAME`: put `Namespace("network", "/proc/<pid of NAME>/ns/net")` in the spec so the
  child setns()es into it; nothing to do here (the owner of that namespace holds the address).

Layering: only minidock.errors/oci; leases live under the `state_dir` the engine passes
(`<store root>/networks/`).
"""

from __future__ import annotations

import errno

from minidock.errors import RuntimeSetupError
from minidock.nouns import NamedTuple
from minidock.runtime.net import ipam
from minidock.runtime.net.netlink import Netlink, VethSpec, mac_attr, mac_for

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ipaddress import IPv4Address, IPv4Network
    from typing import Any

    from _typeshed import StrPath

DEFAULT_BRIDGE = "minidock0"
DEFAULT_NETWORK = "bridge"
HOST_VETH_PREFIX = "vmd"
DEFAULT_MTU = 1500


class NetworkAttachRequest(NamedTuple):
    """What `attach` needs: which network/bridge/subnet, which container, where leases live.

    Leases are in `state_dir/<lease_key or network>/leases.json`; the engine keys them by bridge in
    the host-wide ipam.HOST_DIR, with `owner` (its store root) recorded on each."""

    network: str
    bridge: str
    subnet: str
    container_id: str
    state_dir: StrPath
    mtu: int | None = None
    lease_key: str = ""
    owner: str = ""
    ifname: str = "eth0"  # the interface inside: eth0 for the first network, eth1... for `network connect`
    host_veth: str = ""  # default: host_veth_name(container_id)
    pool: ipam.Pool | None = None  # a user network's gateway, --ip-range, --aux-address, and a static --ip
    mac: str = ""  # --mac-address (default: mac_for(the address))


class Attachment(NamedTuple):
    """A container's place on a network (stored by the engine in the container's state)."""

    network: str
    ip: str
    prefixlen: int
    gateway: str
    mac: str
    host_veth: str
    pid: int
    bridge: str = DEFAULT_BRIDGE
    container_id: str = ""

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Attachment:
        return cls(str(d["network"]), str(d["ip"]), int(d["prefixlen"]), str(d["gateway"]), str(d["mac"]),
                   str(d["host_veth"]), int(d.get("pid", 0)), str(d.get("bridge", DEFAULT_BRIDGE)),
                   str(d.get("container_id", "")))

    def to_json(self) -> dict[str, Any]:
        return {"network": self.network, "ip": self.ip, "prefixlen": self.prefixlen, "gateway": self.gateway,
                "mac": self.mac, "host_veth": self.host_veth, "pid": self.pid, "bridge": self.bridge,
                "container_id": self.container_id}


def host_veth_name(container_id: str) -> str:
    """`vmd` + the first 12 characters of the id: 15 characters, the kernel's IFNAMSIZ limit."""
    return HOST_VETH_PREFIX + container_id[:12]


def _fail(what: str, e: OSError) -> RuntimeSetupError:
    return RuntimeSetupError(f"network: {what}: {e.strerror or e}", stage="network")


def default_mtu(nl: Netlink | None = None) -> int:
    """The MTU of the host's default-route interface (1500 when there is no default route)."""
    own = nl is None
    nl = nl or Netlink()
    try:
        oifs = nl.default_oifs()
        mtus = {lk.index: lk.mtu for lk in nl.links()}
        return mtus.get(oifs[0], DEFAULT_MTU) if oifs else DEFAULT_MTU
    finally:
        if own:
            nl.close()


def host_networks() -> list[IPv4Network]:
    """Destinations of the host's routes (not the default): subnets a new network must not overlap."""
    with Netlink() as nl:
        return [r.dst for r in nl.routes() if r.dst.prefixlen > 0]


def bridge_mac(gateway: IPv4Address | str) -> str:
    """The bridge's fixed hardware address: 02:42 + its gateway's four bytes (never a container's)."""
    return mac_for(gateway)


def ensure_bridge(name: str = DEFAULT_BRIDGE, gateway_cidr: str = "10.200.0.1/16", mtu: int | None = None) -> int:
    """Create bridge `name` with the gateway address and a fixed MAC and bring it up; idempotent.

    Returns its index. Without a MAC of its own a bridge takes its lowest port's and changes it as
    ports come and go, which leaves containers' ARP entries for the gateway stale."""
    ip, _, prefix = gateway_cidr.partition("/")
    mac = bridge_mac(ip)
    with Netlink() as nl:
        try:
            link = nl.link(name)
            if link is None:
                try:
                    nl.add_bridge(name, mtu or default_mtu(nl), mac)
                except OSError as e:
                    if e.errno != errno.EEXIST:  # a concurrent run created it first
                        raise
                link = nl.link(name)
            if link is None or link.kind not in ("bridge", ""):
                raise RuntimeSetupError(f"network: {name} exists and is not a bridge", stage="network")
            nl.add_ipv4(link.index, ip, int(prefix or 32))
            if link.mac != mac:  # why: a bridge made before (or by an older minidock) follows its ports
                nl.set_link(link.index, mac_attr(mac))
            if not link.up:
                nl.set_link(link.index, up=True)
            return link.index
        except OSError as e:
            raise _fail(f"bridge {name}", e) from e


def bridge_ports(name: str) -> list[str]:
    """Names of the interfaces enslaved to bridge `name` (empty when it does not exist)."""
    with Netlink() as nl:
        br = nl.link(name)
        return [] if br is None else [lk.name for lk in nl.links() if lk.master == br.index]


def remove_bridge(name: str) -> bool:
    """Delete bridge `name` (call when the network's last container is gone); False if absent."""
    return _delete_link(name, "remove bridge")


def remove_bridge_address(name: str, gateway_cidr: str) -> bool:
    """Take a network's gateway address off bridge `name` (a shared bridge keeps its other ones)."""
    from ipaddress import IPv4Interface  # lazy: only the last container of a network gets here

    with Netlink() as nl:
        link = nl.link(name)
        if link is None:
            return False
        try:
            return nl.delete_address(link.index, IPv4Interface(gateway_cidr))
        except OSError as e:
            raise _fail(f"remove {gateway_cidr} from {name}", e) from e


def loopback_up(pid: int) -> None:
    """`ip link set lo up` inside the network namespace of `pid` (all `--network none` needs)."""
    try:
        with Netlink.in_netns(pid) as nl:
            lo = nl.link("lo")
            if lo is not None and not lo.up:
                nl.set_link(lo.index, up=True)
    except OSError as e:
        raise _fail(f"loopback up in /proc/{pid}/ns/net", e) from e


def _configure_inside(pid: int, cidr: str, gateway: str, ifname: str = "eth0") -> None:
    """In the container's netns: lo up; the interface gets the address (`cidr`: ADDRESS/PREFIX) and
    comes up; eth0 (the first network) also carries the default route via its gateway (Docker's:
    later networks add only their own subnet's route)."""
    ip, _, prefixlen = cidr.partition("/")
    with Netlink.in_netns(pid) as nl:
        lo = nl.link("lo")
        if lo is not None and not lo.up:
            nl.set_link(lo.index, up=True)
        link = nl.link(ifname)
        if link is None:
            raise OSError(errno.ENODEV, f"{ifname} missing in the container's namespace")
        nl.add_ipv4(link.index, ip, int(prefixlen))
        nl.set_link(link.index, up=True)
        if ifname == "eth0":
            nl.add_default_route(gateway, link.index)


def _create_veth(nl: Netlink, spec: VethSpec) -> None:
    """The pair in one request; a stale host end of the same container (a restart racing the kernel's
    cleanup of the previous netns) is deleted and the request repeated once."""
    try:
        nl.create_veth(spec)
    except OSError as e:
        stale = nl.link(spec.name) if e.errno == errno.EEXIST else None
        if stale is None:
            raise
        nl.delete_link(stale.index)
        nl.create_veth(spec)


def attach(pid: int, req: NetworkAttachRequest) -> Attachment:
    """Wire the netns of `pid` to `req.bridge`: lease an address, veth pair, eth0 configured inside.

    On failure nothing is left behind (the lease is released, the host veth deleted).
    """
    gateway, prefixlen = ipam.gateway_for(req.subnet)  # ints and text: no ipaddress on `run`
    pool = req.pool._replace(subnet=req.subnet) if req.pool else None  # why: the subnet the bridge carries
    gateway = pool.gateway if pool and pool.gateway else gateway
    cidr = ipam.allocate(req.state_dir, req.lease_key or req.network, pool or req.subnet, req.container_id, req.owner)
    ip = cidr.partition("/")[0]
    host_veth = req.host_veth or host_veth_name(req.container_id)
    mac = req.mac.lower() or mac_for(ip)
    try:
        with Netlink() as nl:
            bridge = nl.link(req.bridge)
            if bridge is None:
                raise OSError(errno.ENODEV, f"bridge {req.bridge} does not exist")
            # why not the bridge's MTU: an empty bridge falls back to 1500 (the kernel's auto-adjust), and
            # 1500 behind a 1400 uplink stalls downloads (MSS too big, PMTU discovery black-holed)
            mtu = req.mtu or default_mtu(nl)
            # why one request: eth0 is born inside the container's netns, the host end up on the bridge
            _create_veth(nl, VethSpec(host_veth, req.ifname, pid, mtu, mac, master=bridge.index, up=True))
        _configure_inside(pid, cidr, gateway, req.ifname)
    except (OSError, RuntimeSetupError) as e:
        _undo(host_veth, req)
        if isinstance(e, RuntimeSetupError):
            raise
        raise _fail(f"attach {req.container_id[:12]} to {req.network}", e) from e
    return Attachment(req.network, ip, prefixlen, gateway, mac, host_veth, pid, req.bridge, req.container_id)


def _undo(host_veth: str, req: NetworkAttachRequest) -> None:
    delete_veth(host_veth)
    ipam.release(req.state_dir, req.lease_key or req.network, req.container_id)


def delete_veth(name: str) -> bool:
    """Delete host veth `name` (its peer in the container dies with it); False when absent.

    After the container's netns died the kernel deletes the pair itself: then one lookup, no delete.
    """
    return _delete_link(name, "delete")


def _delete_link(name: str, verb: str) -> bool:
    """Delete the link `name`; False when it is absent or vanished meanwhile (ENODEV)."""
    with Netlink() as nl:
        link = nl.link(name)
        if link is None:
            return False
        try:
            nl.delete_link(link.index)
        except OSError as e:
            if e.errno == errno.ENODEV:
                return False
            raise _fail(f"{verb} {name}", e) from e
    return True


def detach(target: Attachment | str, state_dir: StrPath) -> list[str]:
    """Undo `attach` for an Attachment or a container id: host veth deleted, leases released.

    With only an id, every network under `state_dir` holding a lease for it is released. Safe to
    call twice. Returns the networks whose lease was released.
    """
    cid = target.container_id if isinstance(target, Attachment) else target
    veth = target.host_veth if isinstance(target, Attachment) else host_veth_name(cid)
    delete_veth(veth)
    if isinstance(target, Attachment) and not cid:
        return []
    names = [target.network] if isinstance(target, Attachment) else ipam.networks_with_leases(state_dir)
    return [n for n in names if ipam.release(state_dir, n, cid)]

