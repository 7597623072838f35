"""A store deleted without `network rm` leaves its user networks' bridges behind (there is no daemon to
notice): the next `network create`, from any store, takes their bridges, rules and subnets back."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from minidock.engine import networks
from minidock.paths import Paths
from minidock.runtime.net import ipam
from tests.fixtures.cli import md, ok

pytestmark = pytest.mark.root


def _rules(bridge: str) -> list[str]:
    """The iptables rules (filter and nat tables) that belong to `bridge`."""
    out = subprocess.run(["iptables-save"], capture_output=True, text=True, check=True).stdout
    return [line for line in out.splitlines() if f"minidock:net:{bridge}" in line]


def test_a_deleted_stores_bridge_is_taken_back(busybox_store: Callable[[], Path], tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    root_a = busybox_store()
    ok("network", "create", "orphan-a")
    bridge = networks.inspect("orphan-a", Paths(str(root_a))).bridge
    try:
        ok("run", "--rm", "--network", "orphan-a", "busybox", "true")  # the bridge and its rules appear
        assert os.path.exists(f"/sys/class/net/{bridge}") and _rules(bridge)
        shutil.rmtree(root_a)  # the store goes, its network never removed
        monkeypatch.setenv("MINIDOCK_ROOT", str(tmp_path / "other-store"))
        ok("network", "create", "orphan-b")
        assert not os.path.exists(f"/sys/class/net/{bridge}")
        assert not os.path.exists(f"{ipam.HOST_DIR}/{bridge}") and not _rules(bridge)
    finally:
        md("network", "rm", "orphan-b")
        if os.path.exists(f"{ipam.HOST_DIR}/{bridge}") or os.path.exists(f"/sys/class/net/{bridge}"):
            networks._drop_bridge(bridge)  # the test failed: leave the host as it was
