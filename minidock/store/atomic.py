"""The one way state files are written (temp + fsync + rename), trees removed, and the store locked."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def fsync_dir(path: Path) -> None:
    """Make a rename or create inside `path` durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes, mode: int = 0o644, *, durable: bool = True) -> None:
    """Replace `path` with `data` so a crash leaves either the old or the new file, never a mix.

    `durable=False` skips the two fsyncs (about 1 ms each here): for state that a crash makes
    moot anyway (a running container's record, an active snapshot's metadata), where the rename
    alone keeps readers from ever seeing a torn file and only the last update may be lost."""
    tmp = str(path.parent / f".{path.name}.{os.urandom(6).hex()}")  # unique; O_EXCL below
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
    try:
        fd = os.open(tmp, flags, 0o600)
    except FileNotFoundError:  # first write into this directory
        path.parent.mkdir(parents=True, exist_ok=True)
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
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    if durable:
        fsync_dir(path.parent)


def atomic_write_json(path: Path, obj: Any, *, durable: bool = True, mode: int = 0o644) -> None:
    """atomic_write of `obj` as indented JSON."""
    atomic_write(path, (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode(), mode, durable=durable)


def remove_tree(path: Path | str) -> None:
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


def read_json(path: Path, default: Any) -> Any:
    """The JSON in `path`, or `default` when the file does not exist."""
    try:
        return json.loads(path.read_bytes())
    except FileNotFoundError:
        return default


@contextlib.contextmanager
def locked(lock_file: Path, shared: bool = False) -> Iterator[None]:
    """Hold an flock on `lock_file` (created if missing) for the duration of the block."""
    try:
        fd = os.open(lock_file, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except FileNotFoundError:  # the first lock of this store
        lock_file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock_file, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
