"""`network connect` / `network disconnect`: more bridge networks for a container (eth1, eth2, ...).

A container's first network is planned at create (engine/netwire.py); connected ones are kept by
name in host_config["ExtraNetworks"] and wired, while it runs, as one more veth per network (no
default route: Docker's rule, the first network keeps it), with an address from that bridge's
leases and the peers' hosts files updated both ways. Their attachments live in the record's
`network["extra"]`; `attach_extras` re-wires them at every start, `release_extras` undoes them when
the container ends or is disconnected.
"""

import os
from collections.abc import Mapping
from typing import Any

from minidock.errors import ConflictError, NotFoundError, UsageError
from minidock.paths import Paths
from minidock.store.containers import ContainerStore
from minidock.store.ctrrecord import ContainerRecord
from minidock.store.store import Store

MAX_EXTRA = 9


def _veth(cid: str, n: int) -> str:
    return f"vmd{cid[:10]}-{n}"  # 15 characters: IFNAMSIZ


def _refuse(rec: ContainerRecord, verb: str) -> None:
    mode = str(rec.host_config.get("NetworkMode") or "bridge")
    if mode in ("none", "host") or mode.startswith("container:"):
        err = ConflictError(f"container cannot be {verb} network {mode}" if verb == "disconnected from" else
                            f"container sharing network namespace with another container or host cannot be "
                            f"{verb} any other network" if mode != "none" else
                            "container cannot be connected to multiple networks with one of the networks in "
                            "private (none) mode")
        err.exit_code = 1
        raise err


def connect(network_ref: str, container_ref: str, store: Store | None = None, aliases: tuple[str, ...] = (),
            ip: str = "") -> None:
    """Connect the container to the network (now if it runs; at its next start otherwise), with
    `--alias` names and a static `--ip` (Docker's rules: see networks.check_static)."""
    from minidock.engine import networks
    from minidock.engine.lookup import open_store

    store = store or open_store()
    records = ContainerStore(store.paths)
    rec = records.get(container_ref)
    _refuse(rec, "connected to")
    cfg = networks.inspect(network_ref, store.paths)
    names = [str(rec.host_config.get("NetworkMode") or "bridge"), *rec.host_config.get("ExtraNetworks", ())]
    if cfg.name in names:
        err = ConflictError(f"endpoint with name {rec.name} already exists in network {cfg.name}")
        err.exit_code = 1
        raise err
    if len(names) > MAX_EXTRA:
        raise UsageError(f"container {rec.name}: at most {MAX_EXTRA} networks can be connected")
    _check_endpoint(cfg, rec, aliases, ip)
    extra = [*rec.host_config.get("ExtraNetworks", ()), cfg.name]
    ends = {**(rec.host_config.get("ExtraEndpoints") or {}),
            cfg.name: {"aliases": list(aliases), "ip": ip, "bridge": cfg.bridge}}
    rec = records.update(rec.id, host_config={**rec.host_config, "ExtraNetworks": extra, "ExtraEndpoints": ends})
    if rec.status in ("running", "paused") and rec.pid:
        _attach(store.paths, rec, cfg.name, len(extra))


def _check_endpoint(cfg: Any, rec: ContainerRecord, aliases: tuple[str, ...], ip: str) -> None:
    """`--alias` only on a user network, `--ip` as networks.check_static says: Docker's words, exit 1."""
    from minidock.engine import networks

    try:
        if aliases and cfg.name in ("bridge", "host", "none"):
            raise ConflictError("network-scoped alias is supported only for containers in user defined networks")
        if ip:
            networks.check_static(cfg, ip, rec.id)
    except ConflictError as e:
        raise networks.daemon_error(str(e)) from None


