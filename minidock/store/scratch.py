"""Scratch owned by a live process: what a command makes below tmp/, ingest/ and snapshots/build-*.

Every such directory carries its maker in its name, `<stem>[-.]p<PID>.<start time>[.<random>]`
(the process's start time in clock ticks since boot, /proc/PID/stat field 22, so a reused PID
never passes for the dead owner: containerd's lease idea, kept in the name so it is as atomic as
the mkdir that makes it). A directory whose owner is dead (or a zombie) is a crash leftover:
`reclaim()` removes those (rename into the reclaimer's own trash, then delete, so two reclaimers
never race); `scan()` lists every scratch entry with its size for `system check` and `system df`.
Directories without an owner in their name (older stores, push upload states that resume across
processes) are never reclaimed automatically: `system check` reports them and `--repair` removes them.
"""

import contextlib
import os
import re
from pathlib import Path
from typing import NamedTuple

from minidock.paths import Paths
from minidock.store.atomic import remove_tree

_OWNER_RE = re.compile(r"[.-]p(\d+)\.(\d+)(?:\.[0-9a-f]{12})?$")
BUILD_PREFIX = "build-"
_SELF: dict[int, str] = {}  # pid -> owner tag (a forked child computes its own)


class Owner(NamedTuple):
    """The process that made a scratch directory."""

    pid: int
    start: int


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


def owner_of(name: str) -> Owner | None:
    """The owner a scratch name carries, None for names without one."""
    m = _OWNER_RE.search(name)
    return Owner(int(m.group(1)), int(m.group(2))) if m else None


def alive(owner: Owner) -> bool:
    return start_time(owner.pid) == owner.start


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


class Leftover(NamedTuple):
    """One scratch entry: area (tmp, ingest, snapshot), path, bytes, owner (None: none named) and state."""

    area: str
    path: Path
    size: int
    owner: Owner | None
    live: bool

    @property
    def dead(self) -> bool:
        """Owned by a process that is gone: reclaimable by any command."""
        return self.owner is not None and not self.live


def _entries(paths: Paths) -> list[tuple[str, Path]]:
    out: list[tuple[str, Path]] = []
    for area, base in (("tmp", paths.tmp), ("ingest", paths.ingest)):
        with contextlib.suppress(FileNotFoundError):
            out += [(area, base / n) for n in sorted(os.listdir(base))]
    with contextlib.suppress(FileNotFoundError):
        out += [("snapshot", paths.snapshots / n) for n in sorted(os.listdir(paths.snapshots))
                if n.startswith(BUILD_PREFIX)]
    return out


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


def scan(paths: Paths, sizes: bool = True) -> list[Leftover]:
    """Every scratch entry of the store (live ones too), with its size when `sizes`."""
    out = []
    for area, p in _entries(paths):
        owner = owner_of(p.name)
        live = owner is not None and alive(owner)
        out.append(Leftover(area, p, tree_size(p) if sizes else 0, owner, live))
    return out


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


def reclaim(paths: Paths, ingests: bool = True, sizes: bool = False) -> list[Leftover]:
    """Remove the scratch of dead owners (ingests too when `ingests`); returns what went (sized if `sizes`)."""
    gone = []
    for left in scan(paths, sizes=False):
        if not left.dead or (left.area == "ingest" and not ingests):
            continue
        size = tree_size(left.path) if sizes else 0
        if discard(paths, left.path):
            gone.append(left._replace(size=size))
    return gone
