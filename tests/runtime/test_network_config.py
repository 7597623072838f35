"""The user-network store: create/list/inspect/remove over networks.json (no root needed)."""

from __future__ import annotations

import json
from ipaddress import IPv4Network
from pathlib import Path

import pytest

from minidock.errors import ConflictError, NotFoundError, UsageError
from minidock.runtime.net import ipam
from minidock.runtime.net.netconfig import NetworkConfig, NetworkStore

ROUTES = [IPv4Network("192.0.2.0/24"), IPv4Network("10.89.0.0/16")]


def test_default_network_avoids_host_route_and_is_stable(tmp_path: Path) -> None:
    store = NetworkStore(tmp_path)
    first = store.ensure_default("10.88.0.0/16", [IPv4Network("10.88.5.0/24")])
    assert (first.name, first.bridge, first.subnet, first.gateway) == ("bridge", "minidock0", "10.200.0.0/16",
                                                                       "10.200.0.1")
    assert first.gateway_cidr == "10.200.0.1/16"
    assert store.ensure_default("10.88.0.0/16", []) == first  # persisted, not re-chosen


def test_create_list_inspect_remove(tmp_path: Path) -> None:
    store = NetworkStore(tmp_path)
    store.ensure_default("10.88.0.0/16", ROUTES)
    web = store.create("web", None, ROUTES)
    assert web.subnet == "10.201.0.0/16" and web.gateway == "10.201.0.1"
    assert web.bridge.startswith("mdk-") and len(web.bridge) == 15 and web.bridge[4:] == web.id[:11]
    db = store.create("db", "10.213.77.0/24", ROUTES)
    assert [n.name for n in store.list()] == ["bridge", "db", "web", "host", "none"]
    assert [n.driver for n in store.list()][-2:] == ["host", "null"]
    assert store.inspect("web") == web and store.inspect(web.id[:8]) == web and store.inspect(db.id) == db
    assert NetworkConfig.from_json(json.loads(json.dumps(web.to_json()))) == web
    on_disk = json.loads((tmp_path / "networks.json").read_text())
    assert set(on_disk) == {"bridge", "db", "web"}
    assert store.remove("web") == web
    with pytest.raises(NotFoundError, match="network web not found"):
        store.inspect("web")


def test_create_conflicts_and_bad_names(tmp_path: Path) -> None:
    store = NetworkStore(tmp_path)
    store.create("web", "10.213.1.0/24", [])
    with pytest.raises(ConflictError, match="network with name web already exists"):
        store.create("web", None, [])
    with pytest.raises(ConflictError, match="network with name host already exists"):
        store.create("host", None, [])
    with pytest.raises(ConflictError, match=r"^Error response from daemon: Pool overlaps with other one on this "):
        store.create("other", "10.213.0.0/16", [])  # Docker 20.10's words
    with pytest.raises(ConflictError, match=r"Pool overlaps"):
        store.create("other", "192.0.2.128/25", ROUTES)
    with pytest.raises(UsageError, match="invalid network name"):
        store.create("-bad/name", None, [])


def test_remove_refuses_builtins_and_networks_in_use(tmp_path: Path) -> None:
    store = NetworkStore(tmp_path)
    store.ensure_default("10.88.0.0/16", [])
    with pytest.raises(UsageError, match="bridge is a pre-defined network"):
        store.remove("bridge")
    web = store.create("web", None, [])
    ipam.allocate(tmp_path, "web", web.subnet, "c1")
    with pytest.raises(ConflictError, match="network web has active endpoints"):
        store.remove("web")
    with pytest.raises(ConflictError):
        store.remove("web", exists=lambda cid, owner: True)
    assert store.remove("web", exists=lambda cid, owner: False) == web  # stale lease reclaimed first