def disconnect(network_ref: str, container_ref: str, store: Store | None = None) -> None:
    """Disconnect the container from a network it was connected to (its first network stays)."""
    from minidock.engine import networks
    from minidock.engine.lookup import open_store

    store = store or open_store()
    records = ContainerStore(store.paths)
    rec = records.get(container_ref)
    cfg = networks.inspect(network_ref, store.paths)
    extra = list(rec.host_config.get("ExtraNetworks", ()))
    if cfg.name not in extra:
        if cfg.name == str(rec.host_config.get("NetworkMode") or "bridge"):
            raise UsageError(f"container {rec.name}: its first network {cfg.name} cannot be disconnected here")
        err = NotFoundError(f"container {rec.id[:12]} is not connected to network {cfg.name}")
        err.exit_code = 1
        raise err
    attached = [a for a in rec.network.get("extra", ()) if a.get("network") == cfg.name]
    for att in attached:
        _release_one(store.paths, rec.id, att)
    kept = [a for a in rec.network.get("extra", ()) if a.get("network") != cfg.name]
    extra.remove(cfg.name)
    ends = {k: v for k, v in (rec.host_config.get("ExtraEndpoints") or {}).items() if k != cfg.name}
    records.update(rec.id, host_config={**rec.host_config, "ExtraNetworks": extra, "ExtraEndpoints": ends},
                   network={**rec.network, "extra": kept})


def attach_extras(paths: Paths, container_id: str, pid: int) -> list[dict[str, Any]]:
    """At a start: wire every connected network of the container into the netns of `pid`."""
    rec = ContainerStore(paths).get(container_id)
    out = []
    for n, name in enumerate(rec.host_config.get("ExtraNetworks", ()), 1):
        out.append(_wire(paths, rec, name, n, pid))
    return out


def _attach(paths: Paths, rec: ContainerRecord, name: str, n: int) -> None:
    att = _wire(paths, rec, name, n, rec.pid)
    records = ContainerStore(paths)
    cur = records.get(rec.id)
    records.update(rec.id, network={**cur.network, "extra": [*cur.network.get("extra", ()), att]})


def _wire(paths: Paths, rec: ContainerRecord, name: str, n: int, pid: int) -> dict[str, Any]:
    """One more veth (eth<n>) on the network `name`; the peers' and the container's hosts files."""
    from minidock.engine import networks
    from minidock.engine.netwire import add_peer_names
    from minidock.runtime.net import hostbridge, ipam, network

    cfg = networks.inspect(name, paths)
    end = (rec.host_config.get("ExtraEndpoints") or {}).get(name) or {}  # --alias, --ip of `network connect`
    with hostbridge.wire_lock(cfg.bridge):
        subnet = networks.wire(cfg.bridge, cfg.subnet, default=False, cfg=cfg)
        req = network.NetworkAttachRequest(cfg.name, cfg.bridge, subnet, rec.id, ipam.HOST_DIR, lease_key=cfg.bridge,
                                           owner=os.path.abspath(paths.root), ifname=f"eth{n}",
                                           host_veth=_veth(rec.id, n), mtu=networks.mtu_of(cfg),
                                           pool=networks.pool_of(cfg, str(end.get("ip") or "")))
        att = network.attach(pid, req)
        add_peer_names(paths, rec.id, " ".join((rec.name, *(end.get("aliases") or ()))), cfg.bridge, att.ip)
    return att.to_json()


def release_extras(paths: Paths, container_id: str, network_state: Mapping[str, Any]) -> None:
    """When the container ends: every connected network's veth and lease go (the names stay configured)."""
    for att in network_state.get("extra", ()):
        _release_one(paths, container_id, att)


def _release_one(paths: Paths, container_id: str, att: Mapping[str, Any]) -> None:
    from minidock.engine.netwire import forget_in_peers
    from minidock.runtime.net import hostbridge, ipam, network

    bridge = str(att.get("bridge", ""))
    with hostbridge.wire_lock(bridge):
        network.delete_veth(str(att.get("host_veth", "")))
        ipam.release_left(ipam.HOST_DIR, bridge, container_id)
        forget_in_peers(paths, bridge, str(att.get("ip", "")))
