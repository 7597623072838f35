"""Networks for the CLI (`network create/ls/inspect/rm`) and for `run` (the network a container joins).

A thin layer over minidock.runtime.net.netconfig (the store) plus the kernel objects of a network:
the bridge (runtime.network) and its NAT rules (runtime.nat), created lazily when the first
container joins and removed with the network. State lives in `Paths.networks`.
"""

from __future__ import annotations

import os

from minidock.errors import UsageError
from minidock.nouns import NamedTuple
from minidock.paths import Paths
from minidock.runtime.net import ipam, network
from minidock.runtime.net.netconfig import NetworkConfig, NetworkStore

TYPE_CHECKING = False
if TYPE_CHECKING:
    from minidock.config import Settings


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


def create(name: str, subnet: str | None = None, paths: Paths | None = None) -> NetworkConfig:
    """`network create NAME [--subnet CIDR]` (the bridge appears when a container first joins)."""
    from minidock.runtime.net import hostbridge

    store = _store(paths)
    _with_default(store, None)
    with ipam.locked(f"{ipam.HOST_DIR}/{ipam.NETWORKS_LOCK}"):  # why: another store's network may take the same subnet
        taken = [*network.host_networks(), *hostbridge.reserved()]  # bridges not wired yet have no route
        cfg = store.create(name, subnet, taken)
        hostbridge.reserve(cfg.bridge, cfg.subnet)
    from minidock.engine.events import emit

    emit(paths or Paths.from_env(), "network", "create", cfg.id, {"name": cfg.name, "type": cfg.driver})
    return cfg


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
        import shutil

        from minidock.runtime.net import nat

        nat.remove_network_rules(cfg.bridge)
        network.remove_bridge(cfg.bridge)
        shutil.rmtree(f"{ipam.HOST_DIR}/{cfg.bridge}", ignore_errors=True)  # its host-wide record and leases
    from minidock.engine.events import emit

    emit(p, "network", "destroy", cfg.id, {"name": cfg.name, "type": cfg.driver})
    return cfg


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


def wire(bridge: str, subnet: str, default: bool = False) -> str:
    """Under hostbridge.wire_lock(bridge): the bridge up with its gateway address and fixed MAC, NAT
    in place (no iptables run once this bridge's rules were set up, see nat.setup_network). Returns
    the subnet the bridge carries: for the `default` network the host-wide one (see hostbridge)."""
    from minidock.runtime.net import hostbridge, nat

    actual, index = hostbridge.ensure(bridge, subnet, _configured_subnet if default else None)
    nat.setup_network(bridge, actual, index)
    return actual


def _configured_subnet() -> str:
    """The settings' `bridge-subnet` (or the default): what a (re)created minidock0 starts from."""
    from minidock.config import Settings

    return Settings.load().bridge_subnet


def adopt(paths: Paths, name: str, subnet: str) -> None:
    """The store's record of network `name` follows the subnet its bridge carries."""
    NetworkStore(paths.networks).adopt(name, subnet)

