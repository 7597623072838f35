"""cgroups: the pure resources -> files mapping, value parsing, detection, and the v2 backend against
plain directory trees laid out like a cgroup2 file system (the test writes the files the kernel would)."""

from __future__ import annotations

import secrets
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from minidock.errors import NotFoundError, RuntimeSetupError, UsageError
from minidock.oci.runtimespec import Resources
from minidock.runtime.cgroupmap import blkio_to_io_weight, shares_to_weight, v1_writes, v2_controllers, v2_writes
from minidock.runtime.cgroups import detect, group_name, parse_bytes, parse_cpus
from minidock.runtime.cgroups_v1 import V1Driver, order_memory_writes
from minidock.runtime.cgroups_v2 import V2Cgroup, V2Driver
from minidock.runtime.explain import Tracer

MB = 1 << 20

# ---- pure mapping -----------------------------------------------------------------------------

V1_CASES = [
    (Resources(), []),
    (Resources(memory_limit=32 * MB), [("memory", "memory.limit_in_bytes", "33554432")]),
    (Resources(memory_limit=32 * MB, memory_swap=64 * MB),
     [("memory", "memory.limit_in_bytes", "33554432"), ("memory", "memory.memsw.limit_in_bytes", "67108864")]),
    (Resources(memory_limit=32 * MB, memory_swap=-1),
     [("memory", "memory.limit_in_bytes", "33554432"), ("memory", "memory.memsw.limit_in_bytes", "-1")]),
    (Resources(memory_limit=-1), [("memory", "memory.limit_in_bytes", "-1")]),
    (Resources(cpu_shares=512), [("cpu", "cpu.shares", "512")]),
    (Resources(cpu_shares=1), [("cpu", "cpu.shares", "2")]),
    (Resources(cpu_quota=50000, cpu_period=100000),
     [("cpu", "cpu.cfs_period_us", "100000"), ("cpu", "cpu.cfs_quota_us", "50000")]),
    (Resources(cpu_quota=-1), [("cpu", "cpu.cfs_quota_us", "-1")]),
    (Resources(pids_limit=10), [("pids", "pids.max", "10")]),
    (Resources(pids_limit=-1), [("pids", "pids.max", "max")]),
    (Resources(pids_limit=0), [("pids", "pids.max", "max")]),
    (Resources(cpuset_cpus="0-1", cpuset_mems="0"), [("cpuset", "cpuset.cpus", "0-1"), ("cpuset", "cpuset.mems", "0")]),
    (Resources(memory_limit=64 * MB, memory_reservation=32 * MB, memory_swappiness=0, oom_kill_disable=True),
     [("memory", "memory.limit_in_bytes", "67108864"), ("memory", "memory.soft_limit_in_bytes", "33554432"),
      ("memory", "memory.swappiness", "0"), ("memory", "memory.oom_control", "1")]),
    (Resources(oom_kill_disable=False), []),
    (Resources(cpu_rt_runtime=950000, cpu_rt_period=1000000),
     [("cpu", "cpu.rt_period_us", "1000000"), ("cpu", "cpu.rt_runtime_us", "950000")]),
    (Resources(blkio_weight=300), [("blkio", "blkio.weight", "300")]),
]


@pytest.mark.parametrize(("res", "want"), V1_CASES)
def test_v1_writes(res: Resources, want: list[tuple[str, str, str]]) -> None:
    assert v1_writes(res) == want


