"""--device, --privileged and the default device cgroup, probed from inside containers and RUN steps.

The in-container tests need root and a v1 devices controller or a cgroup2 hierarchy (the machine's
real cgroups); `DOCKER_V1_LIST` is what `docker run --rm busybox cat /sys/fs/cgroup/devices/devices.list`
prints under Docker 20.10 on a v1 host (tests/engine/test_devices_oracle.py checks it against Docker).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from minidock.engine.devices import device_config, devices_from_path, host_devices, parse_device
from minidock.errors import UsageError
from minidock.oci.runtimespec import ALLOW_ALL_DEVICES, DEFAULT_DEVICE_RULES, Device, DeviceRule
from tests.runtime.test_devicefilter import DOCKER_V1_LIST

V1_DEVICES = Path("/sys/fs/cgroup/devices")


@pytest.mark.parametrize(("text", "want"), [
    ("/dev/fuse", ("/dev/fuse", "/dev/fuse", "rwm")),
    ("/dev/fuse:r", ("/dev/fuse", "/dev/fuse", "r")),
    ("/dev/fuse:/dev/f", ("/dev/fuse", "/dev/f", "rwm")),
    ("/dev/fuse:/dev/f:rw", ("/dev/fuse", "/dev/f", "rw")),
])
def test_parse_device(text: str, want: tuple[str, str, str]) -> None:
    assert parse_device(text) == want


@pytest.mark.parametrize(("text", "err"), [
    ("", "invalid device specification"), ("a:b:c:d", "invalid device specification"),
    ("/dev/fuse:/dev/f:rx", "invalid device mode: rx"), ("/dev/fuse:/dev/f:rr", "invalid device mode"),
    ("fuse", "bad format for path: fuse"), ("/dev/fuse:f", "bad format for path: f"),
])
def test_parse_device_errors(text: str, err: str) -> None:
    with pytest.raises(UsageError, match=err):
        parse_device(text)


def test_devices_from_path_node_directory_and_missing() -> None:
    null = devices_from_path("/dev/null", "/dev/n")
    assert null == [Device("/dev/n", "c", 1, 3, os.stat("/dev/null").st_mode & 0o7777, 0, 0)]
    if Path("/dev/net/tun").exists():
        assert [d.path for d in devices_from_path("/dev/net", "/dev/x")] == ["/dev/x/tun"]
    with pytest.raises(UsageError, match="'/dev/nope'"):
        devices_from_path("/dev/nope", "/dev/nope")
    with pytest.raises(UsageError, match="not a device node"):
        devices_from_path("/etc/hostname", "/x")


def test_device_config() -> None:
    nodes, rules = device_config(("/dev/null:/dev/n:r",), False)
    assert [d.path for d in nodes] == ["/dev/n"]
    assert rules == (*DEFAULT_DEVICE_RULES, DeviceRule(True, "c", 1, 3, "r"))
    nodes, rules = device_config((), True)
    assert rules == ALLOW_ALL_DEVICES
    paths = {d.path for d in nodes}
    assert "/dev/null" in paths and not any(p.startswith(("/dev/pts/", "/dev/shm/")) for p in paths)
    assert "/dev/console" not in paths
    assert nodes == tuple(host_devices())


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "minidock", "run", "--rm", "--network", "none", *args],
                          capture_output=True, text=True, timeout=60, check=False)


def _needs_devices_cgroup() -> None:
    if not (V1_DEVICES / "devices.list").exists():
        pytest.skip("no v1 devices controller here (v2 hosts are covered by test_devicefilter)")


PROBE = ("mknod /dev/loop0 b 7 0 && echo mknod-ok; cat /dev/loop0 >/dev/null 2>/dev/null || echo loop0-refused;"
         " echo x > /dev/null && echo null-ok; head -c1 /dev/zero | wc -c")


@pytest.mark.root
def test_default_container_is_denied_host_devices(busybox_store: Callable[[], Path]) -> None:
    _needs_devices_cgroup()
    busybox_store()
    r = _run("busybox", "sh", "-c", f"cat /sys/fs/cgroup/devices/devices.list; {PROBE}")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[:len(DOCKER_V1_LIST)] == DOCKER_V1_LIST
    assert lines[len(DOCKER_V1_LIST):] == ["mknod-ok", "loop0-refused", "null-ok", "1"]


@pytest.mark.root
def test_device_flag_adds_the_node_and_its_rule(busybox_store: Callable[[], Path]) -> None:
    _needs_devices_cgroup()
    if not Path("/dev/loop-control").exists():
        pytest.skip("no /dev/loop-control")
    busybox_store()
    r = _run("--device", "/dev/loop-control", "--device", "/dev/loop-control:/dev/lc:r", "busybox", "sh", "-c",
             "grep 10:237 /sys/fs/cgroup/devices/devices.list; stat -c '%t:%T %a' /dev/loop-control /dev/lc;"
             " exec 3</dev/loop-control && echo opened")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["c 10:237 rwm", "a:ed 600", "a:ed 600", "opened"]


@pytest.mark.root
def test_privileged_opens_every_device(busybox_store: Callable[[], Path]) -> None:
    _needs_devices_cgroup()
    busybox_store()
    r = _run("--privileged", "busybox", "sh", "-c",
             "cat /sys/fs/cgroup/devices/devices.list; ls /dev/loop-control && exec 3</dev/loop-control && echo opened")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["a *:* rwm", "/dev/loop-control", "opened"]


@pytest.mark.root
def test_build_run_steps_get_the_device_rules(busybox_store: Callable[[], Path], tmp_path: Path) -> None:
    _needs_devices_cgroup()
    busybox_store()
    (tmp_path / "Dockerfile").write_text(f"FROM busybox\nRUN {{ {PROBE}; }} > /probe\n")
    b = subprocess.run([sys.executable, "-m", "minidock", "build", "-q", "-t", "devprobe", str(tmp_path)],
                       capture_output=True, text=True, timeout=120, check=False)
    assert b.returncode == 0, b.stderr
    r = _run("devprobe", "cat", "/probe")
    assert r.stdout.splitlines() == ["mknod-ok", "loop0-refused", "null-ok", "1"]


@pytest.mark.root
def test_exec_joins_the_rules_of_its_container(busybox_store: Callable[[], Path]) -> None:
    _needs_devices_cgroup()
    busybox_store()
    md = [sys.executable, "-m", "minidock"]
    cid = subprocess.run([*md, "run", "-d", "--network", "none", "busybox", "sleep", "60"], capture_output=True,
                         text=True, timeout=60, check=True).stdout.strip()
    try:
        r = subprocess.run([*md, "exec", cid, "sh", "-c", PROBE], capture_output=True, text=True, timeout=60,
                           check=False)
        assert r.stdout.splitlines() == ["mknod-ok", "loop0-refused", "null-ok", "1"], r.stderr
    finally:
        subprocess.run([*md, "rm", "-f", cid], capture_output=True, timeout=60, check=False)
