"""Seccomp: Docker's profile resolved per capability set and arch (pure), compiled with libseccomp and
loaded into a forked child, whose syscalls then fail as they do under Docker 20.10 (errno by errno)."""

from __future__ import annotations

import ctypes
import errno
import json
import os
import struct
from pathlib import Path

import pytest

from minidock.errors import UsageError
from minidock.oci.runtimespec import DEFAULT_CAPS
from minidock.runtime import seccomp, seccomp_profile

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
X86_64 = os.uname().machine == "x86_64"
needs_x86_64 = pytest.mark.skipif(not X86_64, reason="syscall numbers below are x86_64's")


def _default_doc() -> dict:
    return json.loads(Path(seccomp.DEFAULT_PROFILE).read_bytes())


def _names(f: seccomp_profile.Filter, action: str = "SCMP_ACT_ALLOW") -> set[str]:
    return {n for r in f.rules if r.action == action and not r.args for n in r.names}


def test_default_profile_is_mobys_v20_10_24_unmodified() -> None:
    from minidock.oci.digest import sha256_hex

    assert sha256_hex(Path(seccomp.DEFAULT_PROFILE).read_bytes()) == \
        "ce3585b856aa4a193671fd8280d0d0612a998bd3f10bdb2f8530dfa958c6197f"


def test_resolve_keeps_capability_rules_only_for_holders() -> None:
    doc = _default_doc()
    plain = seccomp_profile.resolve(doc, DEFAULT_CAPS, "x86_64", (6, 1))
    admin = seccomp_profile.resolve(doc, (*DEFAULT_CAPS, "CAP_SYS_ADMIN"), "x86_64", (6, 1))
    assert plain.arches == ("SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32")
    assert plain.default_action == "SCMP_ACT_ERRNO" and plain.default_errno is None
    for name in ("bpf", "mount", "unshare", "setns", "perf_event_open"):
        assert name not in _names(plain) and name in _names(admin)
    assert "chroot" in _names(plain)  # CAP_SYS_CHROOT is a default capability
    assert "open_by_handle_at" not in _names(plain) and "keyctl" not in _names(admin)
    # the clone rule that refuses new namespaces (CLONE_NEW* masked) exists only without CAP_SYS_ADMIN
    masked = [r for r in plain.rules if r.names == ("clone",)]
    assert [a.op for r in masked for a in r.args] == ["SCMP_CMP_MASKED_EQ"]
    assert masked[0].args[0].value == 0x7E020000
    assert not [r for r in admin.rules if r.names == ("clone",) and r.args]
    assert any(r.names == ("clone3",) and r.errno_ret == errno.ENOSYS for r in plain.rules)
    assert "arch_prctl" in _names(plain) and "arm_fadvise64_64" not in _names(plain)


def test_resolve_honours_min_kernel_and_arch_map() -> None:
    doc = _default_doc()
    assert "ptrace" in _names(seccomp_profile.resolve(doc, DEFAULT_CAPS, "x86_64", (4, 8)))
    assert "ptrace" not in _names(seccomp_profile.resolve(doc, DEFAULT_CAPS, "x86_64", (4, 4)))
    arm = seccomp_profile.resolve(doc, DEFAULT_CAPS, "aarch64", (6, 1))
    assert arm.arches == ("SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM") and "arm_fadvise64_64" in _names(arm)


@pytest.mark.parametrize("text, message", [
    ("[]", "not a seccomp profile"),
    ("{", "invalid json"),
])
def test_bad_profiles_are_usage_errors(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        seccomp_profile.parse(text, "p.json")


def test_bad_rules_name_the_problem() -> None:
    doc = {"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_NOPE"}]}
    with pytest.raises(UsageError, match="unknown action 'SCMP_ACT_NOPE'"):
        seccomp_profile.resolve(doc, (), "x86_64", (6, 1))


def test_cache_key_depends_on_profile_caps_arch_and_kernel() -> None:
    base = seccomp.cache_key(b"p", DEFAULT_CAPS, "x86_64", "6.1.0")
    assert base == seccomp.cache_key(b"p", tuple(reversed(DEFAULT_CAPS)), "x86_64", "6.1.0")
    others = {seccomp.cache_key(b"q", DEFAULT_CAPS, "x86_64", "6.1.0"),
              seccomp.cache_key(b"p", (*DEFAULT_CAPS, "CAP_SYS_ADMIN"), "x86_64", "6.1.0"),
              seccomp.cache_key(b"p", DEFAULT_CAPS, "aarch64", "6.1.0"),
              seccomp.cache_key(b"p", DEFAULT_CAPS, "x86_64", "6.2.0")}
    assert base not in others and len(others) == 4


