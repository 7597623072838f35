"""Networks for the CLI (`network create/ls/inspect/rm`) and for `run` (the network a container joins).

A thin layer over minidock.runtime.net.netconfig (the store) plus the kernel objects of a network:
the bridge (runtime.network) and its NAT rules (runtime.nat), created lazily when the first
container joins and removed with the network. State lives in `Paths.networks`.
"""

from __future__ import annotations

import os

from minidock.errors import ConflictError, NotFoundError, UsageError
from minidock.nouns import NamedTuple
from minidock.paths import Paths
from minidock.runtime.net import ipam, network
from minidock.runtime.net.netconfig import NetworkConfig, NetworkSpec, NetworkStore
from minidock.runtime.net.netspec import daemon_error, single

__all__ = ["NetworkConfig", "NetworkMode", "NetworkSpec", "daemon_error", "single"]  # the CLI's names

TYPE_CHECKING = False
if TYPE_CHECKING:
    from minidock.config import Settings
    from minidock.engine.filters import PruneFilter


class NetworkMode(NamedTuple):
    """What `--network VALUE` means: a bridge network to join, or none/host/container:NAME."""

    kind: str  # "bridge" | "none" | "host" | "container"
    network: NetworkConfig | None = None
    container: str = ""


def _store(paths: Paths | None) -> NetworkStore:
    p = (paths or Paths.from_env()).ensure()
    return NetworkStore(p.networks, ipam.HOST_DIR)


def _with_default(store: NetworkStore, settings: Settings | None) -> None:
    """The store's `bridge` network: the subnet `minidock0` carries for every store when it exists."""
    from minidock.config import Settings
    from minidock.runtime.net import hostbridge

    s = settings or Settings.load()
    known, _ = hostbridge.recorded(network.DEFAULT_BRIDGE)
    routes = [r for r in network.host_networks() if str(r) != known]  # why: minidock0's own route is no clash
    store.ensure_default(known or s.bridge_subnet, routes)


def create(name: str, spec: NetworkSpec | str | None = None, paths: Paths | None = None) -> NetworkConfig:
    """`network create [OPTIONS] NAME` (the bridge appears when a container first joins)."""
    from minidock.runtime.net import hostbridge

    store = _store(paths)
    _with_default(store, None)
    with ipam.locked(f"{ipam.HOST_DIR}/{ipam.NETWORKS_LOCK}"):  # why: another store's network may take the same subnet
        for orphan in hostbridge.orphaned():  # a deleted store's networks: their subnets come back
            _drop_bridge(orphan)
        taken = [*network.host_networks(), *hostbridge.reserved()]  # bridges not wired yet have no route
        cfg = store.create(name, spec, taken)
        hostbridge.reserve(cfg.bridge, cfg.subnet, os.path.abspath((paths or Paths.from_env()).root))
    from minidock.engine.events import emit

    emit(paths or Paths.from_env(), "network", "create", cfg.id, {"name": cfg.name, "type": cfg.driver})
    return cfg


def prune(filters: PruneFilter | None = None, paths: Paths | None = None) -> list[str]:
    """`network prune`: remove the user networks no running container is on (Docker's rule: a stopped
    container holds no endpoint) that `filters` select (until=, label=, label!=); their names."""
    from minidock.engine import glance
    from minidock.engine.netfilter import BUILTIN, in_use, natural_key

    p = (paths or Paths.from_env()).ensure()
    used = in_use(glance.records(str(p.root)))
    out = []
    for cfg in sorted(list_networks(p), key=lambda n: natural_key(n.name)):
        if cfg.name in BUILTIN or cfg.name in used or (filters and not filters.matches(cfg.created, cfg.labels)):
            continue
        try:
            remove(cfg.name, p)
        except (ConflictError, NotFoundError):  # a container of another store is on it; or removed meanwhile
            continue
        out.append(cfg.name)
    return out


def list_networks(paths: Paths | None = None, settings: Settings | None = None) -> list[NetworkConfig]:
    """`network ls`: bridge, user networks, host, none."""
    store = _store(paths)
    _with_default(store, settings)
    return store.list()


def inspect(ref: str, paths: Paths | None = None) -> NetworkConfig:
    """`network inspect NAME|ID`."""
    store = _store(paths)
    _with_default(store, None)
    return store.inspect(ref)


def remove(ref: str, paths: Paths | None = None) -> NetworkConfig:
    """`network rm NAME|ID`: refused while containers use it; the bridge and its NAT rules go too."""
    p = (paths or Paths.from_env()).ensure()
    store = NetworkStore(p.networks, ipam.HOST_DIR)
    cfg = store.remove(ref, exists=lambda cid, owner: container_exists(p, cid, owner))  # stale leases go
    if cfg.bridge:
        _drop_bridge(cfg.bridge)
    from minidock.engine.events import emit

    emit(p, "network", "destroy", cfg.id, {"name": cfg.name, "type": cfg.driver})
    return cfg


