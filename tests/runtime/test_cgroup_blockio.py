"""cgroups: per-device block I/O limits (v1 blkio.throttle.* / blkio.weight_device, v2 io.max / io.weight)
and groups under a `--cgroup-parent` (absolute paths under the hierarchies' root), on plain trees laid
out like cgroup2 and, as root, on this host's real v1 hierarchies with a loop device the test makes."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from minidock.errors import UsageError
from minidock.oci.blockio import BlockDevice
from minidock.oci.runtimespec import DEFAULT_DEVICE_RULES, DeviceRule, Resources
from minidock.runtime.cgroupmap import v1_writes, v2_controllers, v2_writes
from minidock.runtime.cgroups import group_name
from minidock.runtime.cgroups_v1 import V1Driver
from minidock.runtime.cgroups_v2 import V2Driver
from minidock.runtime.explain import Tracer
from tests.fixtures.devices import attach_loop

DEVICES = (BlockDevice("weight", 7, 0, 300), BlockDevice("read_bps", 7, 0, 1 << 20),
           BlockDevice("write_bps", 8, 16, 2 << 20), BlockDevice("read_iops", 7, 0, 100),
           BlockDevice("write_iops", 7, 0, 0))


def test_v1_writes_one_line_per_device_to_its_file() -> None:
    assert v1_writes(Resources(blkio_weight=500, block_devices=DEVICES)) == [
        ("blkio", "blkio.weight", "500"), ("blkio", "blkio.weight_device", "7:0 300"),
        ("blkio", "blkio.throttle.read_bps_device", "7:0 1048576"),
        ("blkio", "blkio.throttle.write_bps_device", "8:16 2097152"),
        ("blkio", "blkio.throttle.read_iops_device", "7:0 100"),
        ("blkio", "blkio.throttle.write_iops_device", "7:0 0")]


def test_v2_writes_throttles_to_io_max_and_weights_to_io_weight_or_bfq() -> None:
    throttles = [("io.max", "7:0 rbps=1048576"), ("io.max", "8:16 wbps=2097152"), ("io.max", "7:0 riops=100"),
                 ("io.max", "7:0 wiops=max")]
    assert v2_writes(Resources(block_devices=DEVICES)) == [("io.weight", "7:0 2930"), *throttles]
    assert v2_writes(Resources(block_devices=DEVICES), bfq=True) == [("io.bfq.weight", "7:0 300"), *throttles]
    assert v2_controllers(Resources(block_devices=DEVICES[1:2])) == ("io",)


def test_block_devices_round_trip_through_the_oci_json() -> None:
    r = Resources(blkio_weight=20, block_devices=DEVICES)
    assert r.to_json()["blockIO"]["throttleReadBpsDevice"] == [{"major": 7, "minor": 0, "rate": 1 << 20}]
    assert r.to_json()["blockIO"]["weightDevice"] == [{"major": 7, "minor": 0, "weight": 300}]
    assert Resources.from_json(r.to_json()) == r


@pytest.mark.parametrize(("name", "want"), [("/parent/abc", "parent/abc"), ("/a/b/c", "a/b/c"),
                                            ("/minidock/abc", "minidock/abc"), ("abc", "minidock/abc")])
def test_an_absolute_group_name_is_where_it_says(name: str, want: str) -> None:
    assert group_name(name) == want


@pytest.mark.parametrize("name", ["/a/../../b", "/a b/c", "/"])
def test_absolute_group_names_that_escape_are_refused(name: str) -> None:
    with pytest.raises(UsageError, match="invalid cgroup name"):
        group_name(name)


@pytest.fixture
def v2root(tmp_path: Path) -> Path:
    root = tmp_path / "cgroup"
    root.mkdir()
    (root / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    (root / "cgroup.subtree_control").write_text("")
    return root


def test_v2_group_under_a_parent_enables_io_down_the_chain_and_writes_io_max(v2root: Path) -> None:
    tracer = Tracer()
    cg = V2Driver(str(v2root)).create("/parent/sub/c1", Resources(block_devices=DEVICES[1:2]), tracer)
    g = v2root / "parent" / "sub" / "c1"
    assert cg.paths() == {"unified": str(g)} and not (v2root / "minidock").exists()
    for level in (v2root, v2root / "parent", v2root / "parent" / "sub"):
        assert (level / "cgroup.subtree_control").read_text() == "+cpu +io +memory +pids\n", level
    assert (g / "io.max").read_text() == "7:0 rbps=1048576\n"
    assert ("cgroup: limit block I/O", f"echo 7:0 rbps=1048576 > {g}/io.max") in \
        [(s.title, s.shell) for s in tracer.steps]
    cg.remove()
    assert not g.exists() and (v2root / "parent" / "sub").is_dir()  # the parent stays, as Docker's


def test_support_lists_the_per_device_limits_the_host_has(tmp_path: Path, v2root: Path) -> None:
    assert V2Driver(str(v2root)).support().blkio_devices == ("weight", "read_bps", "write_bps", "read_iops",
                                                             "write_iops")
    (tmp_path / "v1" / "blkio").mkdir(parents=True)
    for f in ("blkio.throttle.read_bps_device", "blkio.throttle.write_iops_device"):
        (tmp_path / "v1" / "blkio" / f).write_text("")
    assert V1Driver(str(tmp_path / "v1")).support().blkio_devices == ("read_bps", "write_iops")


# ---- this host's v1 hierarchies ------------------------------------------------------------------

V1_BLKIO = Path("/sys/fs/cgroup/blkio/blkio.throttle.read_bps_device")


@pytest.fixture
def loop_device(tmp_path: Path) -> Iterator[str]:
    """A loop device over a 16 MiB file (detached at the end)."""
    with attach_loop(tmp_path) as dev:
        yield dev


@pytest.mark.root
@pytest.mark.skipif(not V1_BLKIO.exists(), reason="needs cgroup v1 blkio throttling (v2 is tested on a tree)")
def test_real_v1_group_under_a_parent_gets_throttles_and_device_rules(loop_device: str) -> None:
    st = os.stat(loop_device)
    major, minor = os.major(st.st_rdev), os.minor(st.st_rdev)
    parent = f"md-h19-{secrets.token_hex(4)}"
    rules = (*DEFAULT_DEVICE_RULES, DeviceRule(True, "b", major, minor, "r"))
    res = Resources(block_devices=(BlockDevice("read_bps", major, minor, 1 << 20),
                                   BlockDevice("write_iops", major, minor, 50)), devices=rules)
    driver = V1Driver()
    cg = driver.create(f"/{parent}/c1", res)
    try:
        blkio = Path(cg.paths()["blkio"])
        assert blkio == Path(f"/sys/fs/cgroup/blkio/{parent}/c1")
        assert (blkio / "blkio.throttle.read_bps_device").read_text() == f"{major}:{minor} 1048576\n"
        assert (blkio / "blkio.throttle.write_iops_device").read_text() == f"{major}:{minor} 50\n"
        devices = (Path(cg.paths()["devices"]) / "devices.list").read_text().splitlines()
        assert f"b {major}:{minor} r" in devices
    finally:
        cg.remove()
        for c in driver.controllers:
            top = Path(f"/sys/fs/cgroup/{c}/{parent}")
            if top.is_dir():
                top.rmdir()
    assert not Path(f"/sys/fs/cgroup/blkio/{parent}").exists()
