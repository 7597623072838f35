"""users: Docker's `-u` resolution against passwd/group texts (pure)."""

from __future__ import annotations

from pathlib import Path

import pytest

from minidock.errors import RuntimeSetupError
from minidock.oci.runtimespec import User
from minidock.runtime.users import ExecUser, additional_groups, parse_group, parse_passwd, read_exec_user, resolve

PASSWD = """root:x:0:0:root:/root:/bin/sh
# a comment
daemon:x:1:1:daemon:/usr/sbin:/bin/false
broken line
app:x:1000:1000:app:/home/app:/bin/sh
nobody:x:65534:65534:nobody:/home:/bin/false
"""
GROUP = """root:x:0:
wheel:x:10:root,app
staff:x:50:app
app:x:1000:
nogroup:x:65533:
nobody:x:65534:
"""
P, G = parse_passwd(PASSWD), parse_group(GROUP)


def test_parse_skips_malformed_lines() -> None:
    assert [p.name for p in P] == ["root", "daemon", "app", "nobody"]
    assert G[1].members == ("root", "app")


@pytest.mark.parametrize(("spec", "want"), [
    ("root", ExecUser(0, 0, (0, 10), "/root")),
    ("0", ExecUser(0, 0, (0, 10), "/root")),
    ("app", ExecUser(1000, 1000, (1000, 10, 50), "/home/app")),
    ("1000", ExecUser(1000, 1000, (1000, 10, 50), "/home/app")),
    ("nobody", ExecUser(65534, 65534, (65534,), "/home")),
    ("app:staff", ExecUser(1000, 50, (50,), "/home/app")),
    ("app:4242", ExecUser(1000, 4242, (4242,), "/home/app")),
    ("4242", ExecUser(4242, 0, (0,), "/")),
    ("4242:4243", ExecUser(4242, 4243, (4243,), "/")),
    ("nobody:nogroup", ExecUser(65534, 65533, (65533,), "/home")),
])
def test_resolve_like_docker(spec: str, want: ExecUser) -> None:
    assert resolve(spec, P, G) == want


def test_empty_spec_keeps_the_numbers() -> None:
    assert resolve("", P, G) == ExecUser(0, 0, (0, 10), "/root")  # Docker's default: groups=0(root),10(wheel)
    assert resolve("", P, G, User(1000, 1000)) == ExecUser(1000, 1000, (1000, 10, 50), "/home/app")
    assert resolve("", P, G, User(1000, 7, (9,))) == ExecUser(1000, 7, (7, 9), "/home/app")
    assert resolve("", [], [], User(5, 6)) == ExecUser(5, 6, (6,), "/")


def test_additional_gids_are_kept() -> None:
    assert resolve("app", P, G, User(additional_gids=(50, 77))).sgids == (1000, 10, 50, 77)


def test_unknown_names_fail_with_dockers_words() -> None:
    with pytest.raises(RuntimeSetupError, match="unable to find user nope: no matching entries in passwd file"):
        resolve("nope", P, G)
    with pytest.raises(RuntimeSetupError, match="unable to find group nogrp: no matching entries in group file"):
        resolve("app:nogrp", P, G)


def test_read_exec_user_without_etc(tmp_path: Path) -> None:
    assert read_exec_user(str(tmp_path), User(name="123:45")) == ExecUser(123, 45, (45,), "/")
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/passwd").write_text(PASSWD)
    (tmp_path / "etc/group").write_text(GROUP)
    assert read_exec_user(str(tmp_path), User(name="app")).sgids == (1000, 10, 50)


def test_user_name_round_trips_through_json() -> None:
    u = User(1, 2, (3,), name="app:staff")
    assert User.from_json(u.to_json()) == u
    assert "username" not in User().to_json()


@pytest.mark.parametrize(("wanted", "gids"), [
    (("10",), (10,)), (("staff",), (50,)), (("wheel", "10", "staff"), (10, 50)), (("4242",), (4242,)),
    (("+7",), (7,)), (("0",), (0,)), (("2147483647",), (2147483647,)),
])
def test_group_add_like_dockers_getadditionalgroups(wanted: tuple[str, ...], gids: tuple[int, ...]) -> None:
    assert additional_groups(wanted, G) == gids


@pytest.mark.parametrize(("value", "words"), [
    ("nosuch", "unable to find group nosuch: no matching entries in group file"),
    ("", "unable to find group : no matching entries in group file"),
    ("10 ", "unable to find group 10 : no matching entries in group file"),
    ("wheel,staff", "unable to find group wheel,staff: no matching entries in group file"),
    ("99999999999999999999", "unable to find group 99999999999999999999: no matching"),  # past int64: a name
    ("-5", "uids and gids must be in range 0-2147483647"),
    ("2147483648", "uids and gids must be in range 0-2147483647"),
])
def test_group_add_refusals(value: str, words: str) -> None:
    with pytest.raises(RuntimeSetupError, match=words.replace("+", r"\+")):
        additional_groups((value,), G)


def test_group_add_joins_the_users_groups(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/passwd").write_text(PASSWD)
    (tmp_path / "etc/group").write_text(GROUP)
    assert read_exec_user(str(tmp_path), User(groups=("staff", "77"))).sgids == (0, 10, 50, 77)
    assert read_exec_user(str(tmp_path), User(name="nobody", groups=("wheel",))).sgids == (65534, 10)
    assert read_exec_user(str(tmp_path), User(name="app:staff", groups=("app",))).sgids == (50, 1000)
    u = User(name="app", groups=("wheel", "7"))
    assert User.from_json(u.to_json()) == u and u.to_json()["minidock.groupAdd"] == ["wheel", "7"]
