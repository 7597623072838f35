"""Shared test set-up: markers that skip without root, the store root, and the shared fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest_plugins = [
    "tests.fixtures.registry", "tests.fixtures.sharing", "tests.fixtures.busybox", "tests.fixtures.oracle",
]

SHARED = Path(__file__).resolve().parent.parent.parent / "shared"


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


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """../shared next to the repository (test material); tests that need it skip when absent."""
    return SHARED
