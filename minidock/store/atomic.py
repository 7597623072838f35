"""The one way state files are written (temp + fsync + rename), trees removed, the store locked, and
scratch made and discarded.

Scratch (what a command makes below tmp/, ingest/ and snapshots/build-*) is owned by a live
process: its name carries its maker, `<stem>[-.]p<PID>.<start time>[.<random>]` (the start time in
clock ticks since boot, /proc/PID/stat field 22, so a reused PID never passes for the dead owner:
containerd's lease idea, kept in the name so it is as atomic as the mkdir that makes it).
store/leftovers.py finds and reclaims what dead owners left. These helpers live here, not in a module
of their own, because the `run` path needs them and every module costs ~0.1 ms to import.
"""

from __future__ import annotations

import errno
import os

from minidock import flock, plainjson

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from _typeshed import StrPath

    from minidock.paths import Paths


def fsync_dir(path: StrPath) -> None:
    """Make a rename or create inside `path` durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: StrPath, data: bytes, mode: int = 0o644, *, durable: bool = True) -> None:
    """Replace `path` with `data` so a crash leaves either the old or the new file, never a mix.

    `durable=False` skips the two fsyncs (about 1 ms each here): for state that a crash makes
    moot anyway (a running container's record, an active snapshot's metadata), where the rename
    alone keeps readers from ever seeing a torn file and only the last update may be lost."""
    parent, name = os.path.split(path)
    parent = parent or "."
    tmp = f"{parent}/.{name}.{os.urandom(6).hex()}"  # unique; O_EXCL below
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
    try:
        fd = os.open(tmp, flags, 0o600)
    except FileNotFoundError:  # first write into this directory
        os.makedirs(parent, exist_ok=True)
        fd = os.open(tmp, flags, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            if durable:
                os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    if durable:
        fsync_dir(parent)


def atomic_write_json(path: StrPath, obj: Any, *, durable: bool = True, mode: int = 0o644) -> None:
    """atomic_write of `obj` as indented JSON."""
    text = plainjson.dumps_indent(obj, indent=2, sort_keys=True, ensure_ascii=True)
    atomic_write(path, (text + "\n").encode(), mode, durable=durable)


def remove_tree(path: StrPath) -> None:
    """Delete a directory tree, if it exists.

    Trees removed on the `run` path are tiny (an exited container's upper dir), so they go
    bottom-up with os.walk; `shutil` (whose import pulls in bz2, lzma and zlib: ~4 ms) is
    loaded only when that fails (e.g. a directory without write permission for root's caps)."""
    if os.path.islink(path):  # never walk into a link's target
        os.unlink(path)
        return
    try:
        for top, dirs, files in os.walk(path, topdown=False):
            for name in files:
                os.unlink(os.path.join(top, name))
            for name in dirs:
                p = os.path.join(top, name)
                os.unlink(p) if os.path.islink(p) else os.rmdir(p)
        os.rmdir(path)
    except FileNotFoundError:
        pass
    except OSError:
        import shutil  # lazy: see the docstring

        shutil.rmtree(path, ignore_errors=True)


def read_json(path: StrPath, default: Any) -> Any:
    """The JSON in `path`, or `default` when the file does not exist."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return default
    return plainjson.loads(data)


locked = flock.locked  # the store's records lock with the one shared class (minidock/flock.py)


# -- scratch owned by a live process ------------------------------------------------------------
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


def make_dir(parent: StrPath, prefix: str, mode: int = 0o700) -> str:
    """A new directory below `parent`, owned by this process (tempfile.mkdtemp without its imports)."""
    while True:
        d = os.path.join(parent, owned_name(prefix))
        try:
            os.mkdir(d, mode)
        except FileExistsError:
            continue
        except FileNotFoundError:  # the first scratch of this store
            os.makedirs(parent, exist_ok=True)
            continue
        if mode & 0o022:
            os.chmod(d, mode)  # past the umask
        return d


def build_key() -> str:
    """The key of a build's active snapshot, owned by this process."""
    return owned_name(BUILD_PREFIX)


def tree_size(path: StrPath) -> int:
    """Apparent size of everything but directories below `path`, hard links counted once (a file:
    its size): Docker's directory.Size, so a symlink counts its target's length and a whiteout 0."""
    total, seen = 0, set()
    stack = [os.fspath(path)]
    while stack:
        top = stack.pop()
        try:
            entries = list(os.scandir(top))
        except NotADirectoryError:
            try:
                total += os.lstat(top).st_size
            except OSError:
                pass
            continue
        except FileNotFoundError:
            continue
        for e in entries:
            if e.is_dir(follow_symlinks=False):
                stack.append(e.path)
                continue
            try:
                st = e.stat(follow_symlinks=False)
            except FileNotFoundError:  # removed meanwhile (a running container's upper)
                continue
            if st.st_nlink > 1:
                if st.st_ino in seen:
                    continue
                seen.add(st.st_ino)
            total += st.st_size
    return total


def discard(paths: Paths, p: StrPath) -> bool:
    """Make `p` vanish at once (renamed into tmp/ under a name this process owns, then deleted; a
    crash in between leaves an owned leftover for the reclaim); False when it was already gone.
    On another file system (a secret's copy in /dev/shm) it is deleted in place."""
    while True:
        trash = f"{paths.tmp}/{owned_name('rm-')}"
        try:
            os.rename(p, trash)  # why no own directory first: one mkdir and one rmdir less per `run --rm`
            break
        except FileNotFoundError:
            if not os.path.lexists(p):
                return False
            os.makedirs(paths.tmp, exist_ok=True)  # the store's first scratch
        except OSError as e:
            if e.errno in (errno.EEXIST, errno.ENOTEMPTY):  # that name is taken: draw another
                continue
            if e.errno != errno.EXDEV:
                raise
            remove_tree(p)
            return True
    remove_tree(trash)
    return True
