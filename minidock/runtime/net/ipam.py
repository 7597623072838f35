"""IP address management: which container holds which address of a network's subnet.

Pure core: `free_address(subnet, used)` and `choose_subnet(...)`. Edge: a lease file per network,
`<state_dir>/<network>/leases.json` ({"subnet": ..., "leases": {container id: ip}}), rewritten
atomically (one write of a temp file + rename, no fsync: leases describe veths and namespaces that
a crash takes away anyway, so an older file after a crash is as good) while
holding an flock on `<state_dir>/<network>/leases.lock`, so concurrent `minidock run`s never
hand out the same address. Lifecycle: `allocate` when a container is attached, `release` when it
is detached, `reclaim` to drop leases of containers that vanished without a detach (crash, kill -9
of the monitor).
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import json
import os
from collections.abc import Callable, Iterable, Iterator
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from pathlib import Path

from minidock.errors import ConflictError, StoreError, UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

LEASES = "leases.json"
LOCK = "leases.lock"
# Host-wide, per bridge: every store's leases on bridge B are in HOST_DIR/B/leases.json and its
# wiring (subnet, address, MAC) is serialized by HOST_DIR/B/wire.lock. tmpfs: it goes at reboot
# with the bridges and veths it describes.
HOST_DIR = Path("/run/minidock/bridges")
WIRE_LOCK = "wire.lock"
BRIDGE_RECORD = "bridge.json"
NETWORKS_LOCK = "networks.lock"  # in HOST_DIR: `network create` of every store takes turns
# Subnets other engines take by default: never chosen unless asked for (Docker's bridge and its
# first user networks, podman's `podman` network and its user networks).
RESERVED = tuple(IPv4Network(n) for n in ("172.17.0.0/16", "172.18.0.0/16", "10.88.0.0/16", "10.89.0.0/16"))
# Fallbacks when the preferred subnet clashes with a host route or another engine's default.
FALLBACK_SUBNETS: tuple[str, ...] = (
    *(f"10.{n}.0.0/16" for n in range(200, 240)),
    *(f"192.168.{n}.0/24" for n in range(200, 256)),
)


# ---- pure core ---------------------------------------------------------------------------------

def parse_subnet(text: str) -> IPv4Network:
    """An IPv4 network from `10.88.0.0/16`-style text (host bits must be zero)."""
    try:
        net = ipaddress.ip_network(text, strict=True)
    except ValueError as e:
        raise UsageError(f"invalid subnet {text}: {e}") from e
    if not isinstance(net, IPv4Network):
        raise UsageError(f"invalid subnet {text}: only IPv4 is supported")
    if net.prefixlen > 30:
        raise UsageError(f"invalid subnet {text}: too small (at most /30)")
    return net


def gateway_of(subnet: IPv4Network) -> IPv4Interface:
    """The bridge's address in `subnet`: the first host (.1), with the subnet's prefix."""
    return IPv4Interface(f"{subnet.network_address + 1}/{subnet.prefixlen}")


def free_address(subnet: IPv4Network, used: Iterable[str]) -> IPv4Address:
    """The lowest address of `subnet` that is not network, gateway, broadcast or in `used`."""
    taken = {IPv4Address(u) for u in used}
    taken.add(gateway_of(subnet).ip)
    for host in subnet.hosts():  # hosts() already skips network and broadcast
        if host not in taken:
            return host
    raise ConflictError(f"subnet {subnet}: no free address left")


def choose_subnet(preferred: str, in_use: Iterable[IPv4Network],
                  candidates: Iterable[str] = FALLBACK_SUBNETS) -> IPv4Network:
    """`preferred` unless it overlaps a network in `in_use` (host routes, other networks); else the
    next free candidate that is not another engine's default either (RESERVED)."""
    used = list(in_use)
    for n, text in enumerate((preferred, *candidates)):
        net = parse_subnet(text)
        if not any(net.overlaps(u) for u in (*used, *(RESERVED if n else ()))):
            return net
    raise ConflictError(f"subnet {preferred}: clashes with a host route and no fallback subnet is free")


# ---- state files (shared with the network config store) ----------------------------------------

