"""engine/system: cgroup version detection, backing file system, os-release (pure, on tmp files)."""

from __future__ import annotations

from pathlib import Path

from minidock.engine.system import (
    CgroupVersion,
    Counts,
    SystemReport,
    backing_fs,
    cgroup_version,
    os_name,
    version_report,
)

MOUNTINFO = """\
22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
30 22 0:25 / /sys/fs/cgroup ro,nosuid shared:9 - tmpfs tmpfs ro,mode=755
31 22 0:26 / /var/lib/my\\040root rw shared:10 - xfs /dev/sdb rw
32 22 0:27 / /tmp rw shared:11 - tmpfs tmpfs rw
"""


def test_cgroup_version_v2_v1_hybrid(tmp_path: Path) -> None:
    (tmp_path / "v2").mkdir()
    (tmp_path / "v2" / "cgroup.controllers").write_text("cpu memory\n")
    assert cgroup_version(tmp_path / "v2") == CgroupVersion(2)
    (tmp_path / "v1" / "memory").mkdir(parents=True)
    assert cgroup_version(tmp_path / "v1") == CgroupVersion(1, False)
    (tmp_path / "v1" / "unified").mkdir()
    (tmp_path / "v1" / "unified" / "cgroup.procs").write_text("")
    hybrid = cgroup_version(tmp_path / "v1")
    assert hybrid == CgroupVersion(1, True) and hybrid.text().startswith("1 (hybrid")
    assert CgroupVersion(2).text() == "2"


def test_backing_fs_longest_mount_wins() -> None:
    assert backing_fs("/var/lib/minidock", MOUNTINFO) == "extfs"
    assert backing_fs("/var/lib/my root/x", MOUNTINFO) == "xfs"
    assert backing_fs("/tmp", MOUNTINFO) == "tmpfs" and backing_fs("/tmpx", MOUNTINFO) == "extfs"
    assert backing_fs("/x", "") == "unknown"


def test_os_name() -> None:
    assert os_name('NAME="Debian GNU/Linux"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n') == \
        "Debian GNU/Linux 12 (bookworm)"
    assert os_name("") == "Linux"


def test_reports_as_json(tmp_path: Path) -> None:
    (tmp_path / "cgroup.controllers").write_text("")
    v = version_report(tmp_path).to_json()["Client"]
    assert v["CgroupVersion"] == "2" and v["Os"] == "linux" and v["Version"]
    r = SystemReport(Counts(3, 1, 1, 1, 2), "extfs", CgroupVersion(1, True), "6.1", "Debian", "x86_64", 2, 1 << 30,
                     "/var/lib/minidock", ("https://m.example",), ("127.0.0.0/8",)).to_json()
    assert (r["Containers"], r["ContainersRunning"], r["ContainersPaused"], r["ContainersStopped"]) == (3, 1, 1, 1)
    assert r["Driver"] == "overlay" and r["CgroupDriver"] == "cgroupfs" and r["CgroupVersion"] == "1"
    assert r["RegistryConfig"]["Mirrors"] == ["https://m.example"] and r["DriverStatus"][0][1] == "extfs"
