"""The build context and COPY/ADD sources: safe paths, `.dockerignore`, globs, content hashes.

A source tree is anything COPY can read from: the build context directory (`ContextTree`, which
hides what `.dockerignore` excludes and never lets a path leave the context) or another stage's
file system (`LayerTree`, over a `LayeredFS`). `expand_sources()` turns COPY's source words into
`SourceItem`s (globs expanded like Go's filepath.Match, one path component at a time);
`hash_items()` digests names, modes, link targets and file contents for the build cache.
"""

from __future__ import annotations

import os
import posixpath
import stat
from collections.abc import Iterator
from pathlib import Path

from minidock.builder.rootfs import LayeredFS, split
from minidock.errors import BuildError
from minidock.nouns import NamedTuple
from minidock.oci.digest import sha256

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Protocol

    from minidock.builder.dockerignore import Matcher
else:  # why: the Protocol is for the type checker; `typing` costs a build ~4 ms
    Protocol = object

_GLOB_CHARS = "*?["
_CHUNK = 1 << 20
class Tree(Protocol):
    """A read-only file tree addressed by `/`-separated relative paths ("" is the top)."""

    def lstat(self, rel: str) -> os.stat_result | None: ...

    def host(self, rel: str) -> str: ...

    def listdir(self, rel: str) -> list[str]: ...


class SourceItem(NamedTuple):
    """One resolved source: its path in the tree and the name it gets at the destination."""

    rel: str
    name: str


class ContextTree:
    """The build context directory; `.dockerignore`d paths do not exist here."""

    def __init__(self, root: Path, matcher: Matcher | None = None, ignore_size: int = 0) -> None:
        self.root = root.resolve()
        self.matcher = matcher
        self.ignore_size = ignore_size  # bytes of the .dockerignore read (0: none), for the progress display
        self._top = str(self.root)

    @classmethod
    def open(cls, root: Path, dockerfile: Path | None = None) -> ContextTree:
        """The context at `root` with its `.dockerignore` (or `<Dockerfile>.dockerignore`, preferred)."""
        if not root.is_dir():
            raise BuildError(f"build context {root}: not a directory")
        candidates = [root / ".dockerignore"]
        if dockerfile is not None:
            candidates.insert(0, dockerfile.parent / f"{dockerfile.name}.dockerignore")
        for f in candidates:
            if f.is_file():
                from minidock.builder.dockerignore import Matcher, read_patterns  # lazy: only with a .dockerignore

                data = f.read_bytes()
                return cls(root, Matcher(read_patterns(data.decode("utf-8", errors="replace"))), len(data))
        return cls(root)

    def ignored(self, rel: str, st: os.stat_result | None = None) -> bool:
        """Excluded by `.dockerignore`; a directory is kept when a `!` pattern may re-include below it."""
        if not rel or self.matcher is None or not self.matcher.matches(rel):
            return False
        if st is None:
            try:
                st = os.lstat(self.host(rel))
            except OSError:
                return True
        return not stat.S_ISDIR(st.st_mode) or self.matcher.excludes_dir_entirely(rel)

    def lstat(self, rel: str) -> os.stat_result | None:
        try:
            st = os.lstat(self.host(rel))
        except (FileNotFoundError, NotADirectoryError):
            return None
        return None if self.ignored(rel, st) else st

    def host(self, rel: str) -> str:
        return os.path.join(self._top, rel) if rel else self._top

    def listdir(self, rel: str) -> list[str]:
        try:
            names = sorted(os.listdir(self.host(rel)))
        except (FileNotFoundError, NotADirectoryError):
            return []
        return [n for n in names if not self.ignored(f"{rel}/{n}" if rel else n)]


class LayerTree:
    """Another stage's (or image's) file system as a source tree."""

    def __init__(self, view: LayeredFS) -> None:
        self.view = view

    def lstat(self, rel: str) -> os.stat_result | None:
        hit = self.view.resolve("/" + rel, follow_last=False)
        return hit[2] if hit else None

    def host(self, rel: str) -> str:
        hit = self.view.resolve("/" + rel, follow_last=False)
        if hit is None:
            raise BuildError(f"/{rel}: not found")
        return hit[1]

    def listdir(self, rel: str) -> list[str]:
        return self.view.listdir("/" + rel)


def clean_source(word: str, in_context: bool) -> str:
    """A source word -> a clean relative path; `..` may not leave the context."""
    norm = posixpath.normpath("/" + word) if not in_context else posixpath.normpath(word.lstrip("/") or ".")
    if in_context and (norm == ".." or norm.startswith("../")):
        raise BuildError(f"{word}: path is outside the build context")
    rel = norm.lstrip("/")
    return "" if rel == "." else rel


