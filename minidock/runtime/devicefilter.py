"""The cgroup v2 device filter: device rules -> an eBPF program (BPF_PROG_TYPE_CGROUP_DEVICE), and its attach.

cgroup v2 has no devices controller: the kernel asks a BPF program attached to the group
(`BPF_CGROUP_DEVICE`) for every open or mknod of a device node, as runc does
(libcontainer/cgroups/devices/devicefilter.go). `rules_to_filter` applies the rules the way v1
would (an `a` rule resets, the others add or remove exceptions: see `Emulator`), and `assemble`
turns the result into runc's program shape:

    r2 = ctx->access_type & 0xffff  (device type: 1 block, 2 char)
    r3 = ctx->access_type >> 16     (access: 1 mknod, 2 read, 4 write)
    r4 = ctx->major; r5 = ctx->minor
    per exception: if the type, access, major, minor match -> return its verdict
    return the default verdict

Both are pure (tested by running the program in a small interpreter in the tests); `load` and
`attach` are the bpf(2) calls.
"""

from __future__ import annotations

import ctypes
import os
import struct

from minidock.nouns import NamedTuple
from minidock.oci.runtimespec import DeviceRule

# instruction classes, sizes, modes, ops (linux/bpf_common.h, linux/bpf.h)
LDX, ALU, JMP, ALU64 = 0x01, 0x04, 0x05, 0x07
W, MEM = 0x00, 0x60
K, X = 0x00, 0x08
AND, RSH, MOV = 0x50, 0x70, 0xB0
JNE, EXIT = 0x50, 0x90

DEV_BLOCK, DEV_CHAR = 1, 2
ACC_MKNOD, ACC_READ, ACC_WRITE = 1, 2, 4
_ACCESS = {"m": ACC_MKNOD, "r": ACC_READ, "w": ACC_WRITE}
_TYPES = {"b": DEV_BLOCK, "c": DEV_CHAR}

PROG_TYPE_CGROUP_DEVICE = 15
ATTACH_CGROUP_DEVICE = 6
F_ALLOW_MULTI = 2
_BPF_PROG_LOAD, _BPF_PROG_ATTACH = 5, 8
_SYS_BPF = {"x86_64": 321, "aarch64": 280}.get(os.uname().machine, 321)
CGROUP2_SUPER_MAGIC = 0x63677270


class Filter(NamedTuple):
    """What the program decides: `default_allow`, and the exceptions (rules with the other verdict)."""

    default_allow: bool
    exceptions: tuple[DeviceRule, ...]


class Emulator:
    """v1 devices-cgroup semantics over a list of rules (runc's devicesemulator, simplified).

    An `a` rule sets the default and drops every exception; a rule whose verdict differs from the
    default adds an exception (access merged into an identical one); a rule with the default's
    verdict takes its access away from the identical exception."""

    __slots__ = ("default_allow", "exceptions")

    def __init__(self) -> None:
        self.default_allow = True  # a fresh group below the root allows everything
        self.exceptions: dict[tuple[str, int, int], str] = {}

    def apply(self, r: DeviceRule) -> None:
        if r.type == "a":
            self.default_allow, self.exceptions = r.allow, {}
            return
        key = (r.type, r.major, r.minor)
        have = self.exceptions.get(key, "")
        if r.allow != self.default_allow:
            self.exceptions[key] = "".join(c for c in "rwm" if c in have or c in r.access)
            return
        left = "".join(c for c in have if c not in r.access)
        if left:
            self.exceptions[key] = left
        else:
            self.exceptions.pop(key, None)

    def result(self) -> Filter:
        allow = not self.default_allow
        return Filter(self.default_allow, tuple(DeviceRule(allow, t, a, b, acc)
                                                for (t, a, b), acc in self.exceptions.items()))


def rules_to_filter(rules: tuple[DeviceRule, ...]) -> Filter:
    emu = Emulator()
    for r in rules:
        emu.apply(r)
    return emu.result()


def insn(code: int, dst: int = 0, src: int = 0, imm: int = 0, off: int = 0) -> bytes:
    """One 8-byte eBPF instruction (little-endian: dst register in the low nibble)."""
    return struct.pack("<BBhi", code, (src << 4) | dst, off, imm)


