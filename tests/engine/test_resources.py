"""Docker's rules for the resource flags: --memory/--memory-swap/--cpus/--cpu-shares/--pids-limit, and
the ones its daemon checks itself (engine/resources.py), against hosts described by `Support`."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from minidock.engine.request import RunRequest
from minidock.engine.resources import Limits, limits_of, settle, uint_list
from minidock.engine.runparts import resources_of
from minidock.errors import InvalidParameterError, UsageError
from minidock.runtime.cgroupmap import Support
from tests.fixtures.cli import md, ok


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


# ---- the flags Docker's daemon checks (engine/resources.py) ----------------------------------------

V1 = Support(version=1, cpuset=True, cpus="0-1", mems="0", cfs=True, rt=True, memory_reservation=True,
             swappiness=True, oom_kill_disable=True, blkio_weight=True)
V2 = Support(version=2, cpuset=True, cpus="0-3", mems="0", cfs=True, memory_reservation=True, blkio_weight=True)
NO_BLKIO = "Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded."


@pytest.mark.parametrize(("limits", "message"), [
    (Limits(nano_cpus=10**9, cpu_period=100000), "Conflicting options: Nano CPUs and CPU Period cannot both be set"),
    (Limits(nano_cpus=10**9, cpu_quota=50000), "Conflicting options: Nano CPUs and CPU Quota cannot both be set"),
    (Limits(cpu_period=999), "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)"),
    (Limits(cpu_period=-1), "CPU cfs period can not be less than 1ms"),
    (Limits(cpu_quota=999), "CPU cfs quota can not be less than 1ms (i.e. 1000)"),
    (Limits(cpuset_cpus="0-7"), "Requested CPUs are not available - requested 0-7, available: 0-1"),
    (Limits(cpuset_cpus="1-0"), "Invalid value 1-0 for cpuset cpus: invalid format: 1-0"),
    (Limits(cpuset_cpus="-1"), "Invalid value -1 for cpuset cpus: invalid format: -1"),
    (Limits(cpuset_cpus="0-99999999"), "Invalid value 0-99999999 for cpuset cpus: value of out range, maximum is 8192"),
    (Limits(cpuset_mems="1"), "Requested memory nodes are not available - requested 1, available: 0"),
    (Limits(cpuset_mems="x"), "Invalid value x for cpuset mems: invalid format: x"),
    (Limits(memory=32 << 20, memory_reservation=64 << 20),
     "Minimum memory limit can not be less than memory reservation limit, see usage"),
    (Limits(memory_reservation=1024), "Minimum memory reservation allowed is 6MB"),
    (Limits(oom_score_adj=1001), "Invalid value 1001, range for oom score adj is [-1000, 1000]"),
    (Limits(cpu_rt_runtime=10, cpu_rt_period=5), "cpu real-time runtime cannot be higher than cpu real-time period"),
])
def test_dockers_daemon_checks_in_its_words(limits: Limits, message: str) -> None:
    with pytest.raises(InvalidParameterError) as e:
        settle(limits, V1)
    assert str(e.value).startswith(message)


def test_what_the_host_lacks_is_discarded_with_dockers_warning() -> None:
    host = V1._replace(blkio_weight=False)
    kept, warnings = settle(Limits(blkio_weight=5, cpuset_cpus="+1,0-1", memory=64 << 20), host)
    assert (kept.blkio_weight, kept.cpuset_cpus, warnings) == (0, "+1,0-1", [NO_BLKIO])  # discarded: unchecked
    with pytest.raises(InvalidParameterError, match="Range of blkio weight is from 10 to 1000"):
        settle(Limits(blkio_weight=5), V1)
    kept, warnings = settle(Limits(memory_swappiness=0, oom_kill_disable=True, memory_reservation=8 << 20), V2)
    assert (kept.memory_swappiness, kept.oom_kill_disable, kept.memory_reservation) == (None, False, 8 << 20)
    assert warnings == ["Your kernel does not support memory swappiness capabilities or the cgroup is not mounted. "
                        "Memory swappiness discarded.",
                        "Your kernel does not support OomKillDisable. OomKillDisable discarded."]
    with pytest.raises(InvalidParameterError, match=r"^Your kernel does not support CPU real-time scheduler$"):
        settle(Limits(cpu_rt_period=1000), V2)
    assert settle(Limits(cpu_rt_period=5, cpu_rt_runtime=10), V2, update=True)[0].cpu_rt_runtime == 10


def test_oom_killer_off_without_a_memory_limit_is_warned_about() -> None:
    assert settle(Limits(oom_kill_disable=True), V1)[1] == [
        "OOM killer is disabled for the container, but no memory limit is set, this can result in the system "
        "running out of resources."]
    assert settle(Limits(oom_kill_disable=True, memory=64 << 20), V1)[1] == []


def test_the_new_flags_reach_the_resources_and_host_config() -> None:
    req = RunRequest(image="x", cpuset_cpus="0", cpuset_mems="0", cpu_quota=20000, cpu_period=50000, memory="64m",
                     memory_reservation="32m", memory_swappiness=5, oom_kill_disable=True, oom_score_adj=3)
    kept = limits_of(req)
    r = kept.onto(resources_of(RunRequest(image="x", memory="64m")))
    assert (r.cpuset_cpus, r.cpu_quota, r.cpu_period, r.memory_reservation, r.memory_swappiness,
            r.oom_kill_disable, r.memory_limit) == ("0", 20000, 50000, 32 << 20, 5, True, 64 << 20)
    assert kept.host_config() == {"BlkioWeight": 0, "CpuPeriod": 50000, "CpuQuota": 20000, "CpuRealtimePeriod": 0,
                                  "CpuRealtimeRuntime": 0, "CpusetCpus": "0", "CpusetMems": "0",
                                  "MemoryReservation": 32 << 20, "MemorySwappiness": 5, "OomKillDisable": True,
                                  "OomScoreAdj": 3, "BlkioWeightDevice": [], "BlkioDeviceReadBps": None,
                                  "BlkioDeviceWriteBps": None, "BlkioDeviceReadIOps": None,
                                  "BlkioDeviceWriteIOps": None}
    assert limits_of(RunRequest(image="x")).host_config()["MemorySwappiness"] is None
    assert resources_of(RunRequest(image="x", cpus="0.5")).cpu_quota == 50000  # --cpus alone: no host asked


@pytest.mark.parametrize(("text", "want"), [("", set()), ("7", {7}), ("1-3", {1, 2, 3}), ("0,3-4,7", {0, 3, 4, 7}),
                                            ("0-0,0,1-2", {0, 1, 2}), ("03,1-3", {1, 2, 3}), ("+1", {1})])
def test_cpuset_lists_read_as_docker_reads_them(text: str, want: set[int]) -> None:
    assert uint_list(text) == want


@pytest.mark.parametrize("text", ["x", "1,", "1-", "-1", "1-2-3", "1 ", "١"])
def test_cpuset_lists_docker_refuses(text: str) -> None:
    with pytest.raises(ValueError, match=f"^invalid format: {text}$"):
        uint_list(text)


@pytest.mark.root
def test_a_cgroup2_host_drops_what_v2_lacks_with_dockers_warnings(busybox_store: Callable[[], Path], tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """`create` on a host whose cgroup root is cgroup2 (a tree laid out like one): Docker's sysinfo for v2
    has no swappiness, OOM-killer switch or real-time scheduling; cpuset, io and memory.low it has."""
    busybox_store()
    tree = tmp_path / "cgroup2"
    tree.mkdir()
    (tree / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    (tree / "cpuset.cpus.effective").write_text("0-3\n")
    (tree / "cpuset.mems.effective").write_text("0\n")
    monkeypatch.setenv("MINIDOCK_CGROUP_ROOT", str(tree))
    r = md("create", "--network", "none", "-m", "64m", "--memory-swappiness", "10", "--oom-kill-disable",
           "--memory-reservation", "32m", "--blkio-weight", "300", "--cpuset-cpus", "3", "busybox")
    assert r.returncode == 0, r.stderr
    assert r.stderr.splitlines() == [
        "WARNING: Your kernel does not support memory swappiness capabilities or the cgroup is not mounted. "
        "Memory swappiness discarded.",
        "WARNING: Your kernel does not support OomKillDisable. OomKillDisable discarded."]
    shown = json.loads(ok("inspect", "-f", "{{json .HostConfig}}", r.stdout.strip()))
    assert {k: shown[k] for k in ("MemorySwappiness", "OomKillDisable", "MemoryReservation", "BlkioWeight",
                                  "CpusetCpus")} == {"MemorySwappiness": None, "OomKillDisable": False,
                                                     "MemoryReservation": 32 << 20, "BlkioWeight": 300,
                                                     "CpusetCpus": "3"}
    r = md("create", "--network", "none", "--cpu-rt-period", "1000000", "busybox")
    assert (r.returncode, r.stderr) == (1, "minidock: Your kernel does not support CPU real-time scheduler\n")
    r = md("create", "--network", "none", "--cpuset-cpus", "4", "busybox")
    assert r.stderr == "minidock: Requested CPUs are not available - requested 4, available: 0-3\n"
