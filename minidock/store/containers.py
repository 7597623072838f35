"""Container records: containers/<id>/state.json (+ config.json, the runtime spec), names, lookup.

Lifecycle: `create()` reserves the id and the (unique) name under the containers lock and
writes state "created"; the process/monitor `update()`s status, pid, exit code and times;
`remove()` deletes the directory. A record that says running while its supervisor (the
monitor, or the CLI of a foreground run: `monitor_pid`) is gone was orphaned by a crash or a
kill -9: the first reader that notices (`refresh()`, or `create()` under its lock) records it once
as exited (255, `finished_at` = when it was noticed, never the start) with `reclaim` set, and the
engine (engine/reclaim.py) then takes back its cgroups, network and, for --rm, the container.
Records are runtime state: written atomically but not fsynced (a crash makes them moot; the
rule above and `system check` repair what a lost last update leaves).
"""

from __future__ import annotations

import os
import time

from minidock.errors import ConflictError, InvalidParameterError, NotFoundError
from minidock.paths import Paths
from minidock.store.alive import alive as _alive
from minidock.store.alive import alive_since
from minidock.store.atomic import atomic_write_json, locked, read_json, remove_tree
from minidock.store.ctrrecord import ContainerRecord

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_NAME_CHARS = _ALNUM | frozenset("_.-")
STATUSES = ("created", "running", "paused", "restarting", "exited", "dead")
ACTIVE = ("running", "paused", "restarting")
ORPHANED = "container process and monitor are gone"


def now_rfc3339(at: float | None = None) -> str:
    """`at` (default: now), RFC 3339 UTC with microseconds."""
    now = time.time() if at is None else at
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1e6):06d}Z"


def valid_name(name: str) -> bool:
    """Docker's container name pattern `^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$` (two characters at least),
    checked without `re` (whose import costs ~4 ms on `run`)."""
    name = name[1:] if name.startswith("/") else name
    return len(name) > 1 and name[0] in _ALNUM and _NAME_CHARS.issuperset(name)


def _invalid(name: str) -> InvalidParameterError:
    return InvalidParameterError(f"Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")


def orphaned(r: ContainerRecord) -> bool:
    """Says running, but its supervisor (monitor or foreground CLI; else its process) is gone; or
    its creator died before the record was complete."""
    if r.creating:
        return not r.reclaim and not _alive(r.creating)
    if r.status not in ACTIVE:
        return False
    return not (alive_since(r.monitor_pid, r.monitor_start) if r.monitor_pid else _alive(r.pid))


def _as_orphaned(r: ContainerRecord) -> ContainerRecord:
    """Exited when noticed (the supervisor's death left no time behind; never the start time); a
    half-created one stays `created`, to be removed by the reclaim."""
    if r.creating:
        return r.with_(reclaim=True, error=r.error or "its creation was interrupted")
    return r.with_(status="exited", exit_code=r.exit_code or 255, error=r.error or ORPHANED,
                   finished_at=now_rfc3339(), pid=0, reclaim=True)