def _rule_block(r: DeviceRule) -> list[bytes]:
    """The instructions of one exception; every jump's offset is patched to skip to the block's end."""
    out: list[tuple[int, int, int, int]] = []  # (code, dst, src, imm); off filled below when a JNE
    if r.type in _TYPES:
        out.append((JMP | JNE | K, 2, 0, _TYPES[r.type]))
    access = sum(_ACCESS[c] for c in set(r.access) if c in _ACCESS)
    if access != ACC_MKNOD | ACC_READ | ACC_WRITE:
        out += [(ALU | MOV | X, 1, 3, 0), (ALU | AND | K, 1, 0, access), (JMP | JNE | X, 1, 3, 0)]
    if r.major >= 0:
        out.append((JMP | JNE | K, 4, 0, r.major))
    if r.minor >= 0:
        out.append((JMP | JNE | K, 5, 0, r.minor))
    out += [(ALU | MOV | K, 0, 0, int(r.allow)), (JMP | EXIT, 0, 0, 0)]
    n = len(out)
    return [insn(c, d, s, imm, n - i - 1 if c & 0xF0 == JNE and c & 0x07 == JMP else 0)
            for i, (c, d, s, imm) in enumerate(out)]


def assemble(f: Filter) -> bytes:
    """The program: the prelude, one block per exception (later rules first, as runc), the default."""
    code = [
        insn(LDX | W | MEM, 2, 1), insn(ALU | AND | K, 2, 0, 0xFFFF),
        insn(LDX | W | MEM, 3, 1), insn(ALU | RSH | K, 3, 0, 16),
        insn(LDX | W | MEM, 4, 1, off=4), insn(LDX | W | MEM, 5, 1, off=8),
    ]
    for r in reversed(f.exceptions):
        code += _rule_block(r)
    code += [insn(ALU | MOV | K, 0, 0, int(f.default_allow)), insn(JMP | EXIT)]
    return b"".join(code)


def program(rules: tuple[DeviceRule, ...]) -> bytes:
    return assemble(rules_to_filter(rules))


# ---- the kernel side ----------------------------------------------------------------------------

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


def _bpf(cmd: int, attr: bytes, what: str) -> int:
    buf = ctypes.create_string_buffer(attr, len(attr))
    rc = _libc.syscall(_SYS_BPF, cmd, buf, len(attr))
    if rc < 0:
        e = ctypes.get_errno()
        raise OSError(e, f"{what}: {os.strerror(e).lower()}")
    return int(rc)


def load(code: bytes) -> int:
    """BPF_PROG_LOAD the device program; returns its fd (the verifier's log in the error when refused)."""
    insns = ctypes.create_string_buffer(code, len(code))
    lic = ctypes.create_string_buffer(b"Apache")
    log = ctypes.create_string_buffer(16384)
    attr = struct.pack("<IIQQIIQII16s", PROG_TYPE_CGROUP_DEVICE, len(code) // 8, ctypes.addressof(insns),
                       ctypes.addressof(lic), 1, len(log), ctypes.addressof(log), 0, 0, b"minidock_dev")
    try:
        return _bpf(_BPF_PROG_LOAD, attr, "bpf prog load (device filter)")
    except OSError as e:
        detail = log.value.decode(errors="replace").strip().splitlines()
        raise OSError(e.errno, f"{e.strerror}{': ' + detail[-1] if detail else ''}") from e


def attach(cgroup_dir: str, prog_fd: int) -> None:
    """BPF_PROG_ATTACH to the group as BPF_CGROUP_DEVICE with BPF_F_ALLOW_MULTI (as runc)."""
    fd = os.open(cgroup_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        attr = struct.pack("<IIIII", fd, prog_fd, ATTACH_CGROUP_DEVICE, F_ALLOW_MULTI, 0)
        _bpf(_BPF_PROG_ATTACH, attr, f"bpf prog attach {cgroup_dir}")
    finally:
        os.close(fd)


class _Statfs(ctypes.Structure):
    _fields_ = [("f_type", ctypes.c_long), ("rest", ctypes.c_byte * 112)]


def is_cgroup2(path: str) -> bool:
    """`path` is on a cgroup2 file system (a plain directory laid out like one, the test seam, is not)."""
    buf = _Statfs()
    if _libc.statfs(path.encode(), ctypes.byref(buf)) != 0:
        return False
    return int(buf.f_type) & 0xFFFFFFFF == CGROUP2_SUPER_MAGIC


def install(cgroup_dir: str, rules: tuple[DeviceRule, ...]) -> None:
    """Load the program for `rules` and attach it to `cgroup_dir` (the group keeps it; our fd closes)."""
    fd = load(program(rules))
    try:
        attach(cgroup_dir, fd)
    finally:
        os.close(fd)
