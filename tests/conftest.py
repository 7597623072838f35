"""Test set-up: markers that skip without root, the store root, and the fixture plugins.

Every image and binary the suite uses is made by the suite from Debian packages on the machine
(tests/fixtures/rootfs.py); nothing is read from outside the repository.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest_plugins = [
    "tests.fixtures.busybox", "tests.fixtures.registry", "tests.fixtures.sharing", "tests.fixtures.oracle",
]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.geteuid() == 0:
        return
    skip = pytest.mark.skip(reason="needs root")
    for item in items:
        if "root" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def store_root(tmp_path: Path) -> Path:
    """A fresh, empty store root for one test."""
    root = tmp_path / "store"
    root.mkdir()
    return root

