"""Mounts of another container: a bind whose source is in another process's mount namespace.

`bind_from("/proc/PID/root/PATH", target)` puts what PATH is in the mount namespace of PID (another
container's /dev/shm, for `--ipc container:NAME`) on `target`. mount(2) cannot: a bind of a mount
that belongs to another namespace fails with EINVAL. So the caller (a container's init, before
pivot_root, single-threaded and root) enters that namespace, clones the tree there (open_tree),
comes back and attaches the clone (move_mount); both sides then see the same file system.
"""

from __future__ import annotations

import os

from minidock.runtime import syscalls as sc


def split_source(source: str) -> tuple[str, str] | None:
    """(/proc/PID/ns/mnt, /PATH) for `/proc/PID/root/PATH`; None for any other path."""
    if not source.startswith("/proc/"):
        return None
    pid, sep, rest = source[len("/proc/"):].partition("/root/")
    return (f"/proc/{pid}/ns/mnt", "/" + rest) if sep and pid.isdigit() else None


def bind_from(source: str, target: str) -> bool:
    """Bind `source` (`/proc/PID/root/PATH`) on `target`, through a clone of PID's mount; False (and
    nothing done) when `source` is not such a path."""
    where = split_source(source)
    if where is None:
        return False
    ns_file, path = where
    own = os.open("/proc/self/ns/mnt", os.O_RDONLY | os.O_CLOEXEC)
    try:
        theirs = os.open(ns_file, os.O_RDONLY | os.O_CLOEXEC)
        try:
            sc.setns(theirs, sc.CLONE_NEWNS)
        finally:
            os.close(theirs)
        try:
            tree = sc.clone_tree(path)
        finally:
            sc.setns(own, sc.CLONE_NEWNS)  # why: back at once, on a failure too (the caller goes on here)
    finally:
        os.close(own)
    try:
        sc.attach_tree(tree, target)
    finally:
        os.close(tree)
    return True
