"""Port publishing: `-p`/`-P` parsing, the bind test, and the userland proxy (on loopback only)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from minidock.errors import ConflictError, UsageError
from minidock.runtime.net import portmap
from minidock.runtime.net.portmap import PortMapping
from minidock.runtime.net.proxy import start_proxy


@pytest.mark.parametrize(("spec", "expected"), [
    ("80", [PortMapping(80)]),
    ("8080:80", [PortMapping(80, 8080)]),
    ("127.0.0.1:8080:80", [PortMapping(80, 8080, "127.0.0.1")]),
    ("127.0.0.1::80/udp", [PortMapping(80, 0, "127.0.0.1", "udp")]),
    ("53:53/UDP", [PortMapping(53, 53, "", "udp")]),
    ("[::1]:8080:80", [PortMapping(80, 8080, "::1")]),
    ("8000-8001:80-81", [PortMapping(80, 8000), PortMapping(81, 8001)]),
    ("8000-8010:80", [PortMapping(80, 8000)]),
    ("80-81", [PortMapping(80), PortMapping(81)]),
])
def test_parse_publish(spec: str, expected: list[PortMapping]) -> None:
    assert portmap.parse_publish(spec) == expected


@pytest.mark.parametrize(("spec", "message"), [
    ("80/sctp", "invalid protocol 'sctp'"),
    ("x:80", "invalid port 'x'"),
    ("70000:80", "out of range"),
    ("nothost:1:2", "invalid host ip 'nothost'"),
    ("1:2:3:4", "too many colons"),
    ("8000:80-81", "needs a host range"),
    ("8000-8002:80-81", "differ in length"),
    ("0:80", "out of range"),
])
def test_parse_publish_errors(spec: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        portmap.parse_publish(spec)


def test_publish_all_adds_exposed_ports_once() -> None:
    explicit = portmap.parse_publish("8080:80")
    got = portmap.publish_all(["80/tcp", "53/udp", "443", "53/udp"], explicit)
    assert got == [PortMapping(80, 8080), PortMapping(53, 0, "", "udp"), PortMapping(443)]
    with pytest.raises(UsageError):
        portmap.parse_expose("80/icmp")


def test_mapping_json_round_trip_and_str() -> None:
    m = PortMapping(80, 8080, "127.0.0.1", "udp")
    assert PortMapping.from_json(m.to_json()) == m
    assert str(PortMapping(80, 8080)) == "0.0.0.0:8080->80/tcp"


def test_check_ports_resolves_random_port_and_detects_conflict() -> None:
    got = portmap.check_ports([PortMapping(80, 0, "127.0.0.1"), PortMapping(53, 0, "127.0.0.1", "udp")])
    assert all(m.host_port > 0 for m in got)
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    port = busy.getsockname()[1]
    try:
        with pytest.raises(ConflictError, match=rf"^port 127.0.0.1:{port}/tcp is already allocated$"):
            portmap.check_ports([PortMapping(80, port, "127.0.0.1")])
    finally:
        busy.close()
    free = portmap.check_ports([PortMapping(80, 0, "127.0.0.1")])[0].host_port
    with pytest.raises(ConflictError, match="already allocated"):  # the same port twice in one run
        portmap.check_ports([PortMapping(80, free, "127.0.0.1"), PortMapping(81, free, "127.0.0.1")])


@pytest.fixture
def echo_server() -> Iterator[int]:
    """A TCP server on 127.0.0.1 that uppercases what it reads until EOF, then replies and closes."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()

    def serve() -> None:
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            with conn:
                data = b""
                while chunk := conn.recv(65536):
                    data += chunk
                conn.sendall(data.upper())

    threading.Thread(target=serve, daemon=True).start()
    yield srv.getsockname()[1]
    srv.close()


def test_tcp_proxy_forwards_both_ways_with_half_close(echo_server: int) -> None:
    m = portmap.check_ports([PortMapping(echo_server, 0, "127.0.0.1")])[0]
    proxy = start_proxy(m, "127.0.0.1")
    try:
        payload = b"hello minidock " * 20000  # larger than one buffer: exercises back-pressure
        for _ in range(3):
            with socket.create_connection(("127.0.0.1", m.host_port), timeout=5) as c:
                c.sendall(payload)
                c.shutdown(socket.SHUT_WR)
                got = b""
                while chunk := c.recv(65536):
                    got += chunk
            assert got == payload.upper()
    finally:
        proxy.close()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", m.host_port), timeout=2)
    assert not proxy.conns


def test_tcp_proxy_to_closed_port_drops_client() -> None:
    dead = portmap.check_ports([PortMapping(1, 0, "127.0.0.1")])[0].host_port  # free now: nobody listens
    m = portmap.check_ports([PortMapping(dead, 0, "127.0.0.1")])[0]
    proxy = start_proxy(m, "127.0.0.1")
    try:
        with socket.create_connection(("127.0.0.1", m.host_port), timeout=5) as c:
            assert c.recv(10) == b""
    finally:
        proxy.close()


def test_udp_proxy_round_trip() -> None:
    srv = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    srv.bind(("127.0.0.1", 0))

    def serve() -> None:
        data, addr = srv.recvfrom(1024)
        srv.sendto(data[::-1], addr)

    threading.Thread(target=serve, daemon=True).start()
    m = portmap.check_ports([PortMapping(srv.getsockname()[1], 0, "127.0.0.1", "udp")])[0]
    proxy = start_proxy(m, "127.0.0.1")
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as c:
            c.settimeout(5)
            c.sendto(b"abc", ("127.0.0.1", m.host_port))
            assert c.recvfrom(1024)[0] == b"cba"
    finally:
        proxy.close()
        srv.close()


def test_proxy_on_taken_port_is_a_conflict(echo_server: int) -> None:
    with pytest.raises(ConflictError, match=rf"port 127.0.0.1:{echo_server}/tcp is already allocated"):
        start_proxy(PortMapping(1, echo_server, "127.0.0.1"), "127.0.0.1")