def _drop_bridge(bridge: str) -> None:
    """A user network's bridge, its NAT and isolation rules, and its host-wide record and leases."""
    import shutil

    from minidock.runtime.net import nat

    nat.remove_network_rules(bridge)
    network.remove_bridge(bridge)
    shutil.rmtree(f"{ipam.HOST_DIR}/{bridge}", ignore_errors=True)


def container_exists(paths: Paths, container_id: str, owner: str = "") -> bool:
    """Whether the store `owner` (a root; "" = `paths`) still has a record of container `container_id`."""
    root = Paths(owner) if owner else paths
    return os.path.exists(f"{root.container(container_id)}/state.json")


def lookup(value: str, paths: Paths | None = None, settings: Settings | None = None) -> NetworkMode:
    """`--network` value -> mode, touching no kernel object (the bridge is wired at attach: `wire`)."""
    if value in ("none", "host"):
        return NetworkMode(value)
    if value.startswith("container:"):
        name = value.partition(":")[2]
        if not name:
            raise UsageError("invalid --network container: needs a container name or id")
        return NetworkMode("container", container=name)
    p = paths or Paths.from_env()
    cfg = NetworkStore(p.networks).get(value or "bridge")  # why: the common case reads one file, no lock
    if cfg is None:
        store = _store(p)
        _with_default(store, settings)
        cfg = store.inspect(value or "bridge")
    if cfg.driver != "bridge":
        return NetworkMode(cfg.name)
    return NetworkMode("bridge", cfg)


def wire(bridge: str, subnet: str, default: bool = False, cfg: NetworkConfig | None = None) -> str:
    """Under hostbridge.wire_lock(bridge): the bridge up with its gateway address and fixed MAC, NAT
    in place (no iptables run once this bridge's rules were set up, see nat.setup_network). Returns
    the subnet the bridge carries: for the `default` network the host-wide one (see hostbridge).
    `cfg`: a user network's --gateway and rules (--internal, -o enable_ip_masquerade/enable_icc)."""
    from minidock.runtime.net import hostbridge, nat

    gateway = str(cfg.ipam.get("Gateway", "")) if cfg else ""
    actual, index = hostbridge.ensure(bridge, subnet, _configured_subnet if default else None, gateway)
    nat.setup_network(bridge, actual, index, cfg.policy if cfg else ())
    return actual


def user_config(paths: Paths, name: str) -> NetworkConfig | None:
    """The stored config of user network `name` (None for the default bridge: nothing to read)."""
    return None if name in ("", "bridge") else NetworkStore(paths.networks).get(name)


def pool_of(cfg: NetworkConfig | None, static: str = "") -> ipam.Pool | None:
    """Where a container's address on `cfg` comes from (None: the subnet's first free one)."""
    if cfg is None or not (cfg.ipam or static):
        return None
    aux = tuple(str(v) for v in (cfg.ipam.get("AuxiliaryAddresses") or {}).values())
    return ipam.Pool(cfg.subnet, str(cfg.ipam.get("Gateway", "")), cfg.ip_range, aux, static)


def check_static(cfg: NetworkConfig, ip: str, container_id: str = "") -> None:
    """`--ip` / `network connect --ip` on `cfg`: Docker's rules and words (a user network with a
    subnet of its own; an IPv4 address of it that no other container and not the gateway holds)."""
    if not cfg.ipam.get("Subnet"):
        raise ConflictError("user specified IP address is supported only when connecting to networks with user "
                            "configured subnets")
    try:
        addr = ipam.ip_to_int(ip)
    except ValueError:
        raise ConflictError(f"invalid IPv4 address: {ip}") from None
    net, prefixlen = ipam.subnet_ints(cfg.subnet)
    if addr >> (32 - prefixlen) != net >> (32 - prefixlen):
        raise ConflictError(f"Invalid address {ip}: It does not belong to any of this network's subnets")
    held = {v for k, v in ipam.leases(ipam.HOST_DIR, cfg.bridge).items() if k != container_id} if cfg.bridge else set()
    aux = (cfg.ipam.get("AuxiliaryAddresses") or {}).values()
    if ipam.int_to_ip(addr) in {*held, cfg.gateway, *aux}:
        raise ConflictError("Address already in use")


def mtu_of(cfg: NetworkConfig | None) -> int | None:
    """-o com.docker.network.driver.mtu of a user network (None: the host's uplink MTU)."""
    found = [p for p in (cfg.policy if cfg else ()) if p.startswith("mtu=")]
    return int(found[0][4:]) if found else None


def _configured_subnet() -> str:
    """The settings' `bridge-subnet` (or the default): what a (re)created minidock0 starts from."""
    from minidock.config import Settings

    return Settings.load().bridge_subnet


def adopt(paths: Paths, name: str, subnet: str) -> None:
    """The store's record of network `name` follows the subnet its bridge carries."""
    NetworkStore(paths.networks).adopt(name, subnet)