def atomic_write_json(path: Path, obj: Any, durable: bool = True) -> None:
    """Replace `path` with `obj` as JSON so a crash leaves the old or the new file, never a mix.

    `durable=False` skips both fsyncs (about 1 ms each here), as store.atomic does for state a crash
    makes moot: the rename alone keeps readers from ever seeing a half-written file; only the last
    update may be lost.
    """
    data = (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode()
    tmp = path.parent / f".{path.name}.{os.urandom(6).hex()}"  # unique; O_EXCL below
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
    try:
        try:
            os.write(fd, data)  # a few hundred bytes: one write
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    if not durable:
        return
    dfd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def read_json(path: Path, default: Any) -> Any:
    """The JSON in `path`, or `default` when the file does not exist."""
    try:
        return json.loads(path.read_bytes())
    except FileNotFoundError:
        return default
    except ValueError as e:
        raise StoreError(f"state file {path}: {e}") from e


@contextlib.contextmanager
def locked(lock_file: Path) -> Iterator[None]:
    """Hold an exclusive flock on `lock_file` (created if missing) for the block."""
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_file, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


# ---- the lease store ---------------------------------------------------------------------------

def _paths(state_dir: Path, network: str) -> tuple[Path, Path]:
    if not network or "/" in network or network.startswith("."):
        raise UsageError(f"invalid network name {network!r}")
    return state_dir / network / LEASES, state_dir / network / LOCK


def _load(path: Path) -> dict[str, str]:
    raw = read_json(path, {})
    leases = raw.get("leases", {}) if isinstance(raw, dict) else {}
    return {str(k): str(v) for k, v in leases.items()}


def _owners(path: Path) -> dict[str, str]:
    raw = read_json(path, {})
    owners = raw.get("owners", {}) if isinstance(raw, dict) else {}
    return {str(k): str(v) for k, v in owners.items()}


def _save(path: Path, subnet: str, leases: dict[str, str], owners: dict[str, str] | None = None) -> None:
    """`owners` (container id -> the store root that leased it) are kept for the ids still leased."""
    data: dict[str, Any] = {"subnet": subnet, "leases": leases}
    kept = {k: v for k, v in (owners if owners is not None else _owners(path)).items() if k in leases}
    if kept:
        data["owners"] = kept
    atomic_write_json(path, data, durable=False)


def leases(state_dir: Path, network: str) -> dict[str, str]:
    """Container id -> address currently leased in `network`."""
    path, lock = _paths(state_dir, network)
    with locked(lock):
        return _load(path)


def allocate(state_dir: Path, network: str, subnet: str, container_id: str, owner: str = "") -> IPv4Interface:
    """Lease an address of `subnet` to `container_id` (the same one again if it already holds one);
    `owner` (the store root) is recorded with it, so a lease of a vanished container can be told."""
    net = parse_subnet(subnet)
    path, lock = _paths(state_dir, network)
    with locked(lock):
        current = _load(path)
        if container_id in current:
            return IPv4Interface(f"{current[container_id]}/{net.prefixlen}")
        ip = free_address(net, current.values())
        current[container_id] = str(ip)
        owners = _owners(path)
        if owner:
            owners[container_id] = owner
        _save(path, str(net), current, owners)
    return IPv4Interface(f"{ip}/{net.prefixlen}")


def release(state_dir: Path, network: str, container_id: str) -> bool:
    """Drop the lease of `container_id` in `network`; False when it held none."""
    return release_left(state_dir, network, container_id) is not None


def release_left(state_dir: Path, network: str, container_id: str) -> int | None:
    """Drop the lease of `container_id` in `network`: how many leases are left (None: it held none)."""
    path, lock = _paths(state_dir, network)
    with locked(lock):
        raw = read_json(path, {})
        leases = raw.get("leases", {}) if isinstance(raw, dict) else {}
        current = {str(k): str(v) for k, v in leases.items()}
        if container_id not in current:
            return None
        del current[container_id]
        _save(path, str(raw.get("subnet", "")), current)
    return len(current)


def owned(state_dir: Path, network: str) -> dict[str, tuple[str, str]]:
    """Container id -> (address, owner store root or "") of every lease in `network`."""
    path, lock = _paths(state_dir, network)
    with locked(lock):
        owners = _owners(path)
        return {cid: (ip, owners.get(cid, "")) for cid, ip in _load(path).items()}


def reclaim(state_dir: Path, network: str, exists: Callable[[str, str], bool]) -> list[str]:
    """Drop every lease whose container `exists(id, owner)` says is gone (owner: the store root
    recorded with the lease, or ""); return those container ids."""
    path, lock = _paths(state_dir, network)
    with locked(lock):
        current = _load(path)
        owners = _owners(path)
        gone = [cid for cid in current if not exists(cid, owners.get(cid, ""))]
        if gone:
            subnet = str(read_json(path, {}).get("subnet", ""))
            _save(path, subnet, {k: v for k, v in current.items() if k not in gone})
    return gone


def networks_with_leases(state_dir: Path) -> list[str]:
    """Names of networks that have a lease file under `state_dir`."""
    if not state_dir.is_dir():
        return []
    return sorted(p.parent.name for p in state_dir.glob(f"*/{LEASES}"))
