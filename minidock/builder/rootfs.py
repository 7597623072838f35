"""A read-only merged view of a stack of overlay layer dirs, without mounting anything.

The builder needs to look into an image's file system from the host: is COPY's destination an
existing directory, what does /etc/passwd say for `--chown=name`, which files does `COPY --from`
take from another stage. `LayeredFS(dirs)` (top-most first) answers like overlayfs would: an upper
entry hides lower ones, a char device 0:0 is a whiteout, a directory with trusted.overlay.opaque=y
hides everything below it. Absolute symlinks are resolved inside the view (never on the host).
`copy_up_parents()` recreates a path's parent directories in an upper dir with the lower metadata.
"""

from __future__ import annotations

import os
import posixpath
import stat
from pathlib import Path

from minidock.errors import BuildError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

    from _typeshed import StrPath

_OPAQUE_XATTR = "trusted.overlay.opaque"
_MAX_LINKS = 40


def _is_whiteout(st: os.stat_result) -> bool:
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def _is_opaque(path: str) -> bool:
    try:
        return os.getxattr(path, _OPAQUE_XATTR, follow_symlinks=False) == b"y"
    except OSError:
        return False


def split(path: str) -> list[str]:
    """The components of a container path, normalised (`..` cannot climb above /)."""
    return [p for p in posixpath.normpath("/" + path).split("/") if p]


class LayeredFS:
    """Lookups in the union of `dirs` (top-most first); paths are container paths (`/etc/passwd`)."""

    def __init__(self, dirs: Sequence[StrPath]) -> None:
        self.dirs = [str(d) for d in dirs]

    def _entry(self, parts: list[str]) -> tuple[str, os.stat_result] | None:
        """The host path and lstat of the top-most visible entry at `parts` (parents not followed)."""
        rel = "/".join(parts)
        for d in self.dirs:
            host = os.path.join(d, rel) if rel else d
            try:
                st = os.lstat(host)
            except (FileNotFoundError, NotADirectoryError):
                continue
            if _is_whiteout(st):
                return None
            return host, st
        return None

    def resolve(self, path: str, follow_last: bool = True) -> tuple[str, str, os.stat_result] | None:
        """(canonical container path, host path, lstat) of `path` after symlinks; None if absent."""
        todo, links = split(path), 0
        done: list[str] = []
        while todo:
            part = todo.pop(0)
            found = self._entry([*done, part])
            if found is None:
                return None
            _, st = found
            if stat.S_ISLNK(st.st_mode) and (todo or follow_last):
                links += 1
                if links > _MAX_LINKS:
                    raise BuildError(f"too many levels of symbolic links in {path}")
                target = os.readlink(found[0])
                base = "/" if target.startswith("/") else "/" + "/".join(done)
                todo = split(posixpath.join(base, target)) + todo
                done = []
                continue
            if todo and not stat.S_ISDIR(st.st_mode):
                return None
            done.append(part)
        found = self._entry(done)
        if found is None:
            return None
        return "/" + "/".join(done), found[0], found[1]

    def canonical(self, path: str) -> str:
        """`path` with every existing symlink resolved (missing tails are kept as written)."""
        parts = split(path)
        for i in range(len(parts), -1, -1):
            hit = self.resolve("/" + "/".join(parts[:i]))
            if hit is not None:
                return posixpath.join(hit[0], *parts[i:]) if i < len(parts) else hit[0]
        return "/" + "/".join(parts)

    def is_dir(self, path: str) -> bool:
        hit = self.resolve(path)
        return hit is not None and stat.S_ISDIR(hit[2].st_mode)

    def listdir(self, path: str) -> list[str]:
        """Names in the (resolved) directory `path`, merged over the layers, sorted."""
        hit = self.resolve(path)
        if hit is None or not stat.S_ISDIR(hit[2].st_mode):
            return []
        rel = hit[0].lstrip("/")
        names: set[str] = set()
        hidden: set[str] = set()
        for d in self.dirs:
            host = os.path.join(d, rel) if rel else d
            try:
                entries = list(os.scandir(host))
            except (FileNotFoundError, NotADirectoryError):
                continue
            for e in entries:
                if e.name in names or e.name in hidden:
                    continue
                if _is_whiteout(e.stat(follow_symlinks=False)):
                    hidden.add(e.name)
                else:
                    names.add(e.name)
            if not os.path.isdir(host) or os.path.islink(host) or _is_opaque(host):
                break
        return sorted(names)

    def dirs_of(self, path: str) -> list[str]:
        """Host directories that make up directory `path` in the view, top-most first (overlay lowers).

        A layer whose copy of the directory (or of a parent) is a whiteout or a non-directory hides the
        layers below; an opaque directory (or parent) is the last one that counts."""
        hit = self.resolve(path)
        if hit is None or not stat.S_ISDIR(hit[2].st_mode):
            return []
        parts = split(hit[0])
        out: list[str] = []
        for d in self.dirs:
            present, last = _dir_state(d, parts)
            if present:
                out.append(os.path.join(d, *parts))
            if last:
                break
        return out

    def read_text(self, path: str) -> str:
        """The text of a file in the view ("" when missing)."""
        hit = self.resolve(path)
        if hit is None or not stat.S_ISREG(hit[2].st_mode):
            return ""
        with open(hit[1], encoding="utf-8", errors="replace") as f:
            return f.read()


def _dir_state(layer: str, parts: list[str]) -> tuple[bool, bool]:
    """(holds directory `parts`, hides the layers below) for one layer: a whiteout or non-directory on
    the way hides what is below, so does an opaque directory (or parent)."""
    cur, opaque = layer, False
    for part in parts:
        cur = os.path.join(cur, part)
        try:
            st = os.lstat(cur)
        except (FileNotFoundError, NotADirectoryError):
            return False, opaque
        if not stat.S_ISDIR(st.st_mode):
            return False, True
        opaque = opaque or _is_opaque(cur)
    return True, opaque


def copy_up_parents(view: LayeredFS, upper: Path, path: str) -> Path:
    """Create the parents of canonical container `path` in `upper`, copying lower dirs' metadata.

    Returns the host path of `path` inside `upper`. A parent that exists below as a non-directory
    is an error (you cannot copy into a file).
    """
    parts = split(path)
    cur = upper
    for i, part in enumerate(parts[:-1]):
        cur = cur / part
        if cur.is_dir() and not cur.is_symlink():
            continue
        hit = view.resolve("/" + "/".join(parts[: i + 1]), follow_last=False)
        if hit is not None and not stat.S_ISDIR(hit[2].st_mode):
            raise BuildError(f"cannot copy to {path}: /{'/'.join(parts[: i + 1])} is not a directory")
        cur.mkdir(mode=0o755)
        if hit is not None:
            st = hit[2]
            os.chmod(cur, stat.S_IMODE(st.st_mode))
            os.lchown(cur, st.st_uid, st.st_gid)
            os.utime(cur, ns=(st.st_atime_ns, st.st_mtime_ns))
    return upper.joinpath(*parts) if parts else upper
