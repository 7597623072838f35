"""Docker's rules for turning an image config and run flags into a runtime spec."""

from __future__ import annotations

from pathlib import Path

import pytest

from minidock.engine.spec import (
    DEFAULT_PATH,
    RunFlags,
    SpecInputs,
    build_spec,
    merge_env,
    parse_env_file,
    parse_tmpfs,
    resolve_caps,
    resolve_command,
)
from minidock.errors import UsageError
from minidock.oci.imageconfig import ContainerConfig
from minidock.oci.runtimespec import DEFAULT_CAPS, Resources, Spec, User

IMG = ContainerConfig(entrypoint=("/entry",), cmd=("default", "arg"))


@pytest.mark.parametrize(
    ("image", "args", "ep", "want"),
    [
        (IMG, (), None, ("/entry", "default", "arg")),
        (IMG, ("x",), None, ("/entry", "x")),
        (IMG, (), "/other", ("/other",)),
        (IMG, ("y",), "/other", ("/other", "y")),
        (IMG, ("sh",), "", ("sh",)),
        (ContainerConfig(cmd=("/bin/sh",)), (), None, ("/bin/sh",)),
        (ContainerConfig(cmd=("/bin/sh",)), ("echo", "hi"), None, ("echo", "hi")),
    ],
)
def test_resolve_command(image: ContainerConfig, args: tuple[str, ...], ep: str | None,
                         want: tuple[str, ...]) -> None:
    assert resolve_command(image, args, ep) == want


def test_no_command_is_an_error() -> None:
    with pytest.raises(UsageError, match="no command specified"):
        resolve_command(ContainerConfig(), (), None)
    with pytest.raises(UsageError):
        resolve_command(IMG, (), "")


def test_env_merge_order_and_default_path() -> None:
    env = merge_env(["A=1", "B=2"], ["B=3", "C", "D=4", "MISSING"], {"C": "host"}, ["HOSTNAME=h"])
    assert env == (f"{DEFAULT_PATH}", "A=1", "B=3", "HOSTNAME=h", "C=host", "D=4")
    assert merge_env(["PATH=/x"], [], {}) == ("PATH=/x",)


def test_env_file(tmp_path: Path) -> None:
    text = "# comment\n\nA=1\nB= two words\nHOSTVAR\nNOPE\n"
    assert parse_env_file(text, "f", {"HOSTVAR": "v"}) == ["A=1", "B= two words", "HOSTVAR=v"]
    with pytest.raises(UsageError, match="f:1: invalid variable name"):
        parse_env_file("BAD KEY=1\n", "f", {})


def test_tmpfs() -> None:
    t = parse_tmpfs("/run:size=1m")
    assert t.type == "tmpfs" and "size=1m" in t.options and "noexec" in t.options
    with pytest.raises(UsageError):
        parse_tmpfs("run")


def test_caps() -> None:
    assert resolve_caps([], []) == DEFAULT_CAPS
    caps = resolve_caps(["net_admin"], ["chown", "CAP_KILL"])
    assert "CAP_NET_ADMIN" in caps and "CAP_CHOWN" not in caps and "CAP_KILL" not in caps
    assert resolve_caps(["NET_BIND_SERVICE"], ["ALL"]) == ("CAP_NET_BIND_SERVICE",)
    with pytest.raises(UsageError, match="unknown capability"):
        resolve_caps(["BOGUS"], [])


def test_build_spec_round_trips_as_oci_config() -> None:
    inp = SpecInputs(image=ContainerConfig(cmd=("/bin/sh",), env=("A=1",), working_dir="/app"),
                     rootfs=(), root_path="/tmp/r", container_id="abcdef0123456789" * 4,
                     user=User(1000, 1000))
    flags = RunFlags(args=("id",), env=("B=2",), tty=True, resources=Resources(memory_limit=1 << 25),
                     network="none", read_only=True)
    spec = build_spec(inp, flags, {})
    assert spec.hostname == "abcdef012345"
    assert spec.process.args == ("id",) and spec.process.cwd == "/app" and spec.process.terminal
    assert "TERM=xterm" in spec.process.env and "HOSTNAME=abcdef012345" in spec.process.env
    assert spec.process.capabilities.effective == () and spec.process.capabilities.bounding == DEFAULT_CAPS
    assert spec.root.readonly and spec.has_namespace("network") and spec.has_namespace("pid")
    assert spec.linux.cgroups_path == f"minidock/{inp.container_id}"
    assert Spec.from_json(spec.to_json()) == spec
    host = build_spec(inp, RunFlags(network="host"), {})
    assert not host.has_namespace("network")
