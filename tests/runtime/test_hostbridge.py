"""The host-wide side of a bridge: a subnet chosen against the host's routes when the bridge is
(re)created and kept while it exists, a fixed MAC, the record under ipam.HOST_DIR.

Uses two bridges of its own (random names: one to be wired, one whose route makes a clash), removed at the end.
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
from collections.abc import Iterator
from ipaddress import IPv4Network

import pytest

from minidock.runtime.net import hostbridge, ipam, network

pytestmark = pytest.mark.root


def _ip(*args: str) -> str:
    return subprocess.run(["ip", *args], check=True, capture_output=True, text=True).stdout


@pytest.fixture
def names() -> Iterator[tuple[str, str, str]]:
    """(bridge, a second link of ours, a subnet that link's route takes)."""
    tag = secrets.token_hex(3)
    bridge, other = f"mdh{tag}", f"mdd{tag}"
    taken = {r for r in network.host_networks()}
    clash = next(f"10.{n}.0.0/16" for n in range(240, 250) if not any(IPv4Network(f"10.{n}.0.0/16").overlaps(t)
                                                                       for t in taken))
    _ip("link", "add", other, "type", "bridge")  # a link of ours whose route takes `clash`
    _ip("addr", "add", clash.replace(".0/16", ".1/16"), "dev", other)
    _ip("link", "set", other, "up")
    try:
        yield bridge, other, clash
    finally:
        network.remove_bridge(bridge)
        subprocess.run(["ip", "link", "del", other], check=False)
        shutil.rmtree(f"{ipam.HOST_DIR}/{bridge}", ignore_errors=True)


def test_subnet_rechecked_at_creation_and_kept_while_the_bridge_lives(names: tuple[str, str, str]) -> None:
    bridge, _other, clash = names
    subnet, index = hostbridge.ensure(bridge, clash, lambda: clash)
    assert subnet != clash  # the other link's route took it: the next free fallback instead
    net = IPv4Network(subnet)
    assert not any(net.overlaps(IPv4Network(r)) for r in ipam.RESERVED)
    assert hostbridge.recorded(bridge) == (subnet, index)
    gateway = ipam.gateway_of(net)
    assert f"inet {gateway.with_prefixlen} " in _ip("-o", "-4", "addr", "show", "dev", bridge)
    assert f"link/ether {network.bridge_mac(gateway.ip)} " in _ip("-o", "link", "show", bridge)
    # while the bridge exists its subnet stands, whatever a store asks for
    assert hostbridge.ensure(bridge, "10.251.0.0/16", lambda: "10.251.0.0/16") == (subnet, index)
    # re-created (deleted behind our back): chosen again, here the free subnet asked for
    network.remove_bridge(bridge)
    free = next(f"10.{n}.0.0/16" for n in range(250, 256)
                if not any(IPv4Network(f"10.{n}.0.0/16").overlaps(t) for t in network.host_networks()))
    again, new_index = hostbridge.ensure(bridge, free, lambda: free)
    assert again == free and new_index != index
    assert hostbridge.recorded(bridge) == (free, new_index)