V2_CASES = [
    (Resources(), []),
    (Resources(memory_limit=32 * MB), [("memory.max", "33554432")]),
    (Resources(memory_limit=32 * MB, memory_swap=64 * MB),
     [("memory.max", "33554432"), ("memory.swap.max", "33554432")]),
    (Resources(memory_limit=32 * MB, memory_swap=32 * MB), [("memory.max", "33554432"), ("memory.swap.max", "0")]),
    (Resources(memory_limit=32 * MB, memory_swap=-1), [("memory.max", "33554432"), ("memory.swap.max", "max")]),
    (Resources(memory_limit=-1), [("memory.max", "max"), ("memory.swap.max", "max")]),
    (Resources(cpu_shares=1024), [("cpu.weight", "39")]),
    (Resources(cpu_quota=50000, cpu_period=100000), [("cpu.max", "50000 100000")]),
    (Resources(cpu_quota=150000), [("cpu.max", "150000 100000")]),
    (Resources(cpu_period=50000), [("cpu.max", "max 50000")]),
    (Resources(cpu_quota=-1, cpu_period=20000), [("cpu.max", "max 20000")]),
    (Resources(pids_limit=100), [("pids.max", "100")]),
    (Resources(pids_limit=-1), [("pids.max", "max")]),
    (Resources(cpuset_cpus="1", cpuset_mems="0"), [("cpuset.cpus", "1"), ("cpuset.mems", "0")]),
    (Resources(memory_limit=64 * MB, memory_reservation=32 * MB),
     [("memory.max", "67108864"), ("memory.low", "33554432")]),
    (Resources(memory_swappiness=10, oom_kill_disable=True), []),  # v2 has neither (Docker discards them first)
    (Resources(blkio_weight=10), [("io.weight", "1")]),
    (Resources(blkio_weight=500), [("io.weight", "4950")]),
    (Resources(blkio_weight=1000), [("io.weight", "10000")]),
]


@pytest.mark.parametrize(("res", "want"), V2_CASES)
def test_v2_writes(res: Resources, want: list[tuple[str, str]]) -> None:
    assert v2_writes(res) == want


def test_v2_blkio_weight_goes_to_bfq_as_given_when_the_kernel_has_it() -> None:
    assert v2_writes(Resources(blkio_weight=300), bfq=True) == [("io.bfq.weight", "300")]
    assert blkio_to_io_weight(300) == 1 + 290 * 9999 // 990  # runc's ConvertBlkIOToIOWeightValue


def test_v2_has_no_real_time_scheduling() -> None:
    with pytest.raises(UsageError, match="cgroup v2 has no real-time"):
        v2_writes(Resources(cpu_rt_period=1000000))
    assert v2_controllers(Resources(cpu_shares=5)) == ()
    assert v2_controllers(Resources(cpuset_mems="0", blkio_weight=100)) == ("cpuset", "io")


@pytest.mark.parametrize(("shares", "weight"), [(2, 1), (1024, 39), (512, 20), (262144, 10000),
                                                (0, 1), (10**6, 10000), (100, 4)])
def test_shares_to_weight_is_the_runc_formula(shares: int, weight: int) -> None:
    assert shares_to_weight(shares) == weight


@pytest.mark.parametrize(("res", "words"), [
    (Resources(memory_swap=64 * MB), "needs a memory limit"),
    (Resources(memory_limit=64 * MB, memory_swap=32 * MB), "memory-swap 33554432 is less than memory 67108864"),
    (Resources(memory_limit=1 * MB), "memory 1048576"),
    (Resources(cpu_quota=10), "cpu quota 10"),
    (Resources(cpu_period=10), "cpu period 10"),
    (Resources(cpu_shares=-5), "cpu shares -5"),
    (Resources(memory_swappiness=101), "memory swappiness 101"),
    (Resources(blkio_weight=5), "blkio weight 5"),
    (Resources(cpu_rt_runtime=10, cpu_rt_period=5), "cpu real-time runtime 10"),
])
def test_bad_resources_are_refused_in_both_mappings(res: Resources, words: str) -> None:
    for fn in (v1_writes, v2_writes):
        with pytest.raises(UsageError, match=words):
            fn(res)


def test_memsw_goes_first_only_when_raising_past_the_current_limit() -> None:
    fresh = v1_writes(Resources(memory_limit=32 * MB, memory_swap=64 * MB))
    assert order_memory_writes(fresh, 1 << 63) == fresh  # lowering from unlimited: memory first
    raised = order_memory_writes(fresh, 16 * MB)  # 16m -> 32m with memsw 64m: memsw first
    assert [f for _, f, _ in raised] == ["memory.memsw.limit_in_bytes", "memory.limit_in_bytes"]
    unlimited = order_memory_writes(v1_writes(Resources(memory_limit=32 * MB, memory_swap=-1)), 1 << 63)
    assert unlimited[0][1] == "memory.memsw.limit_in_bytes"
    only_mem = v1_writes(Resources(memory_limit=32 * MB, pids_limit=3))
    assert order_memory_writes(only_mem, 0) == only_mem