def _follow(tree: Tree, rel: str, word: str) -> str:
    """Follow symlinks in the source path itself (Docker does), staying inside the tree."""
    parts, hops = split(rel), 0
    done: list[str] = []
    while parts:
        part = parts.pop(0)
        cur = "/".join([*done, part])
        st = tree.lstat(cur)
        if st is None or not stat.S_ISLNK(st.st_mode):
            done.append(part)
            continue
        hops += 1
        if hops > 40:
            raise BuildError(f"{word}: too many levels of symbolic links")
        target = os.readlink(tree.host(cur))
        base = "/" if target.startswith("/") else "/" + "/".join(done)
        parts = split(posixpath.join(base, target)) + parts
        done = []
    return "/".join(done)


def expand_sources(tree: Tree, words: tuple[str, ...], in_context: bool) -> list[SourceItem]:
    """Resolve every source word (globs expanded, symlinks in the path followed); missing ones raise."""
    items: list[SourceItem] = []
    for word in words:
        rel = clean_source(word, in_context)
        matches = _glob(tree, rel) if any(c in rel for c in _GLOB_CHARS) else [rel]
        found = [m for m in (_follow(tree, m, word) for m in matches) if not m or tree.lstat(m) is not None]
        if not found:
            where = "in the build context" if in_context else "in the source stage"
            raise BuildError(f"{word}: no such file or directory {where}")
        items += [SourceItem(m, posixpath.basename(m)) for m in found]
    return items


def _glob(tree: Tree, pattern: str) -> list[str]:
    """Paths matching `pattern` component by component (`*` never crosses `/`), sorted."""
    current = [""]
    for part in split(pattern):
        nxt: list[str] = []
        for base in current:
            if any(c in part for c in _GLOB_CHARS):
                import fnmatch  # lazy: only a source with a wildcard needs it

                nxt += [f"{base}/{n}" if base else n for n in tree.listdir(base) if fnmatch.fnmatchcase(n, part)]
            else:
                cand = f"{base}/{part}" if base else part
                if tree.lstat(cand) is not None:
                    nxt.append(cand)
        current = nxt
    return sorted(current)


def walk(tree: Tree, rel: str) -> list[str]:
    """`rel` and everything below it, parents before children, siblings sorted."""
    out = [rel]
    st = tree.lstat(rel)
    if st is not None and stat.S_ISDIR(st.st_mode):
        for name in tree.listdir(rel):
            out += walk(tree, f"{rel}/{name}" if rel else name)
    return out


def _walk_stat(tree: Tree, rel: str) -> Iterator[tuple[str, os.stat_result | None]]:
    """`walk` with each path's lstat (one lstat per path)."""
    st = tree.lstat(rel)
    yield rel, st
    if st is not None and stat.S_ISDIR(st.st_mode):
        for name in tree.listdir(rel):
            yield from _walk_stat(tree, f"{rel}/{name}" if rel else name)


def hash_items(tree: Tree, items: list[SourceItem]) -> str:
    """A digest of what COPY would read: relative names, types, modes, link targets, file bytes."""
    h = sha256.new()
    for item in items:
        h.update(f"item {item.name}\0".encode())
        for rel, st in _walk_stat(tree, item.rel):
            if st is None:
                continue
            sub = rel[len(item.rel):]
            h.update(f"{sub}\0{stat.S_IFMT(st.st_mode):o}\0{stat.S_IMODE(st.st_mode):o}\0".encode())
            if stat.S_ISLNK(st.st_mode):
                h.update(os.readlink(tree.host(rel)).encode() + b"\0")
            elif stat.S_ISREG(st.st_mode):
                h.update(file_digest(tree.host(rel)).encode())
    return "sha256:" + h.hexdigest()


def file_digest(path: str) -> str:
    """The hex SHA-256 of a file's bytes."""
    with open(path, "rb") as f:
        h = sha256.new(os.fstat(f.fileno()).st_size)
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def link_tree(tree: Tree, rel: str, dest: Path) -> Path:
    """A copy of `rel` in `tree` (what the tree shows: ignored paths left out) at `dest`, files hard-linked
    when the file system allows; modes, owners and mtimes as the source's."""
    import shutil  # lazy: only a context bind mount with a .dockerignore copies

    paths = walk(tree, rel)
    for path in paths:
        st = tree.lstat(path)
        if st is None:
            continue
        out = dest / path[len(rel):].lstrip("/") if path != rel else dest
        src = tree.host(path)
        if stat.S_ISDIR(st.st_mode):
            out.mkdir(exist_ok=True)
        elif stat.S_ISLNK(st.st_mode):
            os.symlink(os.readlink(src), out)
        elif stat.S_ISREG(st.st_mode):
            try:
                os.link(src, out)
            except OSError:
                shutil.copy2(src, out)
    for path in reversed(paths):  # directories last, children first: their mtimes stay the source's
        st = tree.lstat(path)
        if st is not None and stat.S_ISDIR(st.st_mode):
            out = dest / path[len(rel):].lstrip("/") if path != rel else dest
            os.chown(out, st.st_uid, st.st_gid)
            os.chmod(out, stat.S_IMODE(st.st_mode))
            os.utime(out, ns=(st.st_atime_ns, st.st_mtime_ns))
    return dest
