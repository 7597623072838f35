"""--security-opt as Docker reads it, and the spec's security defaults (Docker's: seccomp on,
no_new_privs off, masked paths; --privileged unconfined)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from minidock.engine.spec import RunFlags, Security, SpecInputs, build_spec, parse_security_opts, security_notes
from minidock.errors import UsageError
from minidock.oci.imageconfig import ContainerConfig

INP = SpecInputs(image=ContainerConfig(cmd=("sh",)), rootfs=(), root_path="/r", container_id="c" * 64)


@pytest.mark.parametrize(("opts", "want"), [
    ((), Security()),
    (("no-new-privileges",), Security(no_new_privileges=True)),
    (("no-new-privileges=true",), Security(no_new_privileges=True)),
    (("no-new-privileges:true",), Security(no_new_privileges=True)),
    (("no-new-privileges", "no-new-privileges=false"), Security()),
    (("seccomp=unconfined",), Security(seccomp="unconfined")),
    (("seccomp:unconfined",), Security(seccomp="unconfined")),
    (("seccomp=/etc/p.json",), Security(seccomp="/etc/p.json")),
    (("systempaths=unconfined",), Security(system_paths=False)),
    (("apparmor=docker-default", "label=disable"), Security(lsm_options=("apparmor=docker-default", "label=disable"))),
])
def test_parse_security_opts(opts: tuple[str, ...], want: Security) -> None:
    assert parse_security_opts(opts) == want


@pytest.mark.parametrize("opt", ["bogus", "seccomp=", "no-new-privileges=maybe", "nope=1", "systempaths=x"])
def test_bad_security_opts(opt: str) -> None:
    with pytest.raises(UsageError, match="invalid --security-opt"):
        parse_security_opts((opt,))


def test_a_relative_profile_path_is_made_absolute(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir("/tmp")
    assert parse_security_opts(("seccomp=p.json",)).seccomp == "/tmp/p.json"


def test_lsm_options_are_noted_only_without_their_lsm() -> None:
    opts = ("apparmor=x", "label=disable")
    assert security_notes(opts, "") == ["WARNING: --security-opt apparmor=x ignored: this kernel has no apparmor",
                                        "WARNING: --security-opt label=disable ignored: this kernel has no selinux"]
    assert security_notes(opts, "lockdown,capability,apparmor,selinux\n") == []


def test_docker_defaults() -> None:
    spec = build_spec(INP, RunFlags(), {})
    assert spec.linux.seccomp == "default" and not spec.process.no_new_privileges
    assert "/proc/kcore" in spec.linux.masked_paths


def test_privileged_is_unconfined_and_keeps_no_new_privs_off() -> None:
    spec = build_spec(INP, RunFlags(privileged=True, security_opt=("seccomp=/p.json",)), {})
    assert spec.linux.seccomp == "unconfined" and not spec.process.no_new_privileges
    assert spec.linux.masked_paths == () and spec.linux.readonly_paths == ()


def test_security_opts_reach_the_spec() -> None:
    spec = build_spec(INP, RunFlags(security_opt=("no-new-privileges", "seccomp=unconfined",
                                                  "systempaths=unconfined")), {})
    assert spec.linux.seccomp == "unconfined" and spec.process.no_new_privileges
    assert spec.linux.masked_paths == () and spec.linux.readonly_paths == ()
    assert type(spec).from_json(spec.to_json()) == spec


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "minidock", "run", "--rm", "--network", "none", *args],
                          capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.root
def test_a_profile_file_applies_and_bad_ones_fail_create(busybox_store: Callable[[], Path], tmp_path: Path) -> None:
    root = busybox_store()
    profile = tmp_path / "p.json"
    profile.write_text(json.dumps({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]}))
    r = _run("--security-opt", f"seccomp={profile}", "busybox", "sh", "-c", "mkdir /x; grep Seccomp: /proc/self/status")
    assert "can't create directory '/x': Permission denied" in r.stderr and "Seccomp:\t2" in r.stdout
    (tmp_path / "bad.json").write_text('{"defaultAction": "SCMP_ACT_NOPE"}')
    for path, message in ((tmp_path / "absent.json", "no such file or directory"),
                          (tmp_path / "bad.json", "unknown action 'SCMP_ACT_NOPE'")):
        r = _run("--security-opt", f"seccomp={path}", "busybox", "true")
        assert r.returncode == 125 and f"seccomp profile {path}: {message}" in r.stderr, r.stderr
    assert not list((root / "containers").iterdir())  # create was undone


@pytest.mark.root
def test_lsm_options_run_with_a_warning(busybox_store: Callable[[], Path]) -> None:
    busybox_store()
    r = _run("--security-opt", "apparmor=docker-default", "--security-opt", "label=disable", "busybox", "true")
    assert r.returncode == 0, r.stderr
    lsm = Path("/sys/kernel/security/lsm")
    if not lsm.exists() or "apparmor" not in lsm.read_text():
        assert "--security-opt apparmor=docker-default ignored" in r.stderr


def test_info_lists_the_seccomp_profile(busybox_store: Callable[[], Path]) -> None:
    busybox_store()
    out = subprocess.run([sys.executable, "-m", "minidock", "info"], capture_output=True, text=True, timeout=60,
                         check=True).stdout
    assert " Security Options:\n  seccomp\n   Profile: default\n" in out
    js = json.loads(subprocess.run([sys.executable, "-m", "minidock", "info", "--format", "json"],
                                   capture_output=True, text=True, timeout=60, check=True).stdout)
    assert js["SecurityOptions"][0] == "name=seccomp,profile=default"
