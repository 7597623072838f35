"""Users: resolve Docker's `-u name|uid[:group|gid]` against a rootfs's /etc/passwd and /etc/group.

The rules are moby/sys/user's GetExecUser: a name must exist in passwd; a numeric uid need not
(then gid defaults to the spec's); an empty spec keeps User's numbers (Docker's default user); a
named or numeric group replaces the primary gid; supplementary groups (from /etc/group membership) are added only
when no group was given; like Docker's daemon, the primary gid heads the supplementary list.
`--group-add` values follow GetAdditionalGroups: a group's name or gid, else any gid in range.
Parsing is pure; `read_exec_user(root, user)` is the one reader.
"""

from __future__ import annotations

import os

from minidock.errors import RuntimeSetupError
from minidock.nouns import NamedTuple
from minidock.oci.runtimespec import User
from minidock.runtime.syscalls import read_file


class PasswdEntry(NamedTuple):
    name: str
    uid: int
    gid: int
    home: str


class GroupEntry(NamedTuple):
    name: str
    gid: int
    members: tuple[str, ...]


class ExecUser(NamedTuple):
    """The identity the container process gets."""

    uid: int
    gid: int
    sgids: tuple[int, ...] = ()
    home: str = "/"


def _int(s: str) -> int | None:
    return int(s) if s.isdigit() else None


def parse_passwd(text: str) -> list[PasswdEntry]:
    """Entries of an /etc/passwd text (malformed lines are skipped, like libc)."""
    out = []
    for line in text.splitlines():
        f = line.strip().split(":")
        if len(f) < 4 or line.startswith("#") or _int(f[2]) is None or _int(f[3]) is None:
            continue
        out.append(PasswdEntry(f[0], int(f[2]), int(f[3]), f[5] if len(f) > 5 else ""))
    return out


def parse_group(text: str) -> list[GroupEntry]:
    """Entries of an /etc/group text."""
    out = []
    for line in text.splitlines():
        f = line.strip().split(":")
        if len(f) < 3 or line.startswith("#") or _int(f[2]) is None:
            continue
        members = tuple(m for m in (f[3].split(",") if len(f) > 3 else []) if m)
        out.append(GroupEntry(f[0], int(f[2]), members))
    return out


def _find_user(arg: str, default: User, passwd: list[PasswdEntry]) -> tuple[PasswdEntry | None, int, int]:
    """(matched entry, uid, gid) for the user part of the spec."""
    match = next((p for p in passwd if p.name == arg or str(p.uid) == arg), None)
    if match is not None:
        return match, match.uid, match.gid
    uid = _int(arg)
    if uid is None:
        raise RuntimeSetupError(f"unable to find user {arg}: no matching entries in passwd file", stage="user")
    return None, uid, default.gid


def _default_user(passwd: list[PasswdEntry], groups: list[GroupEntry], user: User) -> ExecUser:
    """No user named: keep the spec's numbers; when passwd agrees (same uid and gid), add the
    memberships as Docker does for its default (root: groups=0(root),10(wheel))."""
    entry = next((p for p in passwd if p.uid == user.uid), None)
    sgids = [user.gid]
    if entry is not None and entry.gid == user.gid:
        sgids += [g.gid for g in groups if entry.name in g.members and g.gid != user.gid]
    extra = [g for g in user.additional_gids if g not in sgids]
    return ExecUser(user.uid, user.gid, tuple(sgids + extra), entry.home if entry and entry.home else "/")


def resolve(spec: str, passwd: list[PasswdEntry], groups: list[GroupEntry],
            default: User | None = None) -> ExecUser:
    """Docker's resolution of `spec` (`name|uid[:group|gid]`) to uid, gid and supplementary gids."""
    default = default or User()
    if not spec:
        return _default_user(passwd, groups, default)
    user_arg, has_group, group_arg = spec.partition(":")
    entry, uid, gid = _find_user(user_arg, default, passwd)
    if has_group and group_arg:
        g = next((g for g in groups if g.name == group_arg or str(g.gid) == group_arg), None)
        if g is not None:
            gid = g.gid
        elif _int(group_arg) is not None:
            gid = int(group_arg)
        else:
            raise RuntimeSetupError(f"unable to find group {group_arg}: no matching entries in group file",
                                    stage="user")
    sgids = [gid]  # Docker lists the primary group first, then (implicit form only) the memberships
    if entry is not None and not group_arg:
        sgids += [g.gid for g in groups if entry.name in g.members and g.gid != gid]
    extra = [g for g in default.additional_gids if g not in sgids]
    home = entry.home if entry is not None and entry.home else "/"
    return ExecUser(uid, gid, tuple(sgids + extra), home)


MAX_ID = 2**31 - 1  # moby/sys/user: uids and gids are 0..2147483647


def _go_int(s: str) -> int | None:
    """Go's strconv.ParseInt(s, 10, 64): an optional sign, ASCII digits, int64's range; else None."""
    digits = s[1:] if s[:1] in ("+", "-") else s
    if not digits or not (digits.isascii() and digits.isdigit()):
        return None
    n = int(s)
    return n if -(2**63) <= n < 2**63 else None


def additional_groups(wanted: tuple[str, ...], groups: list[GroupEntry]) -> tuple[int, ...]:
    """Docker's `--group-add`: each value is a group of /etc/group (by name or gid) or a number in
    range; anything else fails the start with Docker's words."""
    out: list[int] = []
    for want in wanted:
        g = next((g for g in groups if want in (g.name, str(g.gid))), None)
        gid = g.gid if g is not None else _go_int(want)
        if gid is None:
            raise RuntimeSetupError(f"unable to find group {want}: no matching entries in group file", stage="user")
        if not 0 <= gid <= MAX_ID:
            raise RuntimeSetupError(f"uids and gids must be in range 0-{MAX_ID}", stage="user")
        if gid not in out:
            out.append(gid)
    return tuple(out)


def _read(path: str) -> str:
    """The file's text ("" when missing); raw reads: no text-file machinery in the container's init."""
    try:
        return read_file(path).decode("utf-8", errors="replace")
    except (FileNotFoundError, NotADirectoryError):
        return ""


def read_exec_user(root: str, user: User) -> ExecUser:
    """Resolve `user.name` (or the numeric uid when empty) against `root`/etc/{passwd,group}."""
    passwd = parse_passwd(_read(os.path.join(root, "etc/passwd")))
    groups = parse_group(_read(os.path.join(root, "etc/group")))
    if user.groups:  # why: Docker resolves --group-add in the container's own /etc/group, at start
        extra = additional_groups(user.groups, groups)
        user = user._replace(additional_gids=(*user.additional_gids, *(g for g in extra
                                                                       if g not in user.additional_gids)))
    return resolve(user.name, passwd, groups, user)
