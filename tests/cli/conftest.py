"""CLI test fixtures: a busybox store whose containers are force-removed when the test ends."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.fixtures import cli


@pytest.fixture
def root(busybox_store: Callable[[], Path]) -> Iterator[Path]:
    """A fresh busybox store (MINIDOCK_ROOT points at it); every container in it is removed after."""
    r = busybox_store()
    yield r
    ids = cli.md("ps", "-aq", "--no-trunc", timeout=30).stdout.split()
    if ids:
        cli.md("rm", "-f", *ids, timeout=30)
