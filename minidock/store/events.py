"""The event journal behind `events`: one JSON line per event in Docker's message shape, appended.

Lifecycle: `record()` appends one line with O_APPEND (a single write(2) of less than a page, so
concurrent writers never interleave) and rotates the file to `events.log.1` past MAX_BYTES under
the events lock; `read()` returns the events of both files in order; `follow()` yields new lines as
they are appended. Losing the journal loses history only: nothing else reads it.
"""

from __future__ import annotations

import os
import time

from minidock import plainjson
from minidock.paths import Paths
from minidock.store.atomic import locked

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping
    from typing import Any

MAX_BYTES = 4 << 20


def message(kind: str, action: str, actor: str, attributes: Mapping[str, str], at_ns: int | None = None
            ) -> dict[str, Any]:
    """Docker's event message (`status`/`id`/`from` are the old fields the CLI still prints for containers)."""
    now = time.time_ns() if at_ns is None else at_ns
    msg: dict[str, Any] = {"Type": kind, "Action": action, "Actor": {"ID": actor, "Attributes": dict(attributes)},
                           "scope": "local", "time": now // 1_000_000_000, "timeNano": now}
    if kind in ("container", "image"):
        msg = {"status": action, "id": actor, **({"from": attributes["image"]} if "image" in attributes else {}),
               **msg}
    return msg


def record(paths: Paths, kind: str, action: str, actor: str, attributes: Mapping[str, str] | None = None) -> None:
    """Append one event; a journal that cannot be written never fails the command that acted."""
    line = plainjson.dumps_compact(message(kind, action, actor, attributes or {}), ensure_ascii=True).encode() + b"\n"
    path = f"{paths.root}/events.log"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError:
        return
    try:
        os.write(fd, line)
        size = os.fstat(fd).st_size
    except OSError:
        return
    finally:
        os.close(fd)
    if size > MAX_BYTES:
        _rotate(paths, path)


def _rotate(paths: Paths, path: str) -> None:
    os.makedirs(paths.locks, exist_ok=True)
    with locked(paths.lock("events")):
        try:
            if os.stat(path).st_size > MAX_BYTES:
                os.replace(path, f"{path}.1")
        except OSError:
            pass


def _lines(path: str, start: int = 0) -> tuple[list[dict[str, Any]], int]:
    try:
        with open(path, "rb") as f:
            f.seek(start)
            data = f.read()
    except OSError:
        return [], start
    end = data.rfind(b"\n") + 1  # a line still being written is read next time
    out = []
    for raw in data[:end].splitlines():
        try:
            obj = plainjson.loads(raw)
        except ValueError:
            continue
        if isinstance(obj, dict):
            out.append(obj)
    return out, start + end


def read(paths: Paths) -> tuple[list[dict[str, Any]], int]:
    """Every journaled event, oldest first, and the offset in events.log where `follow` goes on."""
    older, _ = _lines(f"{paths.root}/events.log.1")
    newer, offset = _lines(f"{paths.root}/events.log")
    return older + newer, offset


def follow(paths: Paths, offset: int, going: Callable[[], bool], poll: float = 0.1) -> Iterator[dict[str, Any]]:
    """Events appended after `offset`, as they come, while `going()` holds (a rotation starts over at 0)."""
    path = f"{paths.root}/events.log"
    while going():
        try:
            if os.stat(path).st_size < offset:
                offset = 0
        except OSError:
            offset = 0
        new, offset = _lines(path, offset)
        yield from new
        if not new:
            time.sleep(poll)
