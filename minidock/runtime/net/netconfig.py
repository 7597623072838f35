"""User-defined networks: the NetworkConfig noun and its store (`<state_dir>/networks.json`).

The engine's `network create/ls/inspect/rm` is a thin layer over this. Builtins, as in Docker:
`bridge` (the default network: bridge `minidock0`, subnet chosen once from the settings'
`bridge_subnet` or the next free /16 when that clashes with a host route, then persisted),
`host` and `none` (no bridge, no subnet). A user network gets bridge `mdk-<first 11 hex of its id>`
and a subnet that overlaps no host route and no other network. The file is rewritten atomically
under `<state_dir>/networks.lock`. Kernel objects (bridge, NAT rules) are not touched here.
"""

from __future__ import annotations

import os
import time

from minidock.errors import ConflictError, NotFoundError, UsageError
from minidock.nouns import NamedTuple
from minidock.runtime.net import ipam

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from ipaddress import IPv4Network
    from typing import Any

    from _typeshed import StrPath

NETWORKS_JSON = "networks.json"
NETWORKS_LOCK = "networks.lock"
DEFAULT_NAME = "bridge"
DEFAULT_BRIDGE = "minidock0"
BUILTIN_DRIVERS = {"bridge": "bridge", "host": "host", "none": "null"}
NAME_RE = r"^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$"  # compiled by `create` only (not on every `run`)


class NetworkConfig(NamedTuple):
    """One network: name, id, driver and, for bridge networks, the bridge, subnet and gateway."""

    name: str
    id: str
    driver: str = "bridge"
    bridge: str = ""
    subnet: str = ""
    gateway: str = ""
    created: str = ""

    @property
    def gateway_cidr(self) -> str:
        """The bridge's address with the subnet prefix (what ensure_bridge takes)."""
        return f"{self.gateway}/{ipam.subnet_ints(self.subnet)[1]}" if self.subnet else ""

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> NetworkConfig:
        return cls(str(d["name"]), str(d["id"]), str(d.get("driver", "bridge")), str(d.get("bridge", "")),
                   str(d.get("subnet", "")), str(d.get("gateway", "")), str(d.get("created", "")))

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "id": self.id, "driver": self.driver, "bridge": self.bridge,
                "subnet": self.subnet, "gateway": self.gateway, "created": self.created}


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _bridge_config(name: str, net_id: str, bridge: str, subnet: IPv4Network) -> NetworkConfig:
    return NetworkConfig(name, net_id, "bridge", bridge, str(subnet), str(ipam.gateway_of(subnet).ip), _now())


def _token() -> str:
    import secrets  # why here: only creating a network needs it, not every `run`

    return secrets.token_hex(32)


def _builtin(name: str) -> NetworkConfig:
    import hashlib

    return NetworkConfig(name, hashlib.sha256(f"minidock-network-{name}".encode()).hexdigest(), BUILTIN_DRIVERS[name])


