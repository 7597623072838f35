"""Volumes like Docker's `local` driver: volumes/<name>/_data holds the data, volumes/<name>/volume.json the record.

Lifecycle: `create()` makes the record and an empty `_data` (idempotent for an existing name, as
Docker's); containers bind `_data` (the engine decides who uses what); `remove()` deletes both under
the volumes lock. Anonymous volumes get a random 64-hex name and `anonymous: true`, so `rm -v` and
`run --rm` know which ones belong to a container alone. A directory without a readable record (a
crash between mkdir and the record write) is not a volume: `list()` skips it, `create()` of the
same name takes it over.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

from minidock.errors import ConflictError, NotFoundError, UsageError
from minidock.nouns import NamedTuple
from minidock.paths import Paths
from minidock.store.atomic import atomic_write_json, locked, read_json, remove_tree

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# Docker's rule for volume names (daemon/names: RestrictedNamePattern), at least two characters
_NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")


def valid_name(name: str) -> bool:
    """Whether `name` may name a volume (Docker's pattern)."""
    return bool(_NAME_RE.match(name))


class VolumeRecord(NamedTuple):
    """One volume: its name, when it was made, its labels and driver options."""

    name: str
    created: str
    labels: Mapping[str, str] = MappingProxyType({})
    options: Mapping[str, str] = MappingProxyType({})
    anonymous: bool = False

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> VolumeRecord:
        return cls(name=str(d["name"]), created=str(d.get("created", "")),
                   labels=MappingProxyType(dict(d.get("labels") or {})),
                   options=MappingProxyType(dict(d.get("options") or {})), anonymous=bool(d.get("anonymous")))

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "created": self.created, "labels": dict(self.labels),
                "options": dict(self.options), "anonymous": self.anonymous}


class VolumeStore:
    """The volumes of one store (Paths.volumes)."""

    __slots__ = ("paths",)

    def __init__(self, paths: Paths) -> None:
        self.paths = paths

    def dir(self, name: str) -> Path:
        return Path(self.paths.volumes) / name

    def data(self, name: str) -> Path:
        """The directory containers see (Docker's Mountpoint)."""
        return self.dir(name) / "_data"

    def _lock(self) -> Any:
        Path(self.paths.locks).mkdir(parents=True, exist_ok=True)
        return locked(self.paths.lock("volumes"))

    def create(self, name: str = "", labels: Mapping[str, str] | None = None,
               options: Mapping[str, str] | None = None, *, created: str = "") -> tuple[VolumeRecord, bool]:
        """The volume `name` (a random anonymous one when empty), made if missing: (record, made now)."""
        anonymous = not name
        name = name or os.urandom(32).hex()  # secrets.token_hex without importing secrets (+hashlib: ~8 ms a run)
        if not valid_name(name):
            raise UsageError(f"volume name {name!r}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed, "
                             "at least two characters")
        with self._lock():
            existing = self._read(name)
            if existing is not None:
                return existing, False
            Path(self.paths.volumes).mkdir(mode=0o700, parents=True, exist_ok=True)
            self.dir(name).mkdir(mode=0o700, exist_ok=True)
            self.data(name).mkdir(mode=0o755, exist_ok=True)
            rec = VolumeRecord(name=name, created=created, labels=MappingProxyType(dict(labels or {})),
                               options=MappingProxyType(dict(options or {})), anonymous=anonymous)
            atomic_write_json(self.dir(name) / "volume.json", rec.to_json())
        return rec, True

    def _read(self, name: str) -> VolumeRecord | None:
        if not valid_name(name):
            return None
        d = read_json(self.dir(name) / "volume.json", None)
        if not isinstance(d, dict) or not self.data(name).is_dir():
            return None
        try:
            return VolumeRecord.from_json(d)
        except (KeyError, TypeError, ValueError):
            return None

    def get(self, name: str) -> VolumeRecord:
        rec = self._read(name)
        if rec is None:
            raise NotFoundError(f"no such volume: {name}")
        return rec

    def exists(self, name: str) -> bool:
        return self._read(name) is not None

    def list(self) -> list[VolumeRecord]:
        """Every volume, by name."""
        try:
            names = sorted(os.listdir(self.paths.volumes))
        except FileNotFoundError:
            return []
        return [r for r in map(self._read, names) if r is not None]

    def remove(self, name: str, in_use_by: tuple[str, ...] = ()) -> None:
        """Delete the volume and its data; refused while containers (`in_use_by`) reference it."""
        if in_use_by:
            raise ConflictError(f"remove {name}: volume is in use - [{', '.join(in_use_by)}]")
        with self._lock():
            if self._read(name) is None:
                raise NotFoundError(f"get {name}: no such volume")
            remove_tree(self.dir(name))

    def is_empty(self, name: str) -> bool:
        """Whether the volume's data directory has no entries (Docker copies image content only then)."""
        with os.scandir(self.data(name)) as it:
            return next(it, None) is None

    def size(self, name: str) -> int:
        """Bytes used by the volume's files (lstat sizes; hard links counted once)."""
        seen: set[tuple[int, int]] = set()
        total = 0
        for top, dirs, files in os.walk(self.data(name)):
            for entry in (*dirs, *files):
                try:
                    st = os.lstat(os.path.join(top, entry))
                except OSError:
                    continue
                if (st.st_dev, st.st_ino) not in seen:
                    seen.add((st.st_dev, st.st_ino))
                    total += st.st_size if not os.path.isdir(os.path.join(top, entry)) else 0
        return total
