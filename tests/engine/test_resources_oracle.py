"""The resource flags judged by Docker 20.10: --cpuset-cpus/-mems, --cpu-quota/-period, --cpu-rt-*,
--memory-reservation, --memory-swappiness, --oom-kill-disable, --oom-score-adj, --blkio-weight on
`run`, `create` and `update`: the values the container reads in its cgroup files and /proc, inspect's
HostConfig fields, the warnings where this kernel lacks a controller, and the refusals (words and exit
codes). On cgroup v1 Docker 20.10 keeps the host's cgroup namespace, minidock gives the container its
own: both mount the container's group at /sys/fs/cgroup/<controller>, so the values compare, not paths.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.oracle import Both, Oracle, busybox_both, said

pytestmark = [pytest.mark.root, pytest.mark.slow]

V1 = Path("/sys/fs/cgroup/memory/memory.oom_control").exists()
RT = Path("/sys/fs/cgroup/cpu/cpu.rt_period_us").exists()
FILES = ("cpuset/cpuset.cpus", "cpuset/cpuset.mems", "cpu/cpu.cfs_quota_us", "cpu/cpu.cfs_period_us",
         "memory/memory.limit_in_bytes", "memory/memory.soft_limit_in_bytes", "memory/memory.swappiness",
         "memory/memory.oom_control", *(("cpu/cpu.rt_period_us",) if RT else ()))
# each file's value (a missing one, blkio.weight on this kernel, says so), then PID 1's OOM score adjustment
PROBE = "cd /sys/fs/cgroup; " + "; ".join(f"echo {f}=$(cat {f} | tr '\\n' ' ')" for f in FILES) + \
        "; echo blkio=$(cat blkio/blkio.weight 2>/dev/null || echo none); echo adj=$(cat /proc/1/oom_score_adj)"
FIELDS = ("CpusetCpus", "CpusetMems", "CpuQuota", "CpuPeriod", "CpuRealtimePeriod", "CpuRealtimeRuntime", "Memory",
          "MemoryReservation", "MemorySwappiness", "OomKillDisable", "OomScoreAdj", "BlkioWeight", "NanoCpus")
INSPECT = "{{json .HostConfig}}"


@pytest.fixture(scope="module")
def both(oracle: Oracle, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Both]:
    with busybox_both(oracle, tmp_path_factory.mktemp("md-res") / "root", ("rs1", "rs2", "rs3")) as b:
        yield b


def _fields(both: Both, name: str) -> tuple[dict[str, object], dict[str, object]]:
    d, m = both.both("inspect", "-f", INSPECT, name)
    assert d.returncode == m.returncode == 0, (d.stderr, m.stderr)
    dj, mj = json.loads(d.stdout), json.loads(m.stdout)
    return {k: dj[k] for k in FIELDS}, {k: mj.get(k, "(missing)") for k in FIELDS}


def _said(stderr: str) -> list[str]:
    """An engine's lines (tests/fixtures/oracle.said), ids as ID."""
    return said(stderr, ids=True)


@pytest.mark.skipif(not V1, reason="Docker 20.10's cgroup v1 files: the v2 mapping is tested on a tree")
def test_limits_reach_the_cgroup_and_inspect_as_with_docker(both: Both) -> None:
    flags = ("--cpuset-cpus", "1", "--cpuset-mems", "0", "--cpu-quota", "50000", "--cpu-period", "200000",
             "-m", "64m", "--memory-reservation", "32m", "--memory-swappiness", "10", "--oom-kill-disable",
             "--oom-score-adj", "500", "--blkio-weight", "300", *(("--cpu-rt-period", "500000") if RT else ()))
    seen = {}
    for name, extra in (("rs1", flags), ("rs2", ())):
        d, m = both.both("run", "--name", name, "--network", "none", *extra, "busybox", "sh", "-c", PROBE)
        assert (m.returncode, m.stdout, _said(m.stderr)) == (d.returncode, d.stdout, _said(d.stderr)), name
        assert d.returncode == 0
        dj, mj = _fields(both, name)
        assert mj == dj, name
        seen[name] = d.stdout
    assert "cpu/cpu.cfs_quota_us=50000\n" in seen["rs1"] and "adj=500" in seen["rs1"]
    assert "memory/memory.soft_limit_in_bytes=33554432\n" in seen["rs1"] and "adj=0" in seen["rs2"]


