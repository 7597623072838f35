"""COPY and ADD into an active snapshot's upper dir: Docker's destination rules, --chown, --chmod.

`plan_copy()` is Docker's destination logic (pure but for the image view): a trailing `/` or an
existing directory means "into", several sources need a directory, directories copy their
contents. `copy_items()` then writes files, dirs and symlinks straight into the upper dir (no
container), keeping modes and mtimes, applying `--chown`/`--chmod`. ADD's extras (local archives
auto-extracted, URLs fetched) live in `add.py`.
"""

import os
import posixpath
import stat
from pathlib import Path

from minidock.builder.context import SourceItem, Tree, walk
from minidock.builder.rootfs import LayeredFS, copy_up_parents
from minidock.errors import BuildError
from minidock.nouns import NamedTuple


class Owner(NamedTuple):
    """--chown resolved to numbers (a Copier without one keeps the source's owners)."""

    uid: int = 0
    gid: int = 0


class CopyTarget(NamedTuple):
    """Where one source item lands: a container path, and whether a directory's contents go there."""

    item: SourceItem
    dest: str


def resolve_chown(spec: str, view: LayeredFS) -> Owner:
    """`user[:group]` (names or numbers) against the image's /etc/passwd and /etc/group; group defaults to uid."""
    if not spec:
        return Owner()
    from minidock.runtime.users import parse_group, parse_passwd  # only --chown needs it (start-up cost)

    user, _, group = spec.partition(":")
    uid = _lookup(user, [(p.name, p.uid) for p in parse_passwd(view.read_text("/etc/passwd"))], "user", spec)
    if not group:
        return Owner(uid, uid)
    gid = _lookup(group, [(g.name, g.gid) for g in parse_group(view.read_text("/etc/group"))], "group", spec)
    return Owner(uid, gid)


def _lookup(name: str, table: list[tuple[str, int]], what: str, spec: str) -> int:
    if name.isdigit():
        return int(name)
    for n, num in table:
        if n == name:
            return num
    raise BuildError(f"--chown={spec}: unable to find {what} {name}")


def parse_chmod(spec: str) -> int | None:
    """--chmod as an octal mode (None when absent)."""
    if not spec:
        return None
    try:
        mode = int(spec, 8)
    except ValueError as e:
        raise BuildError(f"--chmod={spec}: invalid mode, want octal digits") from e
    if mode > 0o7777:
        raise BuildError(f"--chmod={spec}: invalid mode")
    return mode


def absolute_dest(dest: str, workdir: str) -> str:
    """COPY's destination as an absolute path (relative ones are under WORKDIR); keeps a trailing `/`."""
    joined = dest if dest.startswith("/") else posixpath.join(workdir or "/", dest)
    norm = posixpath.normpath(joined)
    if norm.startswith("//"):
        norm = "/" + norm.lstrip("/")
    return norm + "/" if (dest.endswith("/") or dest in (".", "./")) and norm != "/" else norm


def plan_copy(tree: Tree, items: list[SourceItem], dest: str, view: LayeredFS, word_count: int) -> list[CopyTarget]:
    """Docker's destination rules for `items` copied to absolute `dest`."""
    into = dest.endswith("/") or dest == "/"
    if (len(items) > 1 or word_count > 1) and not into:
        raise BuildError(f"when using COPY with more than one source file, the destination must be a "
                         f"directory and end with a /: {dest}")
    base = view.canonical(dest.rstrip("/") or "/")
    out = []
    for item in items:
        st = tree.lstat(item.rel)
        is_dir = st is not None and stat.S_ISDIR(st.st_mode)
        if is_dir or not (into or view.is_dir(base)):
            out.append(CopyTarget(item, base))
        else:
            out.append(CopyTarget(item, posixpath.join(base, item.name)))
    return out


