"""A resolved seccomp `Filter` -> a classic BPF program, the way runc 1.1 builds it.

libseccomp (libseccomp.so.2, through ctypes) compiles the rules as runc's InitSeccomp adds them:
the default action (ERRNO/TRACE without `errnoRet` mean EPERM), every listed architecture, one
rule per syscall name (names libseccomp does not know are skipped; a rule whose action is the
default one is redundant and skipped); conditions on one argument index more than once become
separate rules. Then runc's -ENOSYS stub (libcontainer/seccomp/patchbpf) is put in front: a
syscall numbered above the highest one the profile names, per architecture, gets ENOSYS rather
than the default EPERM, so programs fall back from syscalls newer than the profile (glibc's
clone3, fchmodat2, ...) as they do under Docker. The program is returned as bytes (struct
sock_filter[]); seccomp.load() hands it to the kernel.
"""

import ctypes
import os
import struct
from typing import Any

from minidock.errors import RuntimeSetupError
from minidock.runtime.seccomp_profile import Filter, Rule

_EPERM, _ENOSYS = 1, 38
_ACT = {"SCMP_ACT_KILL": 0x00000000, "SCMP_ACT_KILL_THREAD": 0x00000000, "SCMP_ACT_KILL_PROCESS": 0x80000000,
        "SCMP_ACT_TRAP": 0x00030000, "SCMP_ACT_ERRNO": 0x00050000, "SCMP_ACT_TRACE": 0x7FF00000,
        "SCMP_ACT_LOG": 0x7FFC0000, "SCMP_ACT_ALLOW": 0x7FFF0000}
_OP = {"SCMP_CMP_NE": 1, "SCMP_CMP_LT": 2, "SCMP_CMP_LE": 3, "SCMP_CMP_EQ": 4, "SCMP_CMP_GE": 5,
       "SCMP_CMP_GT": 6, "SCMP_CMP_MASKED_EQ": 7}
_NR_SCMP_ERROR = -1
# the kernel's AUDIT_ARCH_* of each libseccomp arch the stub handles (x32 shares x86_64's, bit 30 in nr)
_AUDIT = {"SCMP_ARCH_X86_64": 0xC000003E, "SCMP_ARCH_X32": 0xC000003E, "SCMP_ARCH_X86": 0x40000003,
          "SCMP_ARCH_AARCH64": 0xC00000B7, "SCMP_ARCH_ARM": 0x40000028}
_X32_BIT = 1 << 30


class _Cmp(ctypes.Structure):
    _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int), ("datum_a", ctypes.c_uint64),
                ("datum_b", ctypes.c_uint64)]


_lib: list[Any] = []


def _libseccomp() -> Any:
    """libseccomp.so.2 with the prototypes used here (loaded once, only when a program is compiled)."""
    if not _lib:
        try:
            lib = ctypes.CDLL("libseccomp.so.2", use_errno=True)
        except OSError as e:
            raise RuntimeSetupError(f"seccomp: cannot load libseccomp.so.2 ({e}); install libseccomp2",
                                    stage="seccomp") from e
        vp, u32, cp = ctypes.c_void_p, ctypes.c_uint32, ctypes.c_char_p
        for name, res, args in (("seccomp_init", vp, [u32]), ("seccomp_release", None, [vp]),
                                ("seccomp_arch_add", ctypes.c_int, [vp, u32]),
                                ("seccomp_arch_resolve_name", u32, [cp]),
                                ("seccomp_syscall_resolve_name", ctypes.c_int, [cp]),
                                ("seccomp_syscall_resolve_name_arch", ctypes.c_int, [u32, cp]),
                                ("seccomp_rule_add_array", ctypes.c_int,
                                 [vp, u32, ctypes.c_int, ctypes.c_uint, ctypes.POINTER(_Cmp)]),
                                ("seccomp_export_bpf", ctypes.c_int, [vp, ctypes.c_int])):
            fn = getattr(lib, name)
            fn.restype, fn.argtypes = res, args
        _lib.append(lib)
    return _lib[0]


def action_value(action: str, errno: int | None) -> int:
    """The SCMP_ACT_* value of an action; ERRNO and TRACE carry `errno` (EPERM when unset, as runc)."""
    base = _ACT[action]
    if action in ("SCMP_ACT_ERRNO", "SCMP_ACT_TRACE"):
        return base | ((_EPERM if errno is None else errno) & 0xFFFF)
    return base


def _arch_token(lib: Any, arch: str) -> int:
    token = int(lib.seccomp_arch_resolve_name(arch.removeprefix("SCMP_ARCH_").lower().encode()))
    if token == 0:
        raise RuntimeSetupError(f"seccomp: unknown architecture {arch}", stage="seccomp")
    return token


def compile_filter(f: Filter) -> bytes:
    """The BPF program of `f` (the -ENOSYS stub, then libseccomp's filter)."""
    lib = _libseccomp()
    default = action_value(f.default_action, f.default_errno)
    ctx = lib.seccomp_init(default)
    if not ctx:
        raise RuntimeSetupError("seccomp: seccomp_init failed", stage="seccomp")
    try:
        for arch in f.arches:
            rc = lib.seccomp_arch_add(ctx, _arch_token(lib, arch))
            if rc not in (0, -17):  # -EEXIST: the native arch is always there
                raise RuntimeSetupError(f"seccomp: add architecture {arch}: {os.strerror(-rc).lower()}",
                                        stage="seccomp")
        for rule in f.rules:
            _add_rule(lib, ctx, rule, default)
        body = _export(lib, ctx)
    finally:
        lib.seccomp_release(ctx)
    return enosys_stub(lib, f) + body


