"""IP address management: which container holds which address of a network's subnet.

Pure core: `free_address(subnet, used)` and `choose_subnet(...)` (ipaddress), and for the `run`
path the same in ints and text (`subnet_ints`, `free_host`, `gateway_for`). Edge: a lease file per network,
`<state_dir>/<network>/leases.json` ({"subnet": ..., "leases": {container id: ip}}), rewritten
atomically (one write of a temp file + rename, no fsync: leases describe veths and namespaces that
a crash takes away anyway, so an older file after a crash is as good) while
holding an flock on `<state_dir>/<network>/leases.lock`, so concurrent `minidock run`s never
hand out the same address. Lifecycle: `allocate` when a container is attached, `release` when it
is detached, `reclaim` to drop leases of containers that vanished without a detach (crash, kill -9
of the monitor).
"""

from __future__ import annotations

import _socket
import os

from minidock import flock, plainjson
from minidock.errors import ConflictError, StoreError, UsageError
from minidock.nouns import NamedTuple

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from ipaddress import IPv4Address, IPv4Interface, IPv4Network
    from typing import Any

    from _typeshed import StrPath

LEASES = "leases.json"
LOCK = "leases.lock"
# Host-wide, per bridge: every store's leases on bridge B are in HOST_DIR/B/leases.json and its
# wiring (subnet, address, MAC) is serialized by HOST_DIR/B/wire.lock. tmpfs: it goes at reboot
# with the bridges and veths it describes.
HOST_DIR = "/run/minidock/bridges"
WIRE_LOCK = "wire.lock"
BRIDGE_RECORD = "bridge.json"
NETWORKS_LOCK = "networks.lock"  # in HOST_DIR: `network create` of every store takes turns
# Subnets other engines take by default: never chosen unless asked for (Docker's bridge and its
# first user networks, podman's `podman` network and its user networks).
RESERVED: tuple[str, ...] = ("172.17.0.0/16", "172.18.0.0/16", "10.88.0.0/16", "10.89.0.0/16")
# Fallbacks when the preferred subnet clashes with a host route or another engine's default.
FALLBACK_SUBNETS: tuple[str, ...] = (
    *(f"10.{n}.0.0/16" for n in range(200, 240)),
    *(f"192.168.{n}.0/24" for n in range(200, 256)),
)


# ---- pure core ---------------------------------------------------------------------------------
# `attach`, `allocate` and `release` run on every bridge `run`: they do IPv4 with ints and text
# (ipaddress, with functools, costs ~1.5 ms to import). The text they accept is exactly what
# ipaddress accepts; anything else goes to ipaddress, so errors and messages stay its own.

def ip_to_int(text: str) -> int:
    """`a.b.c.d` as an int; IPv4Address's error (a ValueError) for anything it would refuse."""
    try:
        packed = _socket.inet_aton(text)
    except (OSError, ValueError, TypeError):
        packed = b""
    # why the round trip: inet_aton also takes `10.1`, `0x0a.0.0.1` and trailing junk; ipaddress
    # takes only the four plain decimal octets inet_ntoa writes
    if packed and _socket.inet_ntoa(packed) == text:
        return int.from_bytes(packed, "big")
    from ipaddress import IPv4Address

    return int(IPv4Address(text))


def int_to_ip(value: int) -> str:
    """The `a.b.c.d` text of an IPv4 address given as an int."""
    return _socket.inet_ntoa(value.to_bytes(4, "big"))


def subnet_ints(text: str) -> tuple[int, int]:
    """(network address as an int, prefix length) of `10.88.0.0/16`-style text, checked as
    parse_subnet checks it (with its errors)."""
    addr, slash, prefix = text.partition("/")
    if slash and prefix.isascii() and prefix.isdigit() and len(prefix) <= 2 and int(prefix) <= 30:
        try:
            net = ip_to_int(addr)
        except ValueError:
            net = -1
        if net >= 0 and not net & ((1 << (32 - int(prefix))) - 1):
            return net, int(prefix)
    parsed = parse_subnet(text)  # why: anything unusual (a netmask, a bad address) is ipaddress's to judge
    return int(parsed.network_address), parsed.prefixlen


def gateway_for(subnet: str) -> tuple[str, int]:
    """(the bridge's address, prefix length) of subnet text: gateway_of without ipaddress."""
    net, prefixlen = subnet_ints(subnet)
    return int_to_ip(net + 1), prefixlen


