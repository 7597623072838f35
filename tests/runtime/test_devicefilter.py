"""The device cgroup: rules -> v1 writes and the v2 eBPF program.

Where each part runs: the rule semantics, the v1 writes and the eBPF program are pure and run
anywhere (the program is executed by a small eBPF interpreter below, over every device the rules
name and a few they do not). The kernel test loads the program (the verifier must accept it) and
attaches it to a fresh group of a cgroup2 hierarchy; on this project's hybrid VM that is
/sys/fs/cgroup/unified (no controllers are needed: device programs are cgroup-bpf, not a
controller), so the kernel really enforces it there; it skips where no cgroup2 is mounted.
"""

from __future__ import annotations

import contextlib
import os
import struct
from pathlib import Path

import pytest

from minidock.oci.runtimespec import ALLOW_ALL_DEVICES, DEFAULT_DEVICE_RULES, DeviceRule, Resources
from minidock.runtime import devicefilter as df
from minidock.runtime.cgroups_v1 import device_writes

DOCKER_V1_LIST = ["b *:* m", "c *:* m", "c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm", "c 1:9 rwm",
                  "c 5:0 rwm", "c 5:1 rwm", "c 5:2 rwm", "c 10:200 rwm", "c 136:* rwm"]


def run_bpf(code: bytes, kind: str, access: str, major: int, minor: int) -> int:
    """Execute the device program (the instruction subset `assemble` emits) on one request."""
    ctx = struct.pack("<III", (sum(df._ACCESS[c] for c in access) << 16) | df._TYPES[kind], major, minor)
    regs = [0] * 11
    pc, n = 0, len(code) // 8
    mask32 = 0xFFFFFFFF
    while pc < n:
        op, regbyte, off, imm = struct.unpack_from("<BBhi", code, pc * 8)
        dst, src = regbyte & 0xF, regbyte >> 4
        pc += 1
        cls = op & 0x07
        if cls == df.LDX:
            assert regs[src] == "ctx" or src == 1
            regs[dst] = struct.unpack_from("<I", ctx, off)[0]
        elif cls == df.ALU:
            val = regs[src] if op & df.X else imm & mask32
            kind_op = op & 0xF0
            if kind_op == df.MOV:
                regs[dst] = val & mask32
            elif kind_op == df.AND:
                regs[dst] = regs[dst] & val & mask32
            elif kind_op == df.RSH:
                regs[dst] = (regs[dst] & mask32) >> val
            else:
                raise AssertionError(f"unexpected alu op {op:#x}")
        elif cls == df.JMP:
            if op & 0xF0 == df.EXIT:
                return int(regs[0])
            val = regs[src] if op & df.X else imm
            assert op & 0xF0 == df.JNE, f"unexpected jump op {op:#x}"
            if regs[dst] != val:
                pc += off
        else:
            raise AssertionError(f"unexpected class {cls}")
    raise AssertionError("fell off the end of the program")


def v1_decides(rules: tuple[DeviceRule, ...], kind: str, access: str, major: int, minor: int) -> bool:
    """The kernel's v1 check over the emulated state: every requested access in one matching exception."""
    f = df.rules_to_filter(rules)
    for r in f.exceptions:
        if r.type == kind and r.major in (-1, major) and r.minor in (-1, minor) and set(access) <= set(r.access):
            return r.allow
    return f.default_allow


PROBES = [(k, a, ma, mi) for k in "cb" for a in ("r", "w", "m", "rw", "rwm")
          for ma, mi in ((1, 3), (1, 5), (7, 0), (10, 200), (10, 237), (136, 4), (5, 2), (5, 1), (4, 64))]


@pytest.mark.parametrize("rules", [
    DEFAULT_DEVICE_RULES, ALLOW_ALL_DEVICES,
    (*DEFAULT_DEVICE_RULES, DeviceRule(True, "c", 10, 237, "r")),
    (*DEFAULT_DEVICE_RULES, DeviceRule(True, "b", 7, -1, "rw")),
    (DeviceRule(True), DeviceRule(False, "c", 1, 3, "w")),
], ids=["docker-default", "privileged", "device-r", "block-major", "allow-all-but-one"])
def test_program_decides_as_v1(rules: tuple[DeviceRule, ...]) -> None:
    code = df.program(rules)
    for probe in PROBES:
        assert run_bpf(code, *probe) == int(v1_decides(rules, *probe)), probe


def test_default_rules_decide_as_docker() -> None:
    code = df.program(DEFAULT_DEVICE_RULES)
    assert run_bpf(code, "c", "rw", 1, 3) == 1            # /dev/null
    assert run_bpf(code, "b", "r", 7, 0) == 0             # loop0: open refused
    assert run_bpf(code, "b", "m", 7, 0) == 1             # ... but mknod allowed (Docker's b *:* m)
    assert run_bpf(code, "c", "rw", 10, 237) == 0         # loop-control
    assert run_bpf(code, "c", "rw", 136, 9) == 1          # a pts


