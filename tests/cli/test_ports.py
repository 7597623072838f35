"""`port` output lines (Docker's format), pure."""

from __future__ import annotations

import pytest

from minidock.cli.ports import port_lines
from minidock.errors import NotFoundError
from minidock.runtime.net.portmap import PortMapping

MAPS = [PortMapping(80, 32768), PortMapping(53, 5353, "127.0.0.1", "udp")]


def test_all_mappings() -> None:
    assert port_lines(MAPS, "web") == ["80/tcp -> 0.0.0.0:32768", "53/udp -> 127.0.0.1:5353"]


def test_one_private_port() -> None:
    assert port_lines(MAPS, "web", "80") == ["0.0.0.0:32768"]
    assert port_lines(MAPS, "web", "53/udp") == ["127.0.0.1:5353"]


def test_unpublished_port_names_it() -> None:
    with pytest.raises(NotFoundError, match="no public port '53/tcp' published for web"):
        port_lines(MAPS, "web", "53")
