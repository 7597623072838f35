"""Comparing what Docker and minidock made: exported file trees and image configs.

`tree_from_tar(data)`        path -> Entry (type, mode, uid, gid, link target, content sha256) of an export tar
`diff_trees(a, b, ignore)`   human-readable differences ("only in docker: ...", "etc/f: mode 0644 != 0600"), [] if equal
`config_subset(config)`      the fields of an image config both engines must agree on
"""

from __future__ import annotations

import fnmatch
import hashlib
import io
import json
import tarfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NamedTuple


class Entry(NamedTuple):
    """One member of an exported tree; `sha256` only for regular files, `link` for symlinks and hard links."""

    type: str  # file, dir, symlink, hardlink, char, block, fifo
    mode: int  # permission bits incl. setuid/setgid/sticky
    uid: int
    gid: int
    link: str
    sha256: str


# Paths every engine makes up per container (mount points, resolver files) or that hold timestamps.
DEFAULT_IGNORE: tuple[str, ...] = (
    ".dockerenv", "etc/hostname", "etc/hosts", "etc/resolv.conf", "etc/mtab", "dev", "dev/*", "proc", "sys",
)

_TYPES = {tarfile.REGTYPE: "file", tarfile.AREGTYPE: "file", tarfile.DIRTYPE: "dir", tarfile.SYMTYPE: "symlink",
          tarfile.LNKTYPE: "hardlink", tarfile.CHRTYPE: "char", tarfile.BLKTYPE: "block", tarfile.FIFOTYPE: "fifo"}


def _norm(name: str) -> str:
    name = name.removeprefix("./").rstrip("/")
    return name.lstrip("/") or "."


def tree_from_tar(data: bytes | Path) -> dict[str, Entry]:
    """The tree an export tar describes (later members win, as extraction would leave it)."""
    raw = data.read_bytes() if isinstance(data, Path) else data
    tree: dict[str, Entry] = {}
    with tarfile.open(fileobj=io.BytesIO(raw), mode="r:*") as tf:
        for m in tf:
            kind = _TYPES.get(m.type, f"type-{m.type!r}")
            digest = ""
            if m.isreg():
                f = tf.extractfile(m)
                digest = hashlib.sha256(f.read() if f else b"").hexdigest()
            link = _norm(m.linkname) if m.islnk() else m.linkname if m.issym() else ""
            tree[_norm(m.name)] = Entry(kind, m.mode & 0o7777, m.uid, m.gid, link, digest)
    tree.pop(".", None)
    return tree


def _ignored(path: str, ignore: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(path, pattern) for pattern in ignore)


def _entry_diff(path: str, a: Entry, b: Entry, names: tuple[str, str]) -> list[str]:
    out = []
    for field in Entry._fields:
        va, vb = getattr(a, field), getattr(b, field)
        if va != vb:
            shown = (oct(va), oct(vb)) if field == "mode" else (va, vb)
            out.append(f"{path}: {field} {shown[0]} ({names[0]}) != {shown[1]} ({names[1]})")
    return out


def diff_trees(a: dict[str, Entry], b: dict[str, Entry], ignore: Iterable[str] = DEFAULT_IGNORE,
               names: tuple[str, str] = ("docker", "minidock")) -> list[str]:
    """Differences between two trees (a is the oracle's, b minidock's, by default); empty when equal."""
    patterns = tuple(ignore)
    out: list[str] = []
    for path in sorted(a.keys() | b.keys()):
        if _ignored(path, patterns):
            continue
        if path not in b:
            out.append(f"only in {names[0]}: {path} ({a[path].type})")
        elif path not in a:
            out.append(f"only in {names[1]}: {path} ({b[path].type})")
        else:
            out.extend(_entry_diff(path, a[path], b[path], names))
    return out


CONFIG_FIELDS = ("Env", "Cmd", "Entrypoint", "User", "WorkingDir", "ExposedPorts", "Labels", "Healthcheck",
                 "StopSignal", "Volumes")


def config_subset(image_config_json: str | bytes | dict[str, Any]) -> dict[str, Any]:
    """The comparable part of an image config, from the OCI config blob or `inspect` output.

    Accepts the config blob (fields under "config"), `docker inspect`'s object (under "Config") or a
    one-element `inspect` list. Empty values (None, "", [], {}) count as absent, as Docker prints them.
    """
    doc: Any = image_config_json if isinstance(image_config_json, dict | list) else json.loads(image_config_json)
    if isinstance(doc, list):
        doc = doc[0]
    inner = doc.get("config") or doc.get("Config") or {}
    return {k: inner[k] for k in CONFIG_FIELDS if inner.get(k) not in (None, "", [], {})}
