"""--security-opt as Docker reads it, and the spec's security defaults (Docker's: seccomp on,
no_new_privs off, masked paths; --privileged unconfined)."""

from __future__ import annotations

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