def parse_subnet(text: str) -> IPv4Network:
    """An IPv4 network from `10.88.0.0/16`-style text (host bits must be zero)."""
    import ipaddress  # lazy: see above

    try:
        net = ipaddress.ip_network(text, strict=True)
    except ValueError as e:
        raise UsageError(f"invalid subnet {text}: {e}") from e
    if not isinstance(net, ipaddress.IPv4Network):
        raise UsageError(f"invalid subnet {text}: only IPv4 is supported")
    if net.prefixlen > 30:
        raise UsageError(f"invalid subnet {text}: too small (at most /30)")
    return net


def gateway_of(subnet: IPv4Network) -> IPv4Interface:
    """The bridge's address in `subnet`: the first host (.1), with the subnet's prefix."""
    from ipaddress import IPv4Interface

    return IPv4Interface(f"{subnet.network_address + 1}/{subnet.prefixlen}")


class Pool(NamedTuple):
    """Where a network's addresses come from: its subnet, gateway ("" = the first host), --ip-range
    ("" = the whole subnet) and --aux-address ones never handed out; `static`: the one asked for (--ip)."""

    subnet: str
    gateway: str = ""
    ip_range: str = ""
    reserved: tuple[str, ...] = ()
    static: str = ""


def free_host(net: int, prefixlen: int, used: Iterable[str], pool: Pool | None = None) -> int:
    """The lowest address (an int) of subnet `net/prefixlen` that is not network, gateway, broadcast
    or in `used` (IPv4Network.hosts()'s range: a /31 or /32 has no network or broadcast address);
    with `pool`, its gateway and reserved addresses are taken too and only its range is searched."""
    taken = {ip_to_int(u) for u in used}
    taken.add(ip_to_int(pool.gateway) if pool and pool.gateway else net + 1)  # the gateway
    taken.update(ip_to_int(r) for r in (pool.reserved if pool else ()))
    size = 1 << (32 - prefixlen)
    first, last = (net + 1, net + size - 2) if size > 2 else (net, net + size - 1)
    if pool and pool.ip_range:
        start, bits = subnet_ints(pool.ip_range)
        first, last = max(first, start), min(last, start + (1 << (32 - bits)) - 1)
    for host in range(first, last + 1):
        if host not in taken:
            return host
    raise ConflictError(f"subnet {int_to_ip(net)}/{prefixlen}: no free address left")


def free_address(subnet: IPv4Network, used: Iterable[str]) -> IPv4Address:
    """The lowest address of `subnet` that is not network, gateway, broadcast or in `used`."""
    from ipaddress import IPv4Address

    return IPv4Address(free_host(int(subnet.network_address), subnet.prefixlen, used))


def choose_subnet(preferred: str, in_use: Iterable[IPv4Network],
                  candidates: Iterable[str] = FALLBACK_SUBNETS) -> IPv4Network:
    """`preferred` unless it overlaps a network in `in_use` (host routes, other networks); else the
    next free candidate that is not another engine's default either (RESERVED)."""
    from ipaddress import IPv4Network

    used = list(in_use)
    reserved = [IPv4Network(r) for r in RESERVED]
    for n, text in enumerate((preferred, *candidates)):
        net = parse_subnet(text)
        if not any(net.overlaps(u) for u in (*used, *(reserved if n else ()))):
            return net
    raise ConflictError(f"subnet {preferred}: clashes with a host route and no fallback subnet is free")


# ---- state files (shared with the network config store) ----------------------------------------

