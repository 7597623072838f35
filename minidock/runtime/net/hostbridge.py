"""A bridge as every store on the host shares it: its subnet, gateway address, fixed MAC, and lock.

Two stores (two MINIDOCK_ROOTs) put their default-network containers on the same `minidock0`, so
what describes the bridge cannot live in a store. Under `ipam.HOST_DIR/<bridge>/` (tmpfs: it goes
at reboot with the bridge itself):
- `wire.lock`: held while a container is wired to the bridge or unwired from it (`wire_lock`);
- `bridge.json` = {"subnet": S, "index": ifindex[, "owner": ROOT]}: the subnet the bridge carries.
  While that bridge (same ifindex) exists, S stands for every store; when the bridge is (re)created,
  the subnet is chosen again against the host's routes (`ensure`). `network create` reserves a new
  network's subnet here (index 0) before its bridge exists, so another store's networks avoid it,
  with the store that owns it: a user network whose store directory is gone (deleted without
  `network rm`) is `orphaned`, and the next `network create` takes its bridge, rules and subnet back;
- `leases.json`: every store's leases on the bridge (ipam, keyed by the bridge's name, with the
  store root that owns each lease).
The bridge keeps its gateway address once it has it (like docker0): removing a store's last
container never takes the gateway from another store's containers. Its MAC is fixed (02:42 + the
gateway's four bytes), so ports coming and going never change it and containers' ARP entries for the
gateway stay valid.
"""

from __future__ import annotations

import os

from minidock.errors import StoreError
from minidock.runtime.net import ipam, network
from minidock.runtime.net.netlink import Netlink

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from contextlib import AbstractContextManager
    from ipaddress import IPv4Network


def _record(bridge: str) -> str:
    return f"{ipam.HOST_DIR}/{bridge}/{ipam.BRIDGE_RECORD}"


def wire_lock(bridge: str) -> AbstractContextManager[None]:
    """The host-wide lock of `bridge`: wiring, unwiring and (re)creating it take turns."""
    return ipam.locked(f"{ipam.HOST_DIR}/{bridge}/{ipam.WIRE_LOCK}")


def recorded(bridge: str) -> tuple[str, int]:
    """(subnet, ifindex) of `bridge` as last wired, ("", 0) when unknown or unreadable."""
    try:
        raw = ipam.read_json(_record(bridge), {})
    except (StoreError, OSError):  # unreadable, or not a bridge's directory
        return "", 0
    if not isinstance(raw, dict):
        return "", 0
    return str(raw.get("subnet", "")), int(raw.get("index", 0) or 0)


def reserved() -> list[IPv4Network]:
    """The subnet of every bridge recorded on the host (wired, or reserved by `network create`)."""
    from ipaddress import IPv4Network  # lazy: `network create` only

    out = []
    try:
        names = os.listdir(ipam.HOST_DIR)
    except OSError:
        return []
    for name in names:
        subnet, _ = recorded(name)
        if subnet:
            out.append(IPv4Network(subnet))
    return out


def reserve(bridge: str, subnet: str, owner: str = "") -> None:
    """Record `subnet` for `bridge` before it exists (a new user network of the store at `owner`), so
    no other store takes it."""
    if not recorded(bridge)[0]:
        ipam.atomic_write_json(_record(bridge), {"subnet": subnet, "index": 0, **({"owner": owner} if owner else {})},
                               durable=False)


def _owner(bridge: str) -> str:
    """The store root a user network's bridge belongs to ("" for the shared default bridge)."""
    try:
        raw = ipam.read_json(_record(bridge), {})
    except (StoreError, OSError):
        return ""
    return str(raw.get("owner", "")) if isinstance(raw, dict) else ""


def orphaned() -> list[str]:
    """The user bridges whose owning store directory no longer exists (removed without `network rm`)."""
    try:
        names = sorted(os.listdir(ipam.HOST_DIR))
    except OSError:
        return []
    return [n for n in names if (owner := _owner(n)) and not os.path.isdir(owner)]


def ensure(bridge: str, subnet: str, prefer: Callable[[], str] | None = None, gateway: str = "") -> tuple[str, int]:
    """Under `wire_lock(bridge)`: the bridge up with its gateway address and fixed MAC; returns (the
    subnet it carries, its ifindex). The recorded subnet stands while the recorded bridge exists.
    When it is (re)created, `subnet` is used; with `prefer` (the default network: the settings'
    subnet) that one is checked against the host's routes (this bridge's own aside) and replaced by
    the next free one that is no other engine's default when it clashes. `gateway`: a user network's
    --gateway (default: the subnet's first host)."""
    known, index = recorded(bridge)
    actual = subnet
    with Netlink() as nl:
        link = nl.link(bridge)
        if link is not None and known and index == link.index:
            actual = known
        elif prefer is not None:
            routes = [r.dst for r in nl.routes() if r.dst.prefixlen > 0 and (link is None or r.oif != link.index)]
            actual = str(ipam.choose_subnet(prefer(), routes))
    first, prefixlen = ipam.gateway_for(actual)  # text and ints: the steady state imports no ipaddress
    new_index = network.ensure_bridge(bridge, f"{gateway or first}/{prefixlen}")
    if (actual, new_index) != (known, index):
        owner = _owner(bridge)
        ipam.atomic_write_json(_record(bridge), {"subnet": actual, "index": new_index,
                                                 **({"owner": owner} if owner else {})}, durable=False)
    return actual, new_index
