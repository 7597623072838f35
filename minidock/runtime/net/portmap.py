"""Published ports: parse `-p`/`-P`, check host ports are free before start, describe mappings.

`-p [IP:][HOST:]CONTAINER[/tcp|/udp]` (HOST and CONTAINER may be equal-length ranges `8000-8001`),
`-p CONTAINER` (a random host port), `-P` (every EXPOSEd port on a random host port). Parsing is
pure; `check_ports` does a bind test per mapping BEFORE the container starts (so a taken port fails
`run` with `port 127.0.0.1:8080/tcp is already allocated` instead of half-starting) and turns host
port 0 into a concrete free port. Traffic reaches the container through DNAT rules (nat.py) for
every IPv4 host address, 127.0.0.1 included (route_localnet on the bridge, as netavark does: the
kernel forwards at veth speed), while the userland proxy (proxy.py, the docker-proxy idea) listens
on HOST_IP:HOST to hold the port and serve what DNAT does not (IPv6 host addresses).
"""

from __future__ import annotations

import errno

from minidock.errors import ConflictError, UsageError
from minidock.nouns import NamedTuple

TYPE_CHECKING = False
if TYPE_CHECKING:
    import socket
    from collections.abc import Iterable
    from typing import Any

PROTOCOLS = ("tcp", "udp")


class PortMapping(NamedTuple):
    """HOST_IP:HOST_PORT/proto on the host -> CONTAINER_PORT/proto in the container; host_port 0 = pick one."""

    container_port: int
    host_port: int = 0
    host_ip: str = ""
    proto: str = "tcp"

    @property
    def bind_ip(self) -> str:
        """The address the host side listens on ("" means every IPv4 address)."""
        return self.host_ip or "0.0.0.0"

    def __str__(self) -> str:
        return f"{self.bind_ip}:{self.host_port}->{self.container_port}/{self.proto}"

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> PortMapping:
        return cls(int(d["container_port"]), int(d.get("host_port", 0)), str(d.get("host_ip", "")),
                   str(d.get("proto", "tcp")))

    def to_json(self) -> dict[str, Any]:
        return {"container_port": self.container_port, "host_port": self.host_port,
                "host_ip": self.host_ip, "proto": self.proto}


def _port_range(text: str, spec: str, allow_zero: bool = False) -> list[int]:
    lo_s, sep, hi_s = text.partition("-")
    try:
        lo = int(lo_s)
        hi = int(hi_s) if sep else lo
    except ValueError as e:
        raise UsageError(f"invalid port {text!r} in {spec}") from e
    low_limit = 0 if allow_zero else 1
    if not (low_limit <= lo <= hi <= 65535):
        raise UsageError(f"invalid port {text!r} in {spec}: out of range")
    return list(range(lo, hi + 1))


def _split_ip(spec: str, body: str) -> tuple[str, str]:
    """(host ip, rest) of `IP:HOST:CONTAINER`, `[v6]:HOST:CONTAINER`, `HOST:CONTAINER` or `CONTAINER`."""
    if body.startswith("["):
        ip, close, rest = body[1:].partition("]")
        if not close or not rest.startswith(":"):
            raise UsageError(f"invalid publish spec {spec}")
        return ip, rest[1:]
    parts = body.split(":")
    if len(parts) == 3:
        return parts[0], f"{parts[1]}:{parts[2]}"
    if len(parts) > 3:
        raise UsageError(f"invalid publish spec {spec}: too many colons")
    return "", body


