"""Docker's rules for --memory/--memory-swap/--cpus/--cpu-shares/--pids-limit."""

from __future__ import annotations

import pytest

from minidock.engine.containers import resources_of
from minidock.engine.request import RunRequest
from minidock.errors import UsageError


def test_memory_alone_allows_as_much_swap_again() -> None:
    r = resources_of(RunRequest(image="x", memory="32m"))
    assert (r.memory_limit, r.memory_swap) == (32 << 20, 64 << 20)


def test_explicit_swap_and_unlimited() -> None:
    assert resources_of(RunRequest(image="x", memory="32m", memory_swap="48m")).memory_swap == 48 << 20
    assert resources_of(RunRequest(image="x", memory="32m", memory_swap="-1")).memory_swap == -1
    with pytest.raises(UsageError, match="--memory-swap needs --memory"):
        resources_of(RunRequest(image="x", memory_swap="64m"))


def test_cpus_shares_pids() -> None:
    r = resources_of(RunRequest(image="x", cpus="1.5", cpu_shares=512, pids_limit=20))
    assert (r.cpu_quota, r.cpu_period, r.cpu_shares, r.pids_limit) == (150000, 100000, 512, 20)
    assert resources_of(RunRequest(image="x")) == resources_of(RunRequest(image="y"))
    assert resources_of(RunRequest(image="x")).memory_limit is None