def test_program_is_compiled_once_then_read_from_the_cache(tmp_path: Path) -> None:
    first = seccomp.program("default", DEFAULT_CAPS, tmp_path)
    assert first is not None and len(first) % 8 == 0
    (cached,) = tmp_path.iterdir()
    assert cached.stat().st_mode & 0o777 == 0o600 and cached.read_bytes() == first
    cached.write_bytes(struct.pack("=HBBI", 0x06, 0, 0, 0x7FFF0000))  # what the cache holds is what loads
    assert seccomp.program("default", DEFAULT_CAPS, tmp_path) == cached.read_bytes()
    assert seccomp.program("unconfined", DEFAULT_CAPS, tmp_path) is None


def _errors_under(program: bytes, calls: dict[str, tuple[int, ...]]) -> dict[str, str]:
    """Fork, load `program`, make each raw syscall; name -> "ok" or the errno's name."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through the pipe and _exits
        try:
            seccomp.load(program)
            out = {}
            for name, (nr, *args) in calls.items():
                rc = _libc.syscall(ctypes.c_long(nr), *(ctypes.c_long(a) for a in args))
                out[name] = "ok" if rc >= 0 else errno.errorcode[ctypes.get_errno()]
            os.write(w, json.dumps(out).encode())
        finally:
            os._exit(0)
    os.close(w)
    with os.fdopen(r) as f:
        text = f.read()
    os.waitpid(pid, 0)
    return json.loads(text)


# x86_64 numbers; arguments chosen so that an allowed call fails harmlessly or does nothing
CALLS = {
    "getpid": (39,),
    "unshare(CLONE_NEWUSER)": (272, 0x10000000),
    "keyctl": (250, 0, -3, 0),
    "add_key": (248, 0, 0, 0, 0, 0),
    "bpf": (321, 0, 0, 0),
    "perf_event_open": (298, 0, 0, -1, -1, 0),
    "init_module": (175, 0, 0, 0),
    "finit_module": (313, -1, 0, 0),
    "open_by_handle_at": (304, -1, 0, 0),
    "mount": (165, 0, 0, 0, 0, 0),
    "personality(query)": (135, 0xFFFFFFFF),
    "personality(ADDR_NO_RANDOMIZE)": (135, 0x0040000),
    "clone3": (435, 0, 0),
    "syscall 1000": (1000,),
    "x32 syscall 1000": (0x40000000 + 1000,),
}
DOCKER = {  # what Docker 20.10's default profile answers with its default capabilities
    "getpid": "ok", "unshare(CLONE_NEWUSER)": "EPERM", "keyctl": "EPERM",
    "add_key": "EPERM", "bpf": "EPERM", "perf_event_open": "EPERM", "init_module": "EPERM",
    "finit_module": "EPERM", "open_by_handle_at": "EPERM", "mount": "EPERM", "personality(query)": "ok",
    "personality(ADDR_NO_RANDOMIZE)": "EPERM", "clone3": "ENOSYS", "syscall 1000": "ENOSYS",
    "x32 syscall 1000": "ENOSYS",
}


@pytest.mark.root
@needs_x86_64
def test_the_kernel_refuses_what_docker_refuses(tmp_path: Path) -> None:
    program = seccomp.program("default", DEFAULT_CAPS, tmp_path)
    assert program is not None
    assert _errors_under(program, CALLS) == DOCKER


@pytest.mark.root
@needs_x86_64
def test_cap_sys_admin_opens_mount_and_user_namespaces(tmp_path: Path) -> None:
    program = seccomp.program("default", (*DEFAULT_CAPS, "CAP_SYS_ADMIN"), tmp_path)
    assert program is not None
    got = _errors_under(program, {"mount": CALLS["mount"], "bpf": CALLS["bpf"], "keyctl": CALLS["keyctl"]})
    assert got["mount"] != "EPERM" and got["bpf"] != "EPERM"  # reached the kernel (EFAULT, EINVAL, ...)
    assert got["keyctl"] == "EPERM"


@pytest.mark.root
@needs_x86_64
def test_a_profile_file_in_dockers_format(tmp_path: Path) -> None:
    profile = tmp_path / "p.json"
    profile.write_text(json.dumps({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["getpid"], "action": "SCMP_ACT_ERRNO", "errnoRet": errno.EACCES},
                     {"names": ["personality"], "action": "SCMP_ACT_ERRNO",
                      "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]}]}))
    program = seccomp.program(str(profile), DEFAULT_CAPS, tmp_path / "cache")
    assert program is not None
    got = _errors_under(program, {"getpid": (39,), "personality(8)": (135, 8), "personality(query)": (135, -1),
                                  "syscall 1000": (1000,)})
    assert got == {"getpid": "EACCES", "personality(8)": "EPERM", "personality(query)": "ok",
                   "syscall 1000": "ENOSYS"}  # an allow-by-default profile: the kernel's own ENOSYS