@pytest.mark.parametrize(("text", "want"), [
    ("0.5", (50000, 100000)), ("1", (100000, 100000)), ("1.5", (150000, 100000)),
    ("2", (200000, 100000)), ("0.01", (1000, 100000)), (" 0.25 ", (25000, 100000)),
])
def test_parse_cpus(text: str, want: tuple[int, int]) -> None:
    assert parse_cpus(text) == want


@pytest.mark.parametrize("text", ["", "abc", "-1", "0", "0.001", "1e-12", "0.0000000001", "1/0"])
def test_parse_cpus_refuses_bad_values_naming_them(text: str) -> None:
    with pytest.raises(UsageError, match=f"cpus value {text!r}".replace("(", r"\(")):
        parse_cpus(text)


@pytest.mark.parametrize(("text", "want"), [
    ("100", 100), ("32m", 32 * MB), ("32M", 32 * MB), ("1g", 1 << 30), ("512k", 512 << 10),
    ("1.5g", 3 << 29), ("64mb", 64 * MB), ("64MiB", 64 * MB), ("10b", 10), ("2 t", 2 << 40),
    ("1p", 1 << 50), ("-1", -1),
])
def test_parse_bytes(text: str, want: int) -> None:
    assert parse_bytes(text) == want


@pytest.mark.parametrize("text", ["", "m", "32x", "-5m", "1.2.3g", "32 mm", "ten"])
def test_parse_bytes_refuses_bad_values_naming_them(text: str) -> None:
    with pytest.raises(UsageError, match=f"invalid size {text!r}"):
        parse_bytes(text)


@pytest.mark.parametrize(("name", "want"), [("abc", "minidock/abc"), ("minidock/abc", "minidock/abc"),
                                            ("/minidock/abc/", "minidock/abc"), ("build/x1", "minidock/build/x1")])
def test_group_names_stay_under_minidock(name: str, want: str) -> None:
    assert group_name(name) == want


@pytest.mark.parametrize("name", ["", "minidock", "minidock/..", "../etc", "a/../../b", "a b", "x\n"])
def test_group_names_that_escape_are_refused(name: str) -> None:
    with pytest.raises(UsageError, match="invalid cgroup name"):
        group_name(name)


# ---- detection ----------------------------------------------------------------------------------

