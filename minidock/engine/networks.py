"""Networks for the CLI (`network create/ls/inspect/rm`) and for `run` (the network a container joins).

A thin layer over minidock.runtime.net.netconfig (the store) plus the kernel objects of a network:
the bridge (runtime.network) and its NAT rules (runtime.nat), created lazily when the first
container joins and removed with the network. State lives in `Paths.networks`.
"""

from typing import TYPE_CHECKING, NamedTuple

from minidock.errors import UsageError
from minidock.paths import Paths
from minidock.runtime.net import network
from minidock.runtime.net.netconfig import NetworkConfig, NetworkStore

if TYPE_CHECKING:
    from minidock.config import Settings


class NetworkMode(NamedTuple):
    """What `--network VALUE` means: a bridge network to join, or none/host/container:NAME."""

    kind: str  # "bridge" | "none" | "host" | "container"
    network: NetworkConfig | None = None
    container: str = ""


def _store(paths: Paths | None) -> NetworkStore:
    p = (paths or Paths.from_env()).ensure()
    return NetworkStore(p.networks)


def _with_default(store: NetworkStore, settings: "Settings | None") -> None:
    from minidock.config import Settings

    s = settings or Settings.load()
    store.ensure_default(s.bridge_subnet, network.host_networks())


def create(name: str, subnet: str | None = None, paths: Paths | None = None) -> NetworkConfig:
    """`network create NAME [--subnet CIDR]` (the bridge appears when a container first joins)."""
    store = _store(paths)
    _with_default(store, None)
    cfg = store.create(name, subnet, network.host_networks())
    from minidock.engine.events import emit

    emit(paths or Paths.from_env(), "network", "create", cfg.id, {"name": cfg.name, "type": cfg.driver})
    return cfg


def list_networks(paths: Paths | None = None, settings: "Settings | None" = None) -> list[NetworkConfig]:
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
    store = NetworkStore(p.networks)
    cfg = store.remove(ref, exists=lambda cid: (p.container(cid) / "state.json").exists())  # stale leases go
    if cfg.bridge:
        from minidock.runtime.net import nat

        nat.remove_network_rules(cfg.bridge)
        network.remove_bridge(cfg.bridge)
    from minidock.engine.events import emit

    emit(p, "network", "destroy", cfg.id, {"name": cfg.name, "type": cfg.driver})
    return cfg


def lookup(value: str, paths: Paths | None = None, settings: "Settings | None" = None) -> NetworkMode:
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


def wire(bridge: str, subnet: str) -> None:
    """The network's bridge up with its gateway address, NAT in place (idempotent; no iptables run
    once this bridge's rules were set up, see nat.setup_network)."""
    from minidock.runtime.net import ipam, nat

    gateway = ipam.gateway_of(ipam.parse_subnet(subnet))
    index = network.ensure_bridge(bridge, str(gateway))
    nat.setup_network(bridge, subnet, index)


def resolve_mode(value: str, paths: Paths | None = None, settings: "Settings | None" = None) -> NetworkMode:
    """`--network` value -> mode; a bridge network is returned with its bridge up and NAT in place."""
    mode = lookup(value, paths, settings)
    if mode.network is not None:
        wire(mode.network.bridge, mode.network.subnet)
    return mode
