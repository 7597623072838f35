"""Scratch owned by a live process: what a command makes below tmp/, ingest/ and snapshots/build-*.

Every such directory carries its maker in its name, `<stem>[-.]p<PID>.<start time>[.<random>]`
(the process's start time in clock ticks since boot, /proc/PID/stat field 22, so a reused PID
never passes for the dead owner: containerd's lease idea, kept in the name so it is as atomic as
the mkdir that makes it). store/leftovers.py finds and reclaims what dead owners left. This module
is what the `run` path needs (it makes and removes scratch), so it defines no NamedTuple and
compiles no pattern.
"""

import contextlib
import os
from pathlib import Path

from minidock.paths import Paths
from minidock.store.atomic import remove_tree

BUILD_PREFIX = "build-"
_SELF: dict[int, str] = {}  # pid -> owner tag (a forked child computes its own)


def start_time(pid: int) -> int | None:
    """The start time of process `pid` (clock ticks since boot); None when it is gone or a zombie."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    fields = data[data.rindex(b")") + 2:].split()
    if fields[0] in (b"Z", b"X"):  # a zombie owns nothing any more
        return None
    return int(fields[19])


def me() -> str:
    """This process as an owner tag: `p<PID>.<start time>`."""
    pid = os.getpid()
    tag = _SELF.get(pid)
    if tag is None:
        tag = _SELF[pid] = f"p{pid}.{start_time(pid) or 0}"
    return tag


def owned_name(prefix: str) -> str:
    """A fresh name owned by this process (`prefix` ends with '-' or '.')."""
    return f"{prefix}{me()}.{os.urandom(6).hex()}"


def make_dir(parent: Path, prefix: str, mode: int = 0o700) -> Path:
    """A new directory below `parent`, owned by this process (tempfile.mkdtemp without its imports)."""
    while True:
        d = parent / owned_name(prefix)
        try:
            d.mkdir(mode=mode)
        except FileExistsError:
            continue
        except FileNotFoundError:  # the first scratch of this store
            parent.mkdir(parents=True, exist_ok=True)
            continue
        if mode & 0o022:
            os.chmod(d, mode)  # past the umask
        return d


def build_key() -> str:
    """The key of a build's active snapshot, owned by this process."""
    return owned_name(BUILD_PREFIX)


def tree_size(path: Path) -> int:
    """Apparent size of the regular files below `path` (hard links counted once; a file: its size)."""
    total, seen = 0, set()
    stack = [str(path)]
    while stack:
        try:
            entries = list(os.scandir(stack.pop()))
        except NotADirectoryError:
            with contextlib.suppress(OSError):
                total += os.lstat(path).st_size
            continue
        except FileNotFoundError:
            continue
        for e in entries:
            if e.is_dir(follow_symlinks=False):
                stack.append(e.path)
            elif e.is_file(follow_symlinks=False):
                st = e.stat(follow_symlinks=False)
                if st.st_nlink > 1:
                    if st.st_ino in seen:
                        continue
                    seen.add(st.st_ino)
                total += st.st_size
    return total


def discard(paths: Paths, p: Path) -> bool:
    """Make `p` vanish at once (rename into our own trash, then delete); False when it was already gone."""
    trash = make_dir(paths.tmp, "rm-")
    try:
        os.rename(p, trash / "x")
        return True
    except FileNotFoundError:
        return False
    finally:
        remove_tree(trash)