def parse_publish(spec: str) -> list[PortMapping]:
    """Every mapping one `-p` value asks for (a range gives several)."""
    body, _, proto = spec.partition("/")
    proto = (proto or "tcp").lower()
    if proto not in PROTOCOLS:
        raise UsageError(f"invalid protocol {proto!r} in {spec}: expected tcp or udp")
    ip, rest = _split_ip(spec, body)
    if ip:
        try:
            import ipaddress  # only when a host ip is given

            ipaddress.ip_address(ip)
        except ValueError as e:
            raise UsageError(f"invalid host ip {ip!r} in {spec}") from e
    host_s, colon, cont_s = rest.rpartition(":")
    if not colon:
        cont_s = rest
    cont = _port_range(cont_s, spec)
    if not host_s:
        return [PortMapping(c, 0, ip, proto) for c in cont]
    hosts = _port_range(host_s, spec)
    if len(hosts) == 1 and len(cont) > 1:
        raise UsageError(f"invalid publish spec {spec}: a container range needs a host range")
    if len(hosts) != len(cont) and len(cont) > 1:
        raise UsageError(f"invalid publish spec {spec}: host and container ranges differ in length")
    if len(cont) == 1 and len(hosts) > 1:
        hosts = hosts[:1]  # Docker picks one free port of the range; we take the first
    return [PortMapping(c, h, ip, proto) for h, c in zip(hosts, cont, strict=True)]


def parse_expose(entry: str) -> tuple[int, str]:
    """(port, proto) of an EXPOSE entry such as `80`, `80/tcp`, `53/udp`."""
    port_s, _, proto = entry.partition("/")
    proto = (proto or "tcp").lower()
    if proto not in PROTOCOLS:
        raise UsageError(f"invalid exposed port {entry}: protocol {proto!r}")
    ports = _port_range(port_s, entry)
    if len(ports) != 1:
        raise UsageError(f"invalid exposed port {entry}: ranges are not supported")
    return ports[0], proto


def publish_all(exposed: Iterable[str], explicit: Iterable[PortMapping] = ()) -> list[PortMapping]:
    """`-P`: explicit mappings plus each EXPOSEd port not already published, on a random host port."""
    result = list(explicit)
    have = {(m.container_port, m.proto) for m in result}
    for entry in exposed:
        port, proto = parse_expose(entry)
        if (port, proto) not in have:
            have.add((port, proto))
            result.append(PortMapping(port, 0, "", proto))
    return result


def _family(ip: str) -> socket.AddressFamily:
    import socket

    return socket.AF_INET6 if ":" in ip else socket.AF_INET


def bind_socket(m: PortMapping) -> socket.socket:
    """A socket bound to the mapping's host side; TCP ones listen (SO_REUSEADDR, as docker-proxy)."""
    import socket  # not at import: `run` without -p never binds

    kind = socket.SOCK_STREAM if m.proto == "tcp" else socket.SOCK_DGRAM
    s = socket.socket(_family(m.bind_ip), kind)
    try:
        if m.proto == "tcp":
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((m.bind_ip, m.host_port))
        if m.proto == "tcp":
            s.listen(128)  # with SO_REUSEADDR only a listening socket makes the next bind fail
    except OSError as e:
        s.close()
        if e.errno == errno.EADDRINUSE:
            raise ConflictError(f"port {m.bind_ip}:{m.host_port}/{m.proto} is already allocated") from e
        raise UsageError(f"port {m.bind_ip}:{m.host_port}/{m.proto}: {e.strerror}") from e
    return s


def check_ports(mappings: Iterable[PortMapping]) -> list[PortMapping]:
    """Bind-test every mapping (before the container starts); host port 0 becomes a free port."""
    import contextlib  # lazy: `run` without -p never checks a port

    resolved: list[PortMapping] = []
    seen: set[tuple[str, int, str]] = set()
    with contextlib.ExitStack() as held:  # keep each socket until all are checked: no self-collision
        for m in mappings:
            key = (m.bind_ip, m.host_port, m.proto)
            if m.host_port and key in seen:
                raise ConflictError(f"port {m.bind_ip}:{m.host_port}/{m.proto} is already allocated")
            s = held.enter_context(bind_socket(m))
            port = int(s.getsockname()[1])
            seen.add((m.bind_ip, port, m.proto))
            resolved.append(PortMapping(m.container_port, port, m.host_ip, m.proto))
    return resolved
