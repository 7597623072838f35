"""`network connect/disconnect`: a second interface on another user network, names both ways, undone cleanly."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.fixtures.cli import md, ok

pytestmark = pytest.mark.root


def _links() -> set[str]:
    return {p.name for p in Path("/sys/class/net").iterdir()}


@pytest.fixture
def nets(busybox_store: Callable[[], Path]) -> Iterator[None]:
    busybox_store()
    ok("network", "create", "mdca")
    ok("network", "create", "mdcb")
    yield
    for name in ("cc1", "cc2"):
        md("rm", "-f", name)
    md("network", "rm", "mdca", "mdcb")


def _state(name: str) -> dict[str, object]:
    import os

    cid = ok("ps", "-aq", "--no-trunc", "--filter", f"name=^{name}$").strip()
    return json.loads((Path(os.environ["MINIDOCK_ROOT"]) / "containers" / cid / "state.json").read_text())


def test_connect_adds_eth1_with_names_and_disconnect_removes_it(nets: None) -> None:
    ok("run", "-d", "--name", "cc1", "--network", "mdca", "busybox", "sleep", "300")
    ok("run", "-d", "--name", "cc2", "--network", "mdcb", "busybox", "sleep", "300")
    assert md("exec", "cc1", "ping", "-c1", "-W1", "cc2").returncode != 0  # isolated networks
    ok("network", "connect", "mdcb", "cc1")
    addrs = ok("exec", "cc1", "ip", "-4", "-o", "addr")
    assert " eth1 " in addrs and " eth0 " in addrs
    assert ok("exec", "cc1", "ip", "route").count("default") == 1  # the first network keeps the default route
    ok("exec", "cc1", "ping", "-c1", "-W2", "cc2")
    ok("exec", "cc2", "ping", "-c1", "-W2", "cc1")
    r = md("network", "connect", "mdcb", "cc1")
    assert r.returncode == 1 and "already exists" in r.stderr
    veth = _state("cc1")["network"]["extra"][0]["host_veth"]  # type: ignore[index]
    assert veth in _links()
    nets = json.loads(ok("inspect", "-f", "{{json .NetworkSettings.Networks}}", "cc1"))
    assert set(nets) == {"mdca", "mdcb"} and nets["mdcb"]["IPAddress"].count(".") == 3
    ok("network", "disconnect", "mdcb", "cc1")
    assert " eth1 " not in ok("exec", "cc1", "ip", "-4", "-o", "addr") and veth not in _links()
    assert "cc1" not in ok("exec", "cc2", "cat", "/etc/hosts")
    r = md("network", "disconnect", "mdcb", "cc1")
    assert r.returncode == 1


def test_connected_network_comes_back_after_restart_and_goes_with_rm(nets: None) -> None:
    ok("run", "-d", "--name", "cc1", "--network", "mdca", "busybox", "sleep", "300")
    ok("network", "connect", "mdcb", "cc1")
    ok("restart", "-t", "0", "cc1")
    assert " eth1 " in ok("exec", "cc1", "ip", "-4", "-o", "addr")
    veth = _state("cc1")["network"]["extra"][0]["host_veth"]  # type: ignore[index]
    ok("rm", "-f", "cc1")
    assert veth not in _links()


def test_connect_refused_for_none_and_missing(nets: None) -> None:
    ok("run", "-d", "--name", "cc1", "--network", "none", "busybox", "sleep", "300")
    assert md("network", "connect", "mdcb", "cc1").returncode == 1
    assert md("network", "connect", "nosuchnet", "cc1").returncode != 0
    assert md("network", "connect", "mdcb", "nosuchctr").returncode != 0