def test_a_container_made_by_create_keeps_them_and_exec_gets_the_oom_score(both: Both) -> None:
    d, m = both.both("create", "--name", "rs3", "--network", "none", "--oom-score-adj", "300", "--cpu-quota", "-2",
                     "--memory-swappiness", "-1", "--cpuset-cpus", "0-1", "--oom-kill-disable", "busybox",
                     "sleep", "100")
    assert (m.returncode, _said(m.stderr)) == (d.returncode, _said(d.stderr)) == (0, [
        "WARNING: Disabling the OOM killer on containers without setting a '-m/--memory' limit may be dangerous",
        "WARNING: OOM killer is disabled for the container, but no memory limit is set, this can result in the "
        "system running out of resources"])
    dj, mj = _fields(both, "rs3")
    assert mj == dj
    both.same("start", "rs3")
    both.same("exec", "rs3", "sh", "-c", "cat /proc/self/oom_score_adj /proc/1/oom_score_adj")


BAD = [
    ("--cpus", "1", "--cpu-period", "100000"), ("--cpus", "1", "--cpu-quota", "50000"), ("--cpus", "64"),
    ("--cpu-period", "999"), ("--cpu-period", "1000001"), ("--cpu-quota", "999"),
    ("--cpuset-cpus", "0-99"), ("--cpuset-cpus", "x"), ("--cpuset-cpus", "1-0"), ("--cpuset-cpus", "9000"),
    ("--cpuset-mems", "7"), ("--cpuset-mems", "0,"), ("-m", "32m", "--memory-reservation", "64m"),
    ("--memory-reservation", "1k"), ("--memory-reservation", "x"), ("--memory-swappiness", "101"),
    ("--memory-swappiness", "x"), ("--oom-score-adj", "1001"), ("--oom-score-adj", "x"), ("--blkio-weight", "x"),
    ("--blkio-weight", "65536"), ("--cpu-rt-runtime", "10", "--cpu-rt-period", "5"),
]


@pytest.mark.parametrize("flags", BAD, ids=" ".join)
def test_refusals_are_dockers(both: Both, flags: tuple[str, ...]) -> None:
    for verb in ("run", "create"):  # create: 1 for what the daemon refuses, 125 for what the client does
        d, m = both.both(verb, "--network", "none", *flags, "busybox", "true")
        assert (m.returncode, _said(m.stderr)) == (d.returncode, _said(d.stderr)), (verb, d.stderr, m.stderr)
        assert d.returncode in (1, 125) and not m.stdout


def test_a_negative_oom_score_needs_cap_sys_resource_in_both(both: Both) -> None:
    """Lowering the score takes CAP_SYS_RESOURCE: where the host (a sandbox) lacks it both fail (runc
    with an opaque error), where it has it both give -999."""
    d, m = both.both("run", "--rm", "--network", "none", "--oom-score-adj=-999", "busybox", "cat",
                     "/proc/1/oom_score_adj")
    assert (m.returncode, m.stdout) == (d.returncode, d.stdout), (d.stderr, m.stderr)
    assert d.stdout in ("-999\n", "") and (d.returncode == 0) == (d.stdout == "-999\n")
    if d.returncode:
        assert "CAP_SYS_RESOURCE" in m.stderr


@pytest.mark.skipif(not V1, reason="Docker 20.10's cgroup v1 files")
def test_update_like_docker(both: Both) -> None:
    for engine in (both.oracle.docker, both.md):
        engine("rm", "-f", "rs2")
        assert engine("run", "-d", "--name", "rs2", "--network", "none", "busybox", "sleep", "100").returncode == 0
    steps = [("--cpuset-cpus", "1"), ("--cpu-quota", "30000"), ("--cpu-period", "50000"),
             ("--memory-reservation", "20m", "--cpuset-mems", "0"), ("--blkio-weight", "200"),
             ("--cpu-rt-runtime", "1000", "--cpu-rt-period", "500000"), ("--cpus", "0.5"), ("--cpu-quota", "999"),
             ("--cpuset-cpus", "5"), ("--memory-reservation", "1k"), ("--memory-swappiness", "5"),
             ("--blkio-weight", "x"), ("--memory-reservation", "y"), ("--cpu-period", "0", "--cpu-quota", "-1")]
    for step in steps:
        d, m = both.both("update", *step, "rs2")
        assert (m.returncode, m.stdout, _said(m.stderr)) == (d.returncode, d.stdout, _said(d.stderr)), step
    both.same("exec", "rs2", "sh", "-c", PROBE)
    dj, mj = _fields(both, "rs2")
    assert mj == dj
