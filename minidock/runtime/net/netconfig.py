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
BRIDGE_NAME_OPT = "com.docker.network.bridge.name"
MTU_OPT = "com.docker.network.driver.mtu"
MASQ_OPT = "com.docker.network.bridge.enable_ip_masquerade"
ICC_OPT = "com.docker.network.bridge.enable_icc"
NAME_RE = r"^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$"  # compiled by `create` only (not on every `run`)


class NetworkConfig(NamedTuple):
    """One network: name, id, driver and, for bridge networks, the bridge, subnet and gateway; what
    `network create` was given: labels, driver options (`-o`), --internal, --attachable and `ipam`,
    the IPAM config as the user wrote it (Docker's IPAM.Config entry; {}: the subnet was chosen)."""

    name: str
    id: str
    driver: str = "bridge"
    bridge: str = ""
    subnet: str = ""
    gateway: str = ""
    created: str = ""
    labels: dict[str, str] = {}  # never mutated (replaced with _replace)
    options: dict[str, str] = {}
    internal: bool = False
    attachable: bool = False
    ipam: dict[str, Any] = {}

    @property
    def ip_range(self) -> str:
        """The --ip-range addresses are handed out from ("" = the whole subnet)."""
        return str(self.ipam.get("IPRange", ""))

    @property
    def policy(self) -> tuple[str, ...]:
        """What the bridge's rules and links follow: `internal`, `no-masquerade`, `no-icc`, `mtu=N`."""
        opts = self.options
        out = ["internal"] if self.internal else []
        if opts.get(MASQ_OPT, "true").lower() in ("false", "0", "f"):
            out.append("no-masquerade")
        if opts.get(ICC_OPT, "true").lower() in ("false", "0", "f"):
            out.append("no-icc")
        if opts.get(MTU_OPT, "0") not in ("", "0"):
            out.append(f"mtu={int(opts[MTU_OPT])}")
        return tuple(out)

    @property
    def gateway_cidr(self) -> str:
        """The bridge's address with the subnet prefix (what ensure_bridge takes)."""
        return f"{self.gateway}/{ipam.subnet_ints(self.subnet)[1]}" if self.subnet else ""

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> NetworkConfig:
        return cls(str(d["name"]), str(d["id"]), str(d.get("driver", "bridge")), str(d.get("bridge", "")),
                   str(d.get("subnet", "")), str(d.get("gateway", "")), str(d.get("created", "")),
                   dict(d.get("labels") or {}), dict(d.get("options") or {}), bool(d.get("internal")),
                   bool(d.get("attachable")), dict(d.get("ipam") or {}))

    def to_json(self) -> dict[str, Any]:
        out = {"name": self.name, "id": self.id, "driver": self.driver, "bridge": self.bridge,
               "subnet": self.subnet, "gateway": self.gateway, "created": self.created}
        extra = {"labels": self.labels, "options": self.options, "internal": self.internal,
                 "attachable": self.attachable, "ipam": self.ipam}
        return {**out, **{k: v for k, v in extra.items() if v}}  # why: older files stay byte-identical


class NetworkSpec(NamedTuple):
    """What `network create` asks for besides the name (checked by `check_spec`)."""

    subnet: str | None = None
    gateway: str = ""
    ip_range: str = ""
    aux: dict[str, str] = {}  # never mutated
    labels: dict[str, str] = {}
    options: dict[str, str] = {}
    internal: bool = False
    attachable: bool = False
    driver: str = "bridge"
    ipam_driver: str = "default"
    ipv6: bool = False


def _now() -> str:
    """RFC 3339 with nanoseconds, as Docker's `Created`."""
    ns = time.time_ns()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ns // 10**9)) + f".{ns % 10**9:09d}Z"


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

    def create(self, name: str, spec: NetworkSpec | str | None, host_routes: Sequence[IPv4Network],
               preferred: str = "10.201.0.0/16") -> NetworkConfig:
        """Add a user bridge network; with no subnet, the first free one from `preferred` on."""
        import re  # lazy: only `network create` checks a name
        from ipaddress import IPv4Network

        from minidock.runtime.net import netspec

        spec = spec if isinstance(spec, NetworkSpec) else NetworkSpec(subnet=spec)
        if not re.match(NAME_RE, name):
            raise UsageError(f"invalid network name {name!r}: use letters, digits, '_', '.', '-'")
        netspec.client_checks(spec)  # docker/cli's, then the daemon's (driver first)
        netspec.check_driver(spec.driver, spec.ipam_driver, spec.ipv6)
        entry = netspec.ipam_entry(spec)
        with ipam.locked(self.lock):
            nets = self._read()
            if name in nets or name in BUILTIN_DRIVERS:
                raise netspec.daemon_error(f"network with name {name} already exists", conflict=True)
            netspec.check_options(spec.options, [n.bridge for n in nets.values()])
            taken = [IPv4Network(n.subnet) for n in nets.values() if n.subnet]
            if spec.subnet is not None:
                net = netspec.parse_subnet(spec.subnet)
                if any(net.overlaps(t) for t in [*taken, *host_routes]):
                    raise netspec.daemon_error("Pool overlaps with other one on this address space", conflict=True)
            else:
                net = ipam.choose_subnet(preferred, [*taken, *host_routes])
            net_id = _token()
            bridge = spec.options.get(BRIDGE_NAME_OPT) or f"mdk-{net_id[:11]}"
            cfg = _bridge_config(name, net_id, bridge, net)._replace(
                gateway=spec.gateway or str(ipam.gateway_of(net).ip), labels=dict(spec.labels),
                options=dict(spec.options), internal=spec.internal, attachable=spec.attachable, ipam=entry)
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
        born = nets[DEFAULT_NAME].created if DEFAULT_NAME in nets else ""  # why: Docker's builtins date from its start
        return [*stored, _builtin("host")._replace(created=born), _builtin("none")._replace(created=born)]

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