def test_emulator_resets_merges_and_removes() -> None:
    f = df.rules_to_filter((DeviceRule(False), DeviceRule(True, "c", 1, 3, "r"), DeviceRule(True, "c", 1, 3, "w"),
                            DeviceRule(True, "c", 1, 5), DeviceRule(False, "c", 1, 5, "rwm")))
    assert f == df.Filter(False, (DeviceRule(True, "c", 1, 3, "rw"),))
    assert df.rules_to_filter(ALLOW_ALL_DEVICES) == df.Filter(True, ())


def test_v1_writes_give_dockers_devices_list() -> None:
    writes = device_writes(DEFAULT_DEVICE_RULES)
    assert writes[0] == ("devices.deny", "a")
    assert all(f == "devices.allow" for f, _ in writes[1:])
    assert [line for _, line in writes[1:]] == DOCKER_V1_LIST
    assert device_writes(ALLOW_ALL_DEVICES) == [("devices.allow", "a")]


def test_resources_json_round_trip_and_old_records_get_the_defaults() -> None:
    r = Resources(pids_limit=5, devices=(*DEFAULT_DEVICE_RULES, DeviceRule(True, "c", 10, 237, "r")))
    assert Resources.from_json(r.to_json()) == r
    assert Resources.from_json({}).devices == DEFAULT_DEVICE_RULES
    assert Resources.from_json({"devices": []}).devices == ()


def test_v1_driver_writes_rules_into_a_plain_tree(tmp_path: Path) -> None:
    from minidock.runtime.cgroups_v1 import V1Driver

    for c in ("memory", "devices", "pids"):
        (tmp_path / c).mkdir()
    cg = V1Driver(tmp_path).create("t1", Resources())
    allow = (tmp_path / "devices/minidock/t1/devices.allow").read_text().splitlines()
    assert (tmp_path / "devices/minidock/t1/devices.deny").read_text() == "a\n"
    assert allow == DOCKER_V1_LIST[-1:]  # a plain file keeps only the last write (cgroupfs keeps each)
    cg.remove()


def _cgroup2() -> Path | None:
    for p in (Path("/sys/fs/cgroup"), Path("/sys/fs/cgroup/unified")):
        if (p / "cgroup.procs").exists() and df.is_cgroup2(str(p)):
            return p
    return None


def _open_in_group(group: str | Path, paths: list[str]) -> list[str]:
    """Fork a child into `group`; it tries to open each path and reports 'ok' or the errno name."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        try:
            os.close(r)
            Path(group, "cgroup.procs").write_text("0")
            out = []
            for p in paths:
                try:
                    os.close(os.open(p, os.O_RDONLY))
                    out.append("ok")
                except OSError as e:
                    out.append(os.strerror(e.errno or 0))
            os.write(w, "\n".join(out).encode())
        finally:
            os._exit(0)
    os.close(w)
    with os.fdopen(r) as f:
        text = f.read()
    os.waitpid(pid, 0)
    return text.splitlines()


@pytest.mark.root
def test_kernel_loads_and_enforces_the_program(tmp_path: Path) -> None:
    top = _cgroup2()
    if top is None:
        pytest.skip("no cgroup2 hierarchy mounted")
    group = top / f"minidock-test-devfilter-{os.getpid()}"
    group.mkdir()
    try:
        df.install(str(group), (*DEFAULT_DEVICE_RULES, DeviceRule(True, "c", 10, 229, "r")))
        got = _open_in_group(group, ["/dev/null", "/dev/zero", "/dev/loop-control", "/dev/fuse"])
        assert got == ["ok", "ok", "Operation not permitted", "ok"]
    finally:
        group.rmdir()


@pytest.mark.root
def test_v2_driver_attaches_the_filter_to_its_group() -> None:
    """The whole v2 path (V2Driver.create -> eBPF attach) on a real cgroup2 hierarchy; on a hybrid host
    that is the controller-less /sys/fs/cgroup/unified, which is enough for device programs."""
    from minidock.runtime.cgroups_v2 import V2Driver

    top = _cgroup2()
    if top is None:
        pytest.skip("no cgroup2 hierarchy mounted")
    name = f"devtest-{os.getpid()}"
    cg = V2Driver(top).create(name, Resources(devices=(*DEFAULT_DEVICE_RULES, DeviceRule(True, "c", 10, 229, "rw"))))
    try:
        assert _open_in_group(cg.path, ["/dev/null", "/dev/loop-control", "/dev/fuse"]) == [
            "ok", "Operation not permitted", "ok"]
    finally:
        cg.remove()
    parent = top / "minidock"
    if parent.is_dir() and not any(p.is_dir() for p in parent.iterdir()):
        with contextlib.suppress(OSError):
            parent.rmdir()