def atomic_write_json(path: StrPath, obj: Any, durable: bool = True) -> None:
    """Replace `path` with `obj` as JSON so a crash leaves the old or the new file, never a mix.

    `durable=False` skips both fsyncs (about 1 ms each here), as store.atomic does for state a crash
    makes moot: the rename alone keeps readers from ever seeing a half-written file; only the last
    update may be lost. The text is json.dumps(obj, indent=2, sort_keys=True) + newline (plainjson:
    no `json` import on `run`).
    """
    data = (plainjson.dumps_indent(obj, indent=2, sort_keys=True, ensure_ascii=True) + "\n").encode()
    parent, name = os.path.split(path)
    parent = parent or "."
    tmp = f"{parent}/.{name}.{os.urandom(6).hex()}"  # unique; O_EXCL below
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
    except FileNotFoundError:
        os.makedirs(parent, exist_ok=True)
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
        try:  # noqa: SIM105 - not contextlib.suppress: one import less on `run`
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    if not durable:
        return
    dfd = os.open(parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def read_json(path: StrPath, default: Any) -> Any:
    """The JSON in `path`, or `default` when the file does not exist."""
    try:
        with open(path, "rb") as f:
            return plainjson.loads(f.read())
    except FileNotFoundError:
        return default
    except ValueError as e:
        raise StoreError(f"state file {path}: {e}") from e


locked = flock.locked  # host-wide state files lock as the store's do (minidock/flock.py)


# ---- the lease store ---------------------------------------------------------------------------

def _paths(state_dir: StrPath, network: str) -> tuple[str, str]:
    if not network or "/" in network or network.startswith("."):
        raise UsageError(f"invalid network name {network!r}")
    return os.path.join(state_dir, network, LEASES), os.path.join(state_dir, network, LOCK)


def _load(path: str) -> dict[str, str]:
    raw = read_json(path, {})
    leases = raw.get("leases", {}) if isinstance(raw, dict) else {}
    return {str(k): str(v) for k, v in leases.items()}


def _owners(path: str) -> dict[str, str]:
    raw = read_json(path, {})
    owners = raw.get("owners", {}) if isinstance(raw, dict) else {}
    return {str(k): str(v) for k, v in owners.items()}


def _save(path: str, subnet: str, leases: dict[str, str], owners: dict[str, str] | None = None) -> None:
    """`owners` (container id -> the store root that leased it) are kept for the ids still leased."""
    data: dict[str, Any] = {"subnet": subnet, "leases": leases}
    kept = {k: v for k, v in (owners if owners is not None else _owners(path)).items() if k in leases}
    if kept:
        data["owners"] = kept
    atomic_write_json(path, data, durable=False)


def leases(state_dir: StrPath, network: str) -> dict[str, str]:
    """Container id -> address currently leased in `network`."""
    path, lock = _paths(state_dir, network)
    with locked(lock):
        return _load(path)


def allocate(state_dir: StrPath, network: str, subnet: str | Pool, container_id: str, owner: str = "") -> str:
    """Lease an address of `subnet` (or of a Pool) to `container_id` (the same one again if it
    already holds one); `owner` (the store root) is recorded with it, so a lease of a vanished
    container can be told. Returns the address with the subnet's prefix, `10.200.0.2/16`."""
    pool = subnet if isinstance(subnet, Pool) else None
    net, prefixlen = subnet_ints(pool.subnet if pool else str(subnet))
    path, lock = _paths(state_dir, network)
    with locked(lock):
        current = _load(path)
        if container_id in current:
            return f"{int_to_ip(ip_to_int(current[container_id]))}/{prefixlen}"
        if pool and pool.static:
            ip = _static(pool, current)
        else:
            ip = int_to_ip(free_host(net, prefixlen, current.values(), pool))
        current[container_id] = ip
        owners = _owners(path)
        if owner:
            owners[container_id] = owner
        _save(path, f"{int_to_ip(net)}/{prefixlen}", current, owners)
    return f"{ip}/{prefixlen}"


def _static(pool: Pool, current: dict[str, str]) -> str:
    """The --ip asked for, unless another container (or the gateway) has it: Docker's words."""
    ip = int_to_ip(ip_to_int(pool.static))
    gateway = pool.gateway or gateway_for(pool.subnet)[0]
    if ip in current.values() or ip == gateway or ip in pool.reserved:
        raise ConflictError(f"Address already in use: {ip}")
    return ip


def release(state_dir: StrPath, network: str, container_id: str) -> bool:
    """Drop the lease of `container_id` in `network`; False when it held none."""
    return release_left(state_dir, network, container_id) is not None


def release_left(state_dir: StrPath, network: str, container_id: str) -> int | None:
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


def owned(state_dir: StrPath, network: str) -> dict[str, tuple[str, str]]:
    """Container id -> (address, owner store root or "") of every lease in `network`."""
    path, lock = _paths(state_dir, network)
    with locked(lock):
        owners = _owners(path)
        return {cid: (ip, owners.get(cid, "")) for cid, ip in _load(path).items()}


def reclaim(state_dir: StrPath, network: str, exists: Callable[[str, str], bool]) -> list[str]:
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


def networks_with_leases(state_dir: StrPath) -> list[str]:
    """Names of networks that have a lease file under `state_dir`."""
    try:
        names = os.listdir(state_dir)
    except OSError:  # not a directory (yet)
        return []
    return sorted(n for n in names if os.path.isdir(os.path.join(state_dir, n))
                  and os.path.exists(os.path.join(state_dir, n, LEASES)))