class ContainerStore:
    """Records under paths.containers; all mutations hold the containers lock."""

    def __init__(self, paths: Paths) -> None:
        self.paths = paths
        self.pending: list[str] = []  # ids `create` found orphaned or awaiting reclaim (engine/reclaim)

    def _lock(self) -> Any:
        return locked(self.paths.lock("containers"))

    def dir(self, cid: str) -> str:
        return self.paths.container(cid)

    def new_id(self) -> str:
        return os.urandom(32).hex()

    def create(self, record: ContainerRecord) -> ContainerRecord:
        """Reserve the record's id and name; ConflictError when the name is taken."""
        if not valid_name(record.name):
            raise _invalid(record.name)
        if record.name.startswith("/"):  # Docker's names are kept with one leading "/": "/ab" is "ab"
            record = record.with_(name=record.name[1:])
        if not os.path.isdir(self.paths.containers):
            self.paths.ensure()
        with self._lock():
            others = self._all()
            for other in others:
                if other.name == record.name:
                    raise ConflictError(
                        f'container name "/{record.name}" is already in use by container "{other.id}"')
            os.makedirs(self.dir(record.id))
            atomic_write_json(f"{self.dir(record.id)}/state.json", record.to_json(), durable=False)
            self.pending = [self._write_orphaned(o).id if orphaned(o) else o.id for o in others
                            if o.reclaim or orphaned(o)]
        return record

    def rename(self, cid: str, name: str) -> ContainerRecord:
        """Give the container `cid` the unused name `name` (Docker's rules and messages)."""
        name = name.removeprefix("/")
        if not valid_name(name):
            raise InvalidParameterError(f"Error when allocating new name: {_invalid('/' + name)}")
        with self._lock():
            cur = self._read(cid)
            if cur is None:
                raise NotFoundError(f"no such container: {cid}")
            if cur.name == name:
                raise ConflictError("renaming a container with the same name as its current name")
            for other in self._all():
                if other.name == name:
                    raise ConflictError(f'conflict: the container name "/{name}" is already in use by container '
                                        f'"{other.id}"; you have to remove (or rename) that container to be able '
                                        "to reuse that name")
            new = cur.with_(name=name)
            atomic_write_json(f"{self.dir(cid)}/state.json", new.to_json(), durable=False)
        return new

    def find(self, cid: str) -> ContainerRecord | None:
        """The record of the full id `cid` as it is on disk (no refresh), or None when there is none."""
        return self._read(cid)

    def _read(self, cid: str) -> ContainerRecord | None:
        try:
            d = read_json(f"{self.dir(cid)}/state.json", None)
            return ContainerRecord.from_json(d) if isinstance(d, dict) else None
        except (ValueError, TypeError, OSError) as e:  # a damaged record is shown as dead, so rm can remove it
            return ContainerRecord(id=cid, name=f"damaged-{cid[:12]}", image="", image_id="", created="",
                                   status="dead", error=f"state.json unreadable: {e}")

    def _all(self) -> list[ContainerRecord]:
        try:
            names = sorted(os.listdir(self.paths.containers))
        except (FileNotFoundError, NotADirectoryError):
            return []
        out = [self._read(name) for name in names]
        return [r for r in out if r is not None]

    def list(self) -> list[ContainerRecord]:
        """Every container, newest first, with dead monitors/pids reported as exited."""
        return sorted((self.refresh(r) for r in self._all()), key=lambda r: r.created, reverse=True)

    def get(self, ref: str) -> ContainerRecord:
        """By full id, exact name, or unique id prefix (like Docker)."""
        name = ref.lstrip("/")
        records = self._all()
        for r in records:
            if r.id == ref or r.name == name:
                return self.refresh(r)
        matches = [r for r in records if r.id.startswith(ref)] if ref else []
        if len(matches) == 1:
            return self.refresh(matches[0])
        if len(matches) > 1:
            raise ConflictError(f"multiple containers found with provided prefix: {ref}")
        raise NotFoundError(f"no such container: {ref}")

    def update(self, cid: str, **changes: Any) -> ContainerRecord:
        """Apply `changes` to the stored record atomically; returns the new record."""
        with self._lock():
            cur = self._read(cid)
            if cur is None:
                raise NotFoundError(f"no such container: {cid}")
            new = cur.with_(**changes)
            atomic_write_json(f"{self.dir(cid)}/state.json", new.to_json(), durable=False)
        return new

    def refresh(self, r: ContainerRecord) -> ContainerRecord:
        """A running/paused record whose monitor is gone (or, without a monitor, whose process is
        gone) is exited: nothing supervises it any more. Recorded once, under the lock (see the
        module docstring); a reader that may not write (a read-only store) only shows it."""
        if not orphaned(r):
            return r
        try:
            with self._lock():
                cur = self._read(r.id)
                if cur is None or not orphaned(cur):
                    return cur or r
                return self._write_orphaned(cur)
        except PermissionError:
            return _as_orphaned(r)

    def _write_orphaned(self, r: ContainerRecord) -> ContainerRecord:
        """(Under the lock.) Record that `r` ended unsupervised, now, with its leftovers to reclaim."""
        new = _as_orphaned(r)
        atomic_write_json(f"{self.dir(r.id)}/state.json", new.to_json(), durable=False)
        return new

    def remove(self, cid: str) -> None:
        with self._lock():
            remove_tree(self.dir(cid))