def test_detect_picks_v2_on_a_unified_root(tmp_path: Path) -> None:
    (tmp_path / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    assert detect(tmp_path).version == 2


def test_detect_picks_v1_on_a_hybrid_root(tmp_path: Path) -> None:
    for c in ("cpu", "memory", "pids", "unified"):
        (tmp_path / c).mkdir()
    (tmp_path / "unified" / "cgroup.controllers").write_text("")
    d = detect(tmp_path)
    assert d.version == 1
    assert isinstance(d, V1Driver) and d.controllers == ["cpu", "memory", "pids"]


def test_detect_without_any_hierarchy_names_the_root(tmp_path: Path) -> None:
    with pytest.raises(RuntimeSetupError, match=str(tmp_path)):
        detect(tmp_path)


def test_this_host_is_detected() -> None:
    if not Path("/sys/fs/cgroup").is_dir():
        pytest.skip("no /sys/fs/cgroup")
    want = 2 if Path("/sys/fs/cgroup/cgroup.controllers").exists() else 1
    assert detect().version == want


# ---- v2 against a plain tree laid out like cgroup2 ----------------------------------------------

@pytest.fixture
def v2root(tmp_path: Path) -> Path:
    """The root of a cgroup2 mount as the kernel shows it (only the files minidock reads)."""
    root = tmp_path / "cgroup"
    root.mkdir()
    (root / "cgroup.controllers").write_text("cpuset cpu io memory hugetlb pids rdma misc\n")
    (root / "cgroup.subtree_control").write_text("")
    (root / "cgroup.procs").write_text("1\n")
    return root


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    p = subprocess.Popen(["sleep", "30"])
    yield p
    p.kill()
    p.wait()


def test_v2_create_enables_controllers_down_the_chain_and_writes_limits(v2root: Path) -> None:
    tracer = Tracer()
    res = Resources(memory_limit=32 * MB, memory_swap=64 * MB, cpu_shares=512, cpu_quota=50000,
                    cpu_period=100000, pids_limit=20)
    cg = detect(v2root).create("minidock/c1", res, tracer)
    g = v2root / "minidock" / "c1"
    assert cg.name == "minidock/c1" and cg.paths() == {"unified": str(g)}
    assert (v2root / "cgroup.subtree_control").read_text() == "+cpu +memory +pids\n"
    assert (v2root / "minidock" / "cgroup.subtree_control").read_text() == "+cpu +memory +pids\n"
    names = ("memory.max", "memory.swap.max", "cpu.weight", "cpu.max", "pids.max")
    files = {f: (g / f).read_text().strip() for f in names}
    assert files == {"memory.max": "33554432", "memory.swap.max": "33554432", "cpu.weight": "20",
                     "cpu.max": "50000 100000", "pids.max": "20"}
    shells = [s.shell for s in tracer.steps]
    assert f"echo 33554432 > {g}/memory.max" in shells
    assert f"mkdir -p {g}" in shells
    assert ("cgroup: limit memory", f"echo 33554432 > {g}/memory.max") in [(s.title, s.shell) for s in tracer.steps]


def test_v2_enables_only_offered_controllers_and_skips_enabled_ones(v2root: Path) -> None:
    (v2root / "cgroup.controllers").write_text("memory io\n")
    (v2root / "minidock").mkdir()
    (v2root / "minidock" / "cgroup.controllers").write_text("memory\n")
    (v2root / "minidock" / "cgroup.subtree_control").write_text("memory\n")
    tracer = Tracer()
    V2Driver(v2root).create("x", Resources(), tracer)
    assert (v2root / "cgroup.subtree_control").read_text() == "+memory\n"
    assert (v2root / "minidock" / "cgroup.subtree_control").read_text() == "memory\n"  # untouched
    assert [s.title for s in tracer.steps].count("cgroup: enable controllers") == 1


def test_v2_cpuset_and_io_are_enabled_only_for_the_limits_that_need_them(v2root: Path) -> None:
    d = V2Driver(v2root)
    d.create("plain", Resources(pids_limit=5))
    assert (v2root / "minidock" / "cgroup.subtree_control").read_text() == "+cpu +memory +pids\n"
    cg = d.create("pinned", Resources(cpuset_cpus="1", cpuset_mems="0", memory_reservation=8 * MB, blkio_weight=500))
    g = Path(cg.paths()["unified"])
    assert (v2root / "cgroup.subtree_control").read_text() == "+cpu +cpuset +io +memory +pids\n"
    assert (v2root / "minidock" / "cgroup.subtree_control").read_text() == "+cpu +cpuset +io +memory +pids\n"
    assert {f: (g / f).read_text() for f in ("cpuset.cpus", "cpuset.mems", "memory.low", "io.weight")} == \
        {"cpuset.cpus": "1\n", "cpuset.mems": "0\n", "memory.low": "8388608\n", "io.weight": "4950\n"}


def test_v2_weight_goes_to_bfq_when_the_group_has_it_at_create_and_update(v2root: Path) -> None:
    d = V2Driver(v2root)
    g = v2root / "minidock" / "b1"
    g.mkdir(parents=True)
    (g / "io.bfq.weight").write_text("default 100\n")
    d.create("b1", Resources(blkio_weight=300))
    assert (g / "io.bfq.weight").read_text() == "300\n" and not (g / "io.weight").exists()
    d.update("b1", Resources(blkio_weight=20, cpuset_cpus="0"))
    assert (g / "io.bfq.weight").read_text() == "20\n" and (g / "cpuset.cpus").read_text() == "0\n"


def test_support_on_a_v2_tree_is_dockers_sysinfo_for_cgroup2(v2root: Path) -> None:
    (v2root / "cpuset.cpus.effective").write_text("0-3\n")
    (v2root / "cpuset.mems.effective").write_text("0\n")
    s = V2Driver(v2root).support()
    assert (s.version, s.cpuset, s.cpus, s.mems, s.cfs, s.memory_reservation, s.blkio_weight) == \
        (2, True, "0-3", "0", True, True, True)
    assert not (s.swappiness or s.oom_kill_disable or s.rt)
    (v2root / "cgroup.controllers").write_text("memory pids\n")
    s = V2Driver(v2root).support()
    assert (s.cpuset, s.cpus, s.cfs, s.blkio_weight, s.memory_reservation) == (False, "", False, False, True)


def test_support_on_a_v1_tree_follows_the_files_there(tmp_path: Path) -> None:
    for c, files in (("cpu", ("cpu.cfs_period_us",)), ("cpuset", ("cpuset.cpus", "cpuset.mems")),
                     ("memory", ("memory.soft_limit_in_bytes", "memory.swappiness", "memory.oom_control")),
                     ("blkio", ("blkio.throttle.io_service_bytes",))):
        (tmp_path / c).mkdir()
        for f in files:
            (tmp_path / c / f).write_text("0-1\n" if f == "cpuset.cpus" else "0\n")
    s = V1Driver(str(tmp_path)).support()
    assert (s.version, s.cpuset, s.cpus, s.mems, s.cfs, s.rt, s.memory_reservation, s.swappiness,
            s.oom_kill_disable, s.blkio_weight) == (1, True, "0-1", "0", True, False, True, True, True, False)
    (tmp_path / "blkio" / "blkio.bfq.weight").write_text("100\n")
    assert V1Driver(str(tmp_path)).support().blkio_weight


def test_v2_bad_resources_touch_nothing(v2root: Path) -> None:
    with pytest.raises(UsageError):
        V2Driver(v2root).create("x", Resources(memory_limit=64 * MB, memory_swap=MB))
    assert not (v2root / "minidock").exists()
    assert (v2root / "cgroup.subtree_control").read_text() == ""


def test_v2_add_procs_stats_and_oom(v2root: Path) -> None:
    cg = V2Driver(v2root).create("s1", Resources(memory_limit=32 * MB, pids_limit=5))
    cg.add(101)
    cg.add(102)
    assert cg.procs() == [101, 102]
    g = v2root / "minidock" / "s1"
    (g / "cpu.stat").write_text("usage_usec 1500\nuser_usec 1000\nsystem_usec 500\n")
    (g / "memory.current").write_text("4096\n")
    (g / "memory.stat").write_text("anon 2048\nfile 2048\ninactive_file 1024\nactive_file 1024\n")
    (g / "pids.current").write_text("2\n")
    (g / "memory.events").write_text("low 0\nhigh 0\nmax 3\noom 1\noom_kill 0\n")
    st = cg.stats()
    assert (st.cpu_usage_ns, st.memory_usage, st.memory_limit, st.pids_current, st.pids_limit, st.oom_kills) == \
        (1_500_000, 3072, 32 * MB, 2, 5, 0)
    assert not cg.oom_killed()
    (g / "memory.events").write_text("low 0\nhigh 0\nmax 9\noom 2\noom_kill 1\noom_group_kill 0\n")
    assert cg.oom_killed() and cg.stats().oom_kills == 1


def test_v2_stats_of_an_unlimited_group(v2root: Path) -> None:
    cg = V2Driver(v2root).create("u1", Resources())
    (v2root / "minidock" / "u1" / "memory.max").write_text("max\n")
    (v2root / "minidock" / "u1" / "pids.max").write_text("max\n")
    st = cg.stats()
    assert st.memory_limit is None and st.pids_limit is None and st.cpu_usage_ns == 0


def test_v2_freeze_waits_for_the_kernel_to_report_frozen(v2root: Path) -> None:
    cg = V2Driver(v2root).create("f1", Resources())
    events = v2root / "minidock" / "f1" / "cgroup.events"
    events.write_text("populated 1\nfrozen 0\n")
    kernel = threading.Timer(0.1, lambda: events.write_text("populated 1\nfrozen 1\n"))
    kernel.start()
    t0 = time.monotonic()
    cg.freeze()
    assert time.monotonic() - t0 >= 0.09
    assert (v2root / "minidock" / "f1" / "cgroup.freeze").read_text() == "1\n"
    events.write_text("populated 1\nfrozen 0\n")
    cg.thaw()
    assert (v2root / "minidock" / "f1" / "cgroup.freeze").read_text() == "0\n"
    kernel.join()


def test_v2_kill_all_uses_cgroup_kill_when_the_kernel_has_it(v2root: Path) -> None:
    cg = V2Driver(v2root).create("k1", Resources())
    (v2root / "minidock" / "k1" / "cgroup.kill").write_text("")
    cg.kill_all()
    assert (v2root / "minidock" / "k1" / "cgroup.kill").read_text() == "1\n"


def test_v2_kill_all_signals_every_pid_otherwise(v2root: Path, sleeper: subprocess.Popen[bytes]) -> None:
    cg = V2Driver(v2root).create("k2", Resources())
    (v2root / "minidock" / "k2" / "cgroup.kill").write_text("")
    (v2root / "minidock" / "k2" / "cgroup.freeze").write_text("0")
    cg.add(sleeper.pid)
    cg.add(2**22 + 7)  # a pid that has gone already is fine
    cg.kill_all(signal.SIGTERM)  # cgroup.kill only sends SIGKILL: signal each pid instead
    assert sleeper.wait(timeout=5) == -signal.SIGTERM
    assert (v2root / "minidock" / "k2" / "cgroup.kill").read_text() == ""
    assert (v2root / "minidock" / "k2" / "cgroup.freeze").read_text() == "0\n"  # frozen meanwhile, thawed after


def test_v2_kill_all_on_an_old_kernel_sends_sigkill_to_each(v2root: Path, sleeper: subprocess.Popen[bytes]) -> None:
    cg = V2Driver(v2root).create("k3", Resources())
    cg.add(sleeper.pid)
    cg.kill_all()
    assert sleeper.wait(timeout=5) == -signal.SIGKILL


def test_v2_remove_and_open(v2root: Path) -> None:
    d = V2Driver(v2root)
    d.create("r1", Resources(pids_limit=3))
    cg = d.open("minidock/r1")
    assert isinstance(cg, V2Cgroup) and cg.stats().pids_limit == 3
    cg.remove()
    assert not (v2root / "minidock" / "r1").exists()
    assert (v2root / "minidock").is_dir()  # the parent stays for the other containers
    cg.remove()  # again: missing is fine
    with pytest.raises(NotFoundError, match="minidock/r1"):
        d.open("r1")


def test_v2_failed_limit_write_names_the_file(v2root: Path) -> None:
    (v2root / "minidock" / "bad").mkdir(parents=True)
    (v2root / "minidock" / "bad" / "memory.max").mkdir()  # a write that fails
    with pytest.raises(RuntimeSetupError, match=r"echo 33554432 > .*/minidock/bad/memory.max: ") as e:
        V2Driver(v2root).create("bad", Resources(memory_limit=32 * MB))
    assert e.value.stage == "cgroup"


# ---- v2 on the real kernel: the hybrid host's controller-less unified mount --------------------

UNIFIED = Path("/sys/fs/cgroup/unified")


@pytest.mark.root
def test_real_cgroup2_join_freeze_kill_remove(sleeper: subprocess.Popen[bytes]) -> None:
    root = UNIFIED if (UNIFIED / "cgroup.procs").exists() else Path("/sys/fs/cgroup")
    if not (root / "cgroup.controllers").exists():
        pytest.skip("no cgroup2 mount")
    cg = V2Driver(root).create(f"minidock/test-{secrets.token_hex(4)}", Resources())
    try:
        cg.add(sleeper.pid)
        assert cg.procs() == [sleeper.pid]
        cg.freeze()
        assert "frozen 1" in Path(cg.paths()["unified"], "cgroup.events").read_text()
        assert Path(f"/proc/{sleeper.pid}/stat").read_text().split()[2] in ("S", "D")
        cg.thaw()
        assert "frozen 0" in Path(cg.paths()["unified"], "cgroup.events").read_text()
        cg.kill_all()
        assert sleeper.wait(timeout=5) == -signal.SIGKILL
    finally:
        cg.kill_all()
        cg.remove()
    assert not Path(cg.paths()["unified"]).exists()


@pytest.mark.root
def test_real_cgroup2_limit_without_its_controller_is_refused_and_undone() -> None:
    if not (UNIFIED / "cgroup.controllers").exists() or "memory" in (UNIFIED / "cgroup.controllers").read_text():
        pytest.skip("needs the hybrid host's controller-less cgroup2 mount")
    name = f"minidock/test-{secrets.token_hex(4)}"
    with pytest.raises(RuntimeSetupError, match=r"memory\.max: no such cgroup file"):
        V2Driver(UNIFIED).create(name, Resources(memory_limit=32 * MB))
    assert not (UNIFIED / name).exists()