def _add_rule(lib: Any, ctx: Any, rule: Rule, default: int) -> None:
    """Add one profile rule for each of its names (runc's matchCall)."""
    act = action_value(rule.action, rule.errno_ret)
    if act == default:
        return  # redundant, and libseccomp refuses it
    indexes = [a.arg for a in rule.args]
    groups = [(a,) for a in rule.args] if len(set(indexes)) < len(indexes) else [tuple(rule.args)]
    for name in rule.names:
        nr = lib.seccomp_syscall_resolve_name(name.encode())
        if nr == _NR_SCMP_ERROR:
            continue  # unknown to libseccomp: skipped, as runc does
        for group in groups:
            conds = (_Cmp * max(len(group), 1))(*(_Cmp(a.arg, _OP[a.op], a.value, a.value_two) for a in group))
            rc = lib.seccomp_rule_add_array(ctx, act, nr, len(group), conds)
            if rc != 0:
                raise RuntimeSetupError(f"seccomp: add rule for {name}: {os.strerror(-rc).lower()}",
                                        stage="seccomp")


def _export(lib: Any, ctx: Any) -> bytes:
    fd = os.memfd_create("seccomp-bpf", os.MFD_CLOEXEC)
    try:
        rc = lib.seccomp_export_bpf(ctx, fd)
        if rc != 0:
            raise RuntimeSetupError(f"seccomp: export the program: {os.strerror(-rc).lower()}", stage="seccomp")
        size = os.lseek(fd, 0, os.SEEK_END)
        return os.pread(fd, size, 0)
    finally:
        os.close(fd)


def _last_syscalls(lib: Any, f: Filter) -> dict[str, int]:
    """The highest syscall number any rule names, per architecture of the filter (runc's findLastSyscalls)."""
    names = {n for r in f.rules for n in r.names}
    out = {}
    for arch in f.arches:
        if arch not in _AUDIT or arch in out:
            continue
        token = _arch_token(lib, arch)
        nrs = [int(lib.seccomp_syscall_resolve_name_arch(token, n.encode())) for n in sorted(names)]
        if (top := max(nrs, default=0)) > 0:
            out[arch] = top
    return out


def enosys_stub(lib: Any, f: Filter) -> bytes:
    """runc's prefix: ENOSYS for a syscall beyond the profile's highest, per arch; else on to the filter."""
    if f.default_action in ("SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_TRACE") or f.default_errno == _ENOSYS:
        return b""
    last = _last_syscalls(lib, f)
    natives = sorted({_AUDIT[a] for a in last})
    if not natives:
        return b""
    asm = _Asm()
    asm.op(0x20, k=4)  # ld [4]: the architecture
    for native in natives:
        asm.op(0x15, jt=f"arch{native}", k=native)  # jeq
    asm.op(0x05, k="filter")  # ja: an architecture the stub does not know
    for native in natives:
        asm.label(f"arch{native}")
        asm.op(0x20, k=0)  # ld [0]: the syscall number
        mine = {a: n for a, n in last.items() if _AUDIT[a] == native}
        if native == _AUDIT["SCMP_ARCH_X86_64"]:
            x64, x32 = mine.get("SCMP_ARCH_X86_64"), mine.get("SCMP_ARCH_X32")
            asm.op(0x45, jt=f"x32-{native}" if x32 else "filter", jf=0 if x64 else "filter", k=_X32_BIT)  # jset
            if x64:
                asm.op(0x25, jt="enosys", jf="filter", k=x64)  # jgt
            if x32:
                asm.label(f"x32-{native}")
                asm.op(0x25, jt="enosys", jf="filter", k=x32)
        else:
            asm.op(0x25, jt="enosys", jf="filter", k=max(mine.values()))
    asm.label("enosys")
    asm.op(0x06, k=0x00050000 | _ENOSYS)  # ret ERRNO(ENOSYS)
    asm.label("filter")
    return asm.assemble()


class _Asm:
    """A tiny classic-BPF assembler with forward labels (jumps are relative to the next instruction)."""

    __slots__ = ("insns", "labels")

    def __init__(self) -> None:
        self.insns: list[tuple[int, int | str, int | str, int | str]] = []
        self.labels: dict[str, int] = {}

    def op(self, code: int, *, jt: int | str = 0, jf: int | str = 0, k: int | str = 0) -> None:
        self.insns.append((code, jt, jf, k))

    def label(self, name: str) -> None:
        self.labels[name] = len(self.insns)

    def _rel(self, at: int, target: int | str) -> int:
        return target if isinstance(target, int) else self.labels[target] - at - 1

    def assemble(self) -> bytes:
        out = bytearray()
        for i, (code, jt, jf, k) in enumerate(self.insns):
            rjt, rjf, rk = self._rel(i, jt), self._rel(i, jf), self._rel(i, k)
            if not (0 <= rjt <= 255 and 0 <= rjf <= 255):
                raise RuntimeSetupError("seccomp: the -ENOSYS stub needs a long jump", stage="seccomp")
            out += struct.pack("=HBBI", code, rjt, rjf, rk)
        return bytes(out)