class NetworkStore:
    """networks.json under `state_dir`; every mutation holds the lock for its whole read-modify-write."""

    def __init__(self, state_dir: StrPath, lease_dir: StrPath | None = None) -> None:
        self.state_dir = os.fspath(state_dir)
        self.path = os.path.join(self.state_dir, NETWORKS_JSON)
        self.lock = os.path.join(self.state_dir, NETWORKS_LOCK)
        # leases keyed by bridge (ipam.HOST_DIR); None: by name in state_dir
        self.lease_dir = os.fspath(lease_dir) if lease_dir is not None else None

    def get(self, name: str) -> NetworkConfig | None:
        """A stored network by exact name, read without the lock (the file is replaced atomically)."""
        raw = ipam.read_json(self.path, {}).get(name)
        return NetworkConfig.from_json(raw) if raw else None

    def _read(self) -> dict[str, NetworkConfig]:
        raw = ipam.read_json(self.path, {})
        return {k: NetworkConfig.from_json(v) for k, v in raw.items()}

    def _write(self, nets: dict[str, NetworkConfig]) -> None:
        ipam.atomic_write_json(self.path, {k: v.to_json() for k, v in sorted(nets.items())})

    def ensure_default(self, preferred_subnet: str, host_routes: Sequence[IPv4Network]) -> NetworkConfig:
        """The `bridge` network, created (subnet chosen against `host_routes`) on first use, then stable."""
        with ipam.locked(self.lock):
            nets = self._read()
            if DEFAULT_NAME not in nets:
                from ipaddress import IPv4Network  # lazy: once per store

                taken = [*host_routes, *(IPv4Network(n.subnet) for n in nets.values() if n.subnet)]
                subnet = ipam.choose_subnet(preferred_subnet, taken)
                nets[DEFAULT_NAME] = _bridge_config(DEFAULT_NAME, _token(), DEFAULT_BRIDGE, subnet)
                self._write(nets)
            return nets[DEFAULT_NAME]

    def create(self, name: str, subnet: str | None, host_routes: Sequence[IPv4Network],
               preferred: str = "10.201.0.0/16") -> NetworkConfig:
        """Add a user bridge network; with no `subnet`, the first free one from `preferred` on."""
        import re  # lazy: only `network create` checks a name
        from ipaddress import IPv4Network

        if not re.match(NAME_RE, name):
            raise UsageError(f"invalid network name {name!r}: use letters, digits, '_', '.', '-'")
        with ipam.locked(self.lock):
            nets = self._read()
            if name in nets or name in BUILTIN_DRIVERS:
                raise ConflictError(f"network with name {name} already exists")
            taken = [IPv4Network(n.subnet) for n in nets.values() if n.subnet]
            if subnet is not None:
                net = ipam.parse_subnet(subnet)
                clash = next((t for t in [*taken, *host_routes] if net.overlaps(t)), None)
                if clash is not None:
                    raise ConflictError(f"subnet {subnet}: overlaps {clash} already in use")
            else:
                net = ipam.choose_subnet(preferred, [*taken, *host_routes])
            net_id = _token()
            cfg = _bridge_config(name, net_id, f"mdk-{net_id[:11]}", net)
            nets[name] = cfg
            self._write(nets)
        return cfg

    def adopt(self, name: str, subnet: str) -> None:
        """Record that network `name` carries `subnet` now (the default bridge's host-wide subnet)."""
        with ipam.locked(self.lock):
            nets = self._read()
            cfg = nets.get(name)
            if cfg is None or cfg.subnet == subnet:
                return
            nets[name] = cfg._replace(subnet=subnet, gateway=ipam.gateway_for(subnet)[0])
            self._write(nets)

    def list(self) -> list[NetworkConfig]:
        """Every network: the stored ones (bridge first) and the `host` and `none` builtins."""
        nets = self._read()
        stored = sorted(nets.values(), key=lambda n: (n.name != DEFAULT_NAME, n.name))
        return [*stored, _builtin("host"), _builtin("none")]

    def inspect(self, ref: str) -> NetworkConfig:
        """A network by name, full id or unique id prefix."""
        nets = self.list()
        for n in nets:
            if ref in (n.name, n.id):
                return n
        matches = [n for n in nets if len(ref) >= 3 and n.id.startswith(ref)]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise UsageError(f"network {ref}: ambiguous id prefix")
        raise NotFoundError(f"network {ref} not found")

    def remove(self, ref: str, exists: Callable[[str, str], bool] | None = None) -> NetworkConfig:
        """Forget a user network; refused for builtins and while a live container holds a lease.

        `exists(container id, owner store root)` lets stale leases (containers gone without detach)
        be reclaimed first.
        """
        cfg = self.inspect(ref)
        if cfg.name in BUILTIN_DRIVERS:
            raise UsageError(f"{cfg.name} is a pre-defined network and cannot be removed")
        places = [(self.state_dir, cfg.name)]
        if self.lease_dir is not None and cfg.bridge:
            places.append((self.lease_dir, cfg.bridge))
        if exists is not None:
            for where, key in places:
                ipam.reclaim(where, key, exists)
        with ipam.locked(self.lock):
            holders = {cid: ip for where, key in places for cid, ip in ipam.leases(where, key).items()}
            if holders:
                raise ConflictError(f"network {cfg.name} has active endpoints ({len(holders)} containers)")
            nets = self._read()
            nets.pop(cfg.name, None)
            self._write(nets)
        return cfg