class Copier:
    """Writes source items into an upper dir on top of `view`; `owner`/`mode` as COPY's flags say."""

    def __init__(self, upper: Path, view: LayeredFS, owner: Owner | None, mode: int | None) -> None:
        self.upper, self.view, self.owner, self.mode = upper, view, owner, mode
        self.links: dict[tuple[int, int], Path] = {}  # (dev, inode) of a multiply linked source -> its first copy

    def copy(self, tree: Tree, target: CopyTarget) -> None:
        st = tree.lstat(target.item.rel)
        if st is None:
            raise BuildError(f"{target.item.rel}: not found")
        if stat.S_ISDIR(st.st_mode):
            self._dest_dir(target.dest)
            top = target.item.rel
            for rel in walk(tree, top)[1:]:
                sub = rel[len(top):].lstrip("/") if top else rel
                self.entry(tree, rel, posixpath.join(target.dest, sub))
        else:
            self.entry(tree, target.item.rel, target.dest)

    def _dest_dir(self, dest: str) -> None:
        """Make sure `dest` is a directory in the upper (created with the owner when new)."""
        host = copy_up_parents(self.view, self.upper, dest)
        if host.is_dir() and not host.is_symlink():
            return
        below = self.view.resolve(dest, follow_last=False)
        if below is not None and not stat.S_ISDIR(below[2].st_mode):
            raise BuildError(f"cannot copy a directory to {dest}: it exists and is not a directory")
        _remove(host)
        host.mkdir(mode=0o755)
        if below is not None:
            os.chmod(host, stat.S_IMODE(below[2].st_mode))
            os.lchown(host, below[2].st_uid, below[2].st_gid)
        else:
            os.chmod(host, 0o755)
            owner = self.owner or Owner()
            os.lchown(host, owner.uid, owner.gid)

    def entry(self, tree: Tree, rel: str, dest: str) -> None:
        """Copy one file, directory (itself, not its contents) or symlink to container path `dest`."""
        st = tree.lstat(rel)
        if st is None:
            return
        host = copy_up_parents(self.view, self.upper, dest)
        src = tree.host(rel)
        if stat.S_ISDIR(st.st_mode):
            if not (host.is_dir() and not host.is_symlink()):
                _remove(host)
                host.mkdir()
        else:
            _remove(host)
            if stat.S_ISLNK(st.st_mode):
                os.symlink(os.readlink(src), host)
            elif stat.S_ISREG(st.st_mode):
                if self._linked(st, host):
                    return  # why: hard links within one copy stay hard links (BuildKit's copier keeps them)
                import shutil  # lazy: only a COPY that misses the cache writes files

                shutil.copyfile(src, host, follow_symlinks=False)
            else:
                return  # sockets, fifos and devices are not copied (BuildKit skips them too)
        self.finish(host, st)

    def _linked(self, st: os.stat_result, host: Path) -> bool:
        """Link `host` to the copy of a source already copied under another name; False the first time."""
        if st.st_nlink < 2:
            return False
        first = self.links.setdefault((st.st_dev, st.st_ino), host)
        if first == host:
            return False
        os.link(first, host)
        return True

    def finish(self, host: Path, st: os.stat_result) -> None:
        """Owner, mode and mtime of a freshly written entry."""
        owner = self.owner or Owner(st.st_uid, st.st_gid)
        os.lchown(host, owner.uid, owner.gid)
        if not stat.S_ISLNK(st.st_mode):
            os.chmod(host, self.mode if self.mode is not None else stat.S_IMODE(st.st_mode))
        os.utime(host, ns=(st.st_mtime_ns, st.st_mtime_ns), follow_symlinks=False)

    def write_file(self, dest: str, data: bytes, mode: int = 0o644, mtime_ns: int | None = None) -> None:
        """A file with `data` at `dest` (COPY heredocs, ADD URLs; those keep the server's Last-Modified)."""
        host = copy_up_parents(self.view, self.upper, dest)
        _remove(host)
        host.write_bytes(data)
        owner = self.owner or Owner()
        os.lchown(host, owner.uid, owner.gid)
        os.chmod(host, self.mode if self.mode is not None else mode)
        if mtime_ns is not None:
            os.utime(host, ns=(mtime_ns, mtime_ns))


def _remove(host: Path) -> None:
    if host.is_symlink() or host.is_file():
        host.unlink()
    elif host.is_dir():
        import shutil  # lazy: only a COPY that misses the cache writes files

        shutil.rmtree(host)
    elif host.exists() or os.path.lexists(host):
        host.unlink()
