"""One flock held for a `with` block: the lock every layer uses (store records, host-wide network state).

Its own module so the runtime and the store share it without importing each other (DESIGN.md's
layers); kept a class, not contextlib.contextmanager: contextlib (with collections and functools)
costs ~2 ms on `run`.
"""

from __future__ import annotations

import fcntl
import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from _typeshed import StrPath


class locked:  # noqa: N801 - used as a function: `with locked(path):`
    """Hold an flock (`shared` or exclusive) on `lock_file`, made with its directories when missing,
    for the duration of the block."""

    __slots__ = ("fd", "lock_file", "shared")

    def __init__(self, lock_file: StrPath, shared: bool = False) -> None:
        self.lock_file, self.shared, self.fd = lock_file, shared, -1

    def __enter__(self) -> None:
        try:
            fd = os.open(self.lock_file, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except FileNotFoundError:  # the first lock in that directory
            os.makedirs(os.path.dirname(self.lock_file) or ".", exist_ok=True)
            fd = os.open(self.lock_file, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH if self.shared else fcntl.LOCK_EX)
        except BaseException:
            os.close(fd)
            raise
        self.fd = fd

    def __exit__(self, *exc: object) -> None:
        os.close(self.fd)
