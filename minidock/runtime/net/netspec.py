"""`network create`'s checks, pure: Docker 20.10's words for a bad IPAM config or driver option.

docker/cli checks the IPAM flags first (`consolidateIpam`: "every ip-range or gateway must have a
corresponding subnet", "no matching subnet for ..."; exit 1, no prefix), then the daemon refuses
what it cannot use ("Error response from daemon: ..."). `ipam_entry` runs both, in that order, and
returns the IPAM.Config entry Docker's inspect shows (only what was given).
"""

from __future__ import annotations

from minidock.errors import ConflictError, MinidockError, PlainError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ipaddress import IPv4Address, IPv4Network
    from typing import Any

    from minidock.runtime.net.netconfig import NetworkSpec

DAEMON = "Error response from daemon: "
GO_TRUE = ("1", "t", "T", "TRUE", "true", "True")
GO_FALSE = ("0", "f", "F", "FALSE", "false", "False")


def daemon_error(message: str, conflict: bool = False) -> MinidockError:
    """Docker's daemon refusing: `Error response from daemon: MESSAGE`, exit 1."""
    if conflict:  # a name or pool taken: still a ConflictError for the engine's callers
        err = ConflictError(DAEMON + message)
        err.bare, err.exit_code = True, 1
        return err
    return PlainError(DAEMON + message)


def _contains(subnet: str, data: str) -> bool:
    """docker/cli's subnetMatches: whether `data` (an address or CIDR) lies in `subnet`."""
    import ipaddress

    try:
        net = ipaddress.ip_network(subnet, strict=False)
    except ValueError:
        raise PlainError(f"invalid subnet: invalid CIDR address: {subnet}") from None
    try:
        ip = ipaddress.ip_interface(data).ip if "/" in data else ipaddress.ip_address(data)
    except ValueError:
        if "/" in data:
            raise PlainError(f"invalid cidr: invalid CIDR address: {data}") from None
        return False
    return ip in net


def client_checks(spec: NetworkSpec) -> None:
    """consolidateIpam's errors, in its order."""
    if not spec.subnet and (spec.gateway or spec.ip_range):
        raise PlainError("every ip-range or gateway must have a corresponding subnet")
    for what, value in (("range", spec.ip_range), ("gateway", spec.gateway)):
        if value and not _contains(str(spec.subnet), value):
            raise PlainError(f"no matching subnet for {what} {value}")
    for value in spec.aux.values():
        if not spec.subnet or not _contains(spec.subnet, value):
            raise PlainError(f"no matching subnet for aux-address {value}")


def parse_subnet(text: str) -> IPv4Network:
    """A --subnet as Docker's daemon takes it (host bits may be set); IPv4 only in minidock."""
    import ipaddress

    try:
        net = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise daemon_error(f"Invalid subnet {text} : invalid CIDR address: {text}") from None
    if not isinstance(net, ipaddress.IPv4Network):
        raise daemon_error(f"minidock supports IPv4 networks only, not subnet {text}")
    if net.prefixlen > 30:
        raise daemon_error(f"Invalid subnet {text} : minidock needs at least a /30")
    return net


def _address(text: str) -> IPv4Address:
    from ipaddress import IPv4Address

    return IPv4Address(text)


def ipam_entry(spec: NetworkSpec) -> dict[str, Any]:
    """The IPAM.Config entry for `spec` ({} with no --subnet), or Docker's error for it."""
    client_checks(spec)
    if not spec.subnet:
        return {}
    net = parse_subnet(spec.subnet)
    entry: dict[str, Any] = {"Subnet": spec.subnet}
    if spec.ip_range:
        import ipaddress

        try:
            pool = ipaddress.ip_network(spec.ip_range, strict=False)
        except ValueError:
            pool = None
        if "/" not in spec.ip_range or pool is None or not pool.subnet_of(net):  # type: ignore[arg-type]
            raise daemon_error(f'failed to parse pool request for address space "LocalDefault" pool '
                               f'"{net}" subpool "{spec.ip_range}": Invalid Address SubPool')
        entry["IPRange"] = spec.ip_range
    if spec.gateway:
        if "/" in spec.gateway:
            raise daemon_error(f"invalid gateway address {spec.gateway} in Ipam configuration")
        entry["Gateway"] = spec.gateway
    gateway = spec.gateway or str(net.network_address + 1)
    for key, value in spec.aux.items():
        if _address(value) == _address(gateway):
            raise daemon_error(f"failed to allocate secondary ip address ({key}:{value}): Address already in use")
    if spec.aux:
        entry["AuxiliaryAddresses"] = dict(spec.aux)
    return entry


def check_options(options: dict[str, str], taken_bridges: list[str]) -> None:
    """The bridge driver's `-o` options Docker parses: mtu an int, the enable_* ones Go booleans, a
    bridge name that fits a Linux interface name and is not another network's."""
    from minidock.runtime.net import netconfig as nc

    for key, value in options.items():
        if key == nc.MTU_OPT and not (value.lstrip("+-").isdigit() and value.isascii()):
            raise daemon_error(f'failed to parse {key} value: {value} (strconv.Atoi: parsing "{value}": '
                               "invalid syntax)")
        if key in (nc.MASQ_OPT, nc.ICC_OPT) and value not in (*GO_TRUE, *GO_FALSE):
            raise daemon_error(f'failed to parse {key} value: {value} (strconv.ParseBool: parsing "{value}": '
                               "invalid syntax)")
    name = options.get(nc.BRIDGE_NAME_OPT, "")
    if name and (len(name) > 15 or "/" in name or name in (".", "..") or not name.isprintable() or " " in name):
        raise daemon_error(f"invalid bridge name {name}")
    if name and (name in taken_bridges or name == nc.DEFAULT_BRIDGE):
        raise daemon_error(f"bridge name {name} already in use", conflict=True)


def single(subnets: list[str], gateways: list[str], ranges: list[str]) -> tuple[str | None, str, str]:
    """The one subnet (gateway, range) minidock's networks have, from repeatable flags."""
    if len(subnets) < max(len(gateways), len(ranges)):
        raise PlainError("every ip-range or gateway must have a corresponding subnet")
    if len(subnets) > 1:
        raise daemon_error("minidock supports one subnet per network")
    return (subnets[0] if subnets else None), (gateways[0] if gateways else ""), (ranges[0] if ranges else "")


def check_driver(driver: str, ipam_driver: str = "default", ipv6: bool = False) -> None:
    """`-d`/`--ipam-driver`/`--ipv6`: Docker's words for what minidock (like a daemon without plugins
    or IPv6 pools) lacks."""
    if driver in ("host", "null"):
        raise daemon_error(f'only one instance of "{driver}" network is allowed')
    if driver == "overlay":
        raise daemon_error('This node is not a swarm manager. Use "minidock swarm init" or "minidock swarm join" '
                           "to connect this node to swarm and try again.")
    for name in (driver, ipam_driver if ipam_driver != "default" else "bridge"):
        if name != "bridge":
            raise daemon_error(f'plugin "{name}" not found')
    if ipv6:
        raise daemon_error("could not find an available, non-overlapping IPv6 address pool among the defaults "
                           "to assign to the network")
