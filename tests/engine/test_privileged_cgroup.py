"""--privileged gets a read-write /sys/fs/cgroup (Docker does); others keep the read-only one."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from minidock.engine.spec import ALL_CAPS, RunFlags, SpecInputs, build_spec, host_caps, resolve_caps
from minidock.oci.imageconfig import ContainerConfig
from minidock.oci.runtimespec import default_mounts


def _cgroup_options(privileged: bool) -> tuple[str, ...]:
    inp = SpecInputs(image=ContainerConfig(cmd=("/bin/sh",)), rootfs=(), root_path="/tmp/r",
                     container_id="0123456789abcdef" * 4)
    spec = build_spec(inp, RunFlags(privileged=privileged), {})
    return next(m.options for m in spec.mounts if m.destination == "/sys/fs/cgroup")


def test_default_mounts_cgroup_ro_unless_asked() -> None:
    def cg(rw: bool) -> tuple[str, ...]:
        return next(m.options for m in default_mounts(cgroup_rw=rw) if m.destination == "/sys/fs/cgroup")

    assert "ro" in cg(False) and "rw" not in cg(False)
    assert "rw" in cg(True) and "ro" not in cg(True)
    assert default_mounts() == default_mounts(cgroup_rw=False)


def test_build_spec_privileged_makes_cgroup_rw() -> None:
    assert "ro" in _cgroup_options(False)
    opts = _cgroup_options(True)
    assert "rw" in opts and "ro" not in opts


def _cgroup_mount_modes(root: Path, *flags: str) -> list[str]:
    """The rw/ro option of every mount at or under /sys/fs/cgroup, seen from inside the container."""
    r = subprocess.run([sys.executable, "-m", "minidock", "run", "--rm", *flags, "busybox",
                        "cat", "/proc/self/mounts"], capture_output=True, text=True, timeout=30, check=False)
    assert r.returncode == 0, r.stderr
    lines = [ln.split() for ln in r.stdout.splitlines()]
    return [ln[3].split(",")[0] for ln in lines if len(ln) > 3 and ln[1].startswith("/sys/fs/cgroup")]


@pytest.mark.root
def test_privileged_container_sees_rw_cgroup(busybox_store: Callable[[], Path]) -> None:
    root = busybox_store()
    plain = _cgroup_mount_modes(root)
    assert plain and plain[0] == "ro"  # the /sys/fs/cgroup mount itself
    privileged = _cgroup_mount_modes(root, "--privileged")
    assert privileged and all(mode == "rw" for mode in privileged), privileged


def test_all_caps_are_the_hosts_bounding_set() -> None:
    no_sys_resource = f"Name:\tx\nCapBnd:\t{((1 << 41) - 1) & ~(1 << 24):016x}\n"
    have = host_caps(no_sys_resource)
    assert "CAP_SYS_RESOURCE" not in have and len(have) == len(ALL_CAPS) - 1
    assert host_caps("garbage") == ALL_CAPS
    assert resolve_caps([], [], True, have) == have
    assert resolve_caps(["ALL"], ["CHOWN"], False, have) == tuple(c for c in have if c != "CAP_CHOWN")
