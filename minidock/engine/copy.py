"""`cp` between a container and the host, with Docker's rules for names, owners and `-` (a tar stream).

One side of the copy runs in a child rooted in the container's file system (runtime/fsview.py), so
the container's paths and symlinks resolve inside its root; the two sides talk through a pipe
carrying a tar stream whose first member is the source's basename (`.` for `SRC/.`). The receiving
side maps that root onto the destination by Docker's rules:

  file -> missing DEST: saved as DEST (DEST/ must exist) · existing dir DEST: DEST/<name> · file DEST: replaced
  dir  -> missing DEST: created with the dir's content · existing dir DEST: DEST/<name>, or its content
          for SRC/. · file DEST: error

Copied into a container, files belong to root (0:0) unless `-a` keeps the source's owners; copied
out, they belong to the user who copies (root here), as the docker client writes them (checked
against Docker 20.10 in tests/engine/test_oracle_containers.py).
"""

import copy as _copy
import json
import os
import stat
import sys
import tarfile
from functools import partial

from minidock.errors import CopyError, MinidockError
from minidock.nouns import NamedTuple
from minidock.oci.runtimespec import Spec
from minidock.runtime.fsview import FsTarget, run_in_root
from minidock.store.atomic import make_dir
from minidock.store.containers import ContainerStore
from minidock.store.layertar import add_member, read_xattrs, tar_info
from minidock.store.store import Store

# why everything is imported at the top: the child enters the container's root with an empty
# import path (runtime/fsview.py), so nothing may be imported lazily on its side


class Endpoint(NamedTuple):
    """One side of `cp`: a container's path, or a host path (container ""), or `-` (stdio)."""

    container: str
    path: str


def parse_endpoint(text: str) -> Endpoint:
    """Docker's rule: an absolute path, or one starting with `.`, or without `:` is local."""
    if os.path.isabs(text):
        return Endpoint("", text)
    name, colon, path = text.partition(":")
    if not colon or name.startswith("."):
        return Endpoint("", text)
    return Endpoint(name, path or "/")


# ---- the sending side: a tar of one path --------------------------------------------------------

def write_tree(fd: int, path: str, follow: bool, shown: str) -> None:
    """A tar of `path` on `fd`, rooted at its basename (`.` for `path/.`); `shown` names it in errors."""
    contents = path.endswith(("/.", "/./")) or path in (".", "/")
    try:
        st = os.stat(path) if follow else os.lstat(path)
    except FileNotFoundError:
        raise CopyError(f"no such container:path: {shown}" if ":" in shown else
                        f"lstat {path}: no such file or directory") from None
    root = "." if contents else os.path.basename(os.path.normpath(path))
    with os.fdopen(fd, "wb", closefd=False) as out, tarfile.open(fileobj=out, mode="w|",
                                                                  format=tarfile.PAX_FORMAT) as tf:
        inodes: dict[tuple[int, int], str] = {}
        real = os.path.realpath(path) if follow else path
        add_member(tf, tar_info(root, st, read_xattrs(real)), real, st, inodes)
        if stat.S_ISDIR(st.st_mode):
            _walk(tf, real, root, inodes)


def _walk(tf: tarfile.TarFile, top: str, name: str, inodes: dict[tuple[int, int], str]) -> None:
    for entry in sorted(os.listdir(top)):
        path, member = os.path.join(top, entry), f"{name}/{entry}"
        st = os.lstat(path)
        add_member(tf, tar_info(member, st, read_xattrs(path)), path, st, inodes)
        if stat.S_ISDIR(st.st_mode):
            _walk(tf, path, member, inodes)


# ---- the receiving side: Docker's destination rules ---------------------------------------------

def extract_tree(fd: int, dest: str, keep_owner: bool, raw: bool = False) -> None:
    """Unpack the tar on `fd` at `dest` by the rules above; `raw` (`cp - CTR:DIR`): into DIR as it is."""
    with os.fdopen(fd, "rb", closefd=False) as src, tarfile.open(fileobj=src, mode="r|") as tf:
        first = tf.next()
        if first is None:
            return
        if raw and not os.path.isdir(dest):
            raise CopyError(f"destination {dest!r} must be a directory")
        unpack = _Unpacker(tf, dest if raw else _target(first, dest), "" if raw else first.name.rstrip("/"),
                           keep_owner)
        member: tarfile.TarInfo | None = first
        while member is not None:
            unpack.member(member)
            member = tf.next()


def _target(first: tarfile.TarInfo, dest: str) -> str:
    """Where the source's root lands, given what `dest` is (a directory is followed through links)."""
    name = os.path.basename(first.name.rstrip("/"))
    if os.path.isdir(dest):
        return dest if first.isdir() and name == "." else os.path.join(dest, name)
    if os.path.lexists(dest):
        if first.isdir():
            raise CopyError(f"cannot copy a directory to a file: {dest}")
        return dest
    if dest.endswith("/") and not first.isdir():
        raise CopyError(f"destination directory {dest} does not exist")
    parent = os.path.dirname(dest.rstrip("/")) or "/"
    if not os.path.isdir(parent):
        raise CopyError(f"destination directory {parent} does not exist")
    return dest


