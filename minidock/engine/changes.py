"""`diff`: what a container changed in its file system, read from its overlay upper directory.

Docker's rules for overlay (moby pkg/archive OverlayChanges): walk the upper directory in lexical
order; a 0:0 character device or an opaque directory is a deletion (D); a path that exists in a
lower layer is a change (C), except a directory whose size, mode and mtime all equal the lower
one's; anything else is an addition (A); the parent of an addition or deletion is listed as changed
once. What Docker keeps in its separate "init" layer (the mount points of /etc/hosts, /dev, /proc,
...) is not the container's change, so those stubs are left out here too.
"""

import os
import stat
from collections.abc import Iterator

from minidock.engine.lookup import open_store
from minidock.oci.digest import Digest
from minidock.store.containers import ContainerStore
from minidock.store.store import Store

# Docker's init layer (daemon/initlayer): mount points the engine makes, not the container
INIT_PATHS = frozenset({"/dev", "/dev/pts", "/dev/shm", "/dev/console", "/proc", "/sys", "/.dockerenv",
                        "/etc/resolv.conf", "/etc/hosts", "/etc/hostname", "/etc/mtab"})


def changes(ref: str, store: Store | None = None) -> list[tuple[str, str]]:
    """(kind, path) for each change of the container `ref`: kind A, C or D."""
    store = store or open_store()
    rec = ContainerStore(store.paths).get(ref)
    meta = store.snapshots.meta(rec.id) or {}
    parent = meta.get("parent")
    lowers = [str(p) for p in store.snapshots.lower_dirs(Digest.parse(parent))] if parent else []
    return list(walk_changes(str(store.snapshots.upper(rec.id)), lowers))


def walk_changes(upper: str, lowers: list[str]) -> Iterator[tuple[str, str]]:
    """Docker's overlay change list of `upper` over `lowers` (top-most first)."""
    changed_dirs: set[str] = set()
    for path, st in _walk(upper, "/"):
        if path in INIT_PATHS or _only_stubs(upper, path, st):
            continue
        kind = "D" if _deleted(upper, path, st) else _added_or_changed(path, st, lowers)
        if kind == "":
            continue
        if stat.S_ISDIR(st.st_mode):
            changed_dirs.add(path)
        parent = os.path.dirname(path)
        if kind in ("A", "D") and parent != "/" and parent not in changed_dirs:
            changed_dirs.add(parent)
            yield "C", parent
        yield kind, path


def _walk(top: str, rel: str) -> Iterator[tuple[str, os.stat_result]]:
    for name in sorted(os.listdir(os.path.join(top, rel.lstrip("/")) if rel != "/" else top)):
        path = f"{rel.rstrip('/')}/{name}"
        st = os.lstat(top + path)
        yield path, st
        if stat.S_ISDIR(st.st_mode):
            yield from _walk(top, path)


def _deleted(upper: str, path: str, st: os.stat_result) -> bool:
    if stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:
        return True
    if stat.S_ISDIR(st.st_mode):
        try:
            return os.getxattr(upper + path, "trusted.overlay.opaque", follow_symlinks=False) == b"y"
        except OSError:
            return False
    return False


def _added_or_changed(path: str, st: os.stat_result, lowers: list[str]) -> str:
    """"C" when a lower layer has `path` ("" for an unchanged directory), else "A"."""
    for lower in lowers:
        try:
            old = os.stat(lower + path)
        except OSError:
            continue
        if stat.S_ISDIR(old.st_mode) and stat.S_ISDIR(st.st_mode) and old.st_size == st.st_size \
                and old.st_mode == st.st_mode and old.st_mtime_ns == st.st_mtime_ns:
            return ""
        return "C"
    return "A"


def _only_stubs(upper: str, path: str, st: os.stat_result) -> bool:
    """A directory whose only entries in the upper layer are init-layer stubs (e.g. /etc holding
    just the /etc/hosts mount point): its change is the engine's, not the container's."""
    if not stat.S_ISDIR(st.st_mode) or path not in _STUB_PARENTS:
        return False
    return all(f"{path}/{name}" in INIT_PATHS for name in os.listdir(upper + path))


_STUB_PARENTS = frozenset(os.path.dirname(p) for p in INIT_PATHS) - {"/"}