class _Unpacker:
    """Writes members under `base` (their root component `root` replaced by it), never through a
    link: the root entry's parent must resolve to the receiving directory, every other member's
    parent inside `base` itself (a link the archive made cannot lead anywhere else)."""

    __slots__ = ("base", "fence", "keep_owner", "root", "tf")

    def __init__(self, tf: tarfile.TarFile, base: str, root: str, keep_owner: bool) -> None:
        self.tf, self.base, self.root, self.keep_owner = tf, base, root, keep_owner
        self.fence = os.path.realpath(os.path.dirname(base.rstrip("/")) or "/")  # where the root entry goes

    def mapped(self, name: str) -> str:
        """A member's path at the destination."""
        name = name.rstrip("/")
        root = self.root
        if root in ("", "."):
            rel = name
        elif name == root or name.startswith(root + "/"):
            rel = name[len(root):]
        else:
            raise CopyError(f"archive member {name!r} is outside its root {root!r}")
        parts = [p for p in rel.split("/") if p not in ("", ".")]
        if ".." in parts:
            raise CopyError(f"archive member {name!r} leaves the destination")
        return os.path.join(self.base, *parts) if parts else self.base

    def member(self, member: tarfile.TarInfo) -> None:
        if member.isdev():
            return  # like docker cp's client: no device nodes
        path = self.mapped(member.name)
        parent = os.path.realpath(os.path.dirname(path))
        fence = self.fence if path == self.base else os.path.realpath(self.base)
        if parent != fence and not parent.startswith(fence.rstrip("/") + "/"):
            raise CopyError(f"archive member {member.name!r} would be written outside the destination")
        if os.path.islink(path) or (os.path.lexists(path) and not os.path.isdir(path)):
            os.unlink(path)
        elif os.path.isdir(path) and not member.isdir():
            raise CopyError(f"cannot overwrite directory {path} with non-directory {member.name}")
        m = _copy.copy(member)
        m.name = path
        if m.islnk():
            m.linkname = self.mapped(m.linkname)
        if not self.keep_owner:
            m.uid = m.gid = 0
        if _TRUSTED:
            self.tf.extract(m, "/", set_attrs=True, numeric_owner=True, filter="fully_trusted")
        else:
            self.tf.extract(m, "/", set_attrs=True, numeric_owner=True)


# PEP 706 filters exist from 3.11.4: the checks above are ours either way (see builder/add.py)
_TRUSTED = hasattr(tarfile, "fully_trusted_filter")


# ---- the command ----------------------------------------------------------------------------------

def cp(src: str, dest: str, archive: bool = False, follow: bool = False, store: Store | None = None) -> None:
    """`cp [-a] [-L] SRC DEST`: exactly one side names a container; `-` is a tar on stdin/stdout."""
    a, b = parse_endpoint(src), parse_endpoint(dest)
    if a.container and b.container:
        raise CopyError("copying between containers is not supported")
    if not a.container and not b.container:
        raise CopyError("must specify at least one container source")
    if not a.container and a.path != "-" and not os.path.lexists(a.path):
        raise CopyError(f"lstat {a.path}: no such file or directory")
    from minidock.engine.lookup import open_store

    target, scratch = _fs_target(store or open_store(), a.container or b.container)
    r, w = os.pipe2(os.O_CLOEXEC)
    try:
        if a.container:  # container -> host: the child writes the tar, we unpack it
            res = run_in_root(target, partial(_send, w, a.path, follow, f"{a.container}:{a.path}"),
                              partial(_receive_host, r, b.path), (w, r))
        else:
            res = run_in_root(target, partial(_receive, r, b.path, archive, a.path == "-"),
                              partial(_send_host, w, a.path, follow), (r, w))
    except tarfile.TarError as e:
        raise CopyError(f"cp {src} {dest}: {e}") from e
    finally:
        if scratch:
            os.rmdir(scratch)
    if res.message or res.code:
        raise CopyError(res.message or f"cp {src} {dest}: failed (status {res.code})")


def _send(fd: int, path: str, follow: bool, shown: str) -> int:
    write_tree(fd, path, follow, shown)
    return 0


def _receive(fd: int, dest: str, archive: bool, raw: bool) -> int:
    extract_tree(fd, dest, keep_owner=archive, raw=raw)
    return 0


def _send_host(fd: int, path: str, follow: bool) -> None:
    if path == "-":
        data = sys.stdin.buffer
        while chunk := data.read(1 << 16):
            os.write(fd, chunk)
        return
    write_tree(fd, path, follow, path)


def _receive_host(fd: int, dest: str) -> None:
    if dest == "-":
        out = sys.stdout.buffer
        while chunk := os.read(fd, 1 << 16):
            out.write(chunk)
        out.flush()
        return
    extract_tree(fd, dest, keep_owner=False)  # docker cp's client: files belong to whoever copies them


def _fs_target(store: Store, ref: str) -> tuple[FsTarget, str]:
    """The container's file system: its running init's namespace, or its mounts and a scratch dir."""
    records = ContainerStore(store.paths)
    try:
        rec = records.get(ref)
    except MinidockError:
        raise CopyError(f"no such container: {ref}") from None
    if rec.status in ("running", "paused") and rec.pid and os.path.exists(f"/proc/{rec.pid}"):
        return FsTarget(pid=rec.pid), ""
    with open(f"{records.dir(rec.id)}/config.json", "rb") as f:
        spec = Spec.from_json(json.load(f))
    scratch = str(make_dir(store.paths.tmp, "cp-"))  # owned: a killed cp's scratch is reclaimed
    binds = tuple(m for m in spec.mounts if m.type == "bind")
    return FsTarget(rootfs=spec.rootfs_mounts, binds=binds, scratch=scratch), scratch

