"""Image records: name -> the manifest it points at, kept in a journal of tag changes and an index.

`images.journal` is the truth: one JSON line per change (`{"op": "put", "name": NAME, "target":
DESCRIPTOR, "index": DIGEST|null, "created": RFC3339}` or `{"op": "rm", "name": NAME}`), appended
and fsynced under the `images` lock. `images.json` is the index every reader uses (`{"version": 2,
"journal": {"ino", "size", "entries"}, "images": {NAME: RECORD}}`), rewritten after each change
without fsync: it names the journal state it reflects, so a reader that finds it stale (a crash
between the two writes, or a writer in between) or damaged replays the journal instead and puts the
index back. A line or an index record that does not parse costs only that record. The journal is
compacted (rewritten as one `put` per name) when it holds more than twice as many lines as names.
A version 1 index (no journal) is read as it is and gets a journal at its first change.
NAME is the normalised reference ("docker.io/library/alpine:latest", or "NAME@sha256:..." for a
digest pull). The image id is the config digest of the target manifest. Manifests and configs are
content-addressed blobs, so the journal and the blobs are all a rebuild needs.
"""

from __future__ import annotations

import os
import time

from minidock import plainjson
from minidock.errors import ImageNotFoundError, ManifestError, NotFoundError, StoreError
from minidock.nouns import NamedTuple
from minidock.oci import mediatypes as mt
from minidock.oci.descriptor import Descriptor
from minidock.oci.digest import Digest
from minidock.oci.manifest import Manifest, kind_of
from minidock.paths import Paths
from minidock.store.atomic import atomic_write, atomic_write_json, fsync_dir, locked
from minidock.store.content import ContentStore

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

VERSION = 2
COMPACT_SLACK = 64  # lines beyond twice the names before the journal is compacted
MANIFEST_MAX = 4 << 20  # registries refuse bigger manifests (distribution spec): a bigger blob is a layer


def now_rfc3339() -> str:
    """The current UTC time, RFC 3339 with seconds."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class ImageRecord(NamedTuple):
    """A named image: the manifest it resolves to and the index it was chosen from."""

    name: str
    target: Descriptor
    index_digest: Digest | None = None  # JSON "index": the index the target was chosen from
    created: str = ""  # stamped by ImageStore.put when empty

    @classmethod
    def from_json(cls, name: str, d: dict[str, Any]) -> ImageRecord:
        return cls(name=name, target=Descriptor.from_json(d.get("target"), f"image {name}"),
                   index_digest=Digest.parse(d["index"]) if d.get("index") else None,
                   created=str(d.get("created", "")))

    def to_json(self) -> dict[str, Any]:
        return {"target": self.target.to_json(), "index": str(self.index_digest) if self.index_digest else None,
                "created": self.created}


def parse_record(name: str, d: Any) -> ImageRecord | None:
    """The record, or None when it does not parse (it costs only itself)."""
    try:
        return ImageRecord.from_json(name, d)
    except (ManifestError, AttributeError, KeyError, TypeError, ValueError):
        return None


class Replay:
    """The journal read from the start: the records it leaves, its line count, the lines that did not parse.

    A plain class, not a NamedTuple: this module is on the `run` path, and defining a noun costs
    ~10 µs (minidock.nouns) for a result only a crash recovery or `system check` makes."""

    __slots__ = ("bad", "entries", "records")

    def __init__(self, records: dict[str, dict[str, Any]], entries: int, bad: int) -> None:
        self.records, self.entries, self.bad = records, entries, bad


def replay(path: str) -> Replay:
    """Apply every line of the journal at `path` (none: no records)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return Replay({}, 0, 0)
    records: dict[str, dict[str, Any]] = {}
    entries = bad = 0
    for line in data.split(b"\n"):
        if not line.strip():
            continue
        entries += 1
        try:
            e = plainjson.loads(line)
            op, name = e["op"], e["name"]
        except (ValueError, KeyError, TypeError):
            bad += 1
            continue
        if op == "rm" and isinstance(name, str):
            records.pop(name, None)
            continue
        rec = {k: e.get(k) for k in ("target", "index", "created")}
        if op != "put" or not isinstance(name, str) or parse_record(name, rec) is None:
            bad += 1
            continue
        records[name] = rec
    return Replay(records, entries, bad)


def read_index(path: str) -> dict[str, Any] | None:
    """The index file's object, None when it is missing, unreadable or not an index."""
    try:
        with open(path, "rb") as f:
            raw = plainjson.loads(f.read())
    except (OSError, ValueError):
        return None
    return raw if isinstance(raw, dict) and isinstance(raw.get("images"), dict) else None


def _stat(path: str) -> os.stat_result | None:
    try:
        return os.stat(path)
    except FileNotFoundError:
        return None


def is_current(index: dict[str, Any], journal: os.stat_result | None) -> bool:
    """Whether `index` reflects the journal as it is now (an index without a journal: version 1)."""
    j = index.get("journal")
    if journal is None:
        return j is None
    return isinstance(j, dict) and j.get("ino") == journal.st_ino and j.get("size") == journal.st_size


def _line(op: str, name: str, rec: dict[str, Any] | None = None) -> bytes:
    line = plainjson.dumps_compact({"op": op, "name": name, **(rec or {})}, sort_keys=True, ensure_ascii=True)
    return line.encode() + b"\n"


class ImageStore:
    """The image records of one store."""

    def __init__(self, paths: Paths, content: ContentStore | None = None) -> None:
        self.paths = paths
        self.content = content or ContentStore(paths)

    @property
    def journal(self) -> str:
        return f"{self.paths.root}/images.journal"

    # -- reading ---------------------------------------------------------------------------------
    def _raw(self, heal: bool = True) -> dict[str, dict[str, Any]]:
        """name -> record JSON: the index when it is current, else the journal replayed (and, when
        `heal`, the index written back)."""
        journal = _stat(self.journal)
        index = read_index(self.paths.images_json)
        if index is not None and is_current(index, journal):
            return index["images"]  # type: ignore[no-any-return]
        if journal is None:  # no journal (gone, or a version 1 store): the index is all there is
            return index["images"] if index is not None else {}
        rep = replay(self.journal)
        if heal:
            with locked(self.paths.lock("images")):
                self._heal()
        return rep.records

    def _heal(self) -> None:
        """Write the index back from the journal if it is still stale (caller holds the lock)."""
        journal = _stat(self.journal)
        index = read_index(self.paths.images_json)
        if journal is not None and (index is None or not is_current(index, journal)):
            rep = replay(self.journal)
            self._write_index(rep.records, journal, rep.entries)

    def get(self, name: str) -> ImageRecord:
        rec = self.find(name)
        if rec is None:
            raise ImageNotFoundError(f"image {name}: not found")
        return rec

    def find(self, name: str) -> ImageRecord | None:
        d = self._raw().get(name)
        return None if d is None else parse_record(name, d)

    # -- writing ---------------------------------------------------------------------------------
    def put(self, record: ImageRecord) -> None:
        """Add or replace the record named `record.name` (stamped with the time when it has none)."""
        if not record.created:
            record = record._replace(created=now_rfc3339())
        with locked(self.paths.lock("images")):
            records = self._raw(heal=False)
            rec = record.to_json()
            if records.get(record.name) == rec:
                return
            records[record.name] = rec
            self._commit(records, _line("put", record.name, rec))

    def remove(self, name: str) -> None:
        with locked(self.paths.lock("images")):
            records = self._raw(heal=False)
            if records.pop(name, None) is None:
                raise ImageNotFoundError(f"image {name}: not found")
            self._commit(records, _line("rm", name))

    def _commit(self, records: dict[str, dict[str, Any]], line: bytes) -> None:
        """Append `line` to the journal (made first from `records` minus the change if missing: an
        older store), then write the index; compact the journal when it has grown."""
        index = read_index(self.paths.images_json)
        journal = _stat(self.journal)
        entries = (index or {}).get("journal", {}).get("entries", 0) if journal is not None else 0
        if journal is None or not isinstance(entries, int) or entries > 2 * len(records) + COMPACT_SLACK:
            self.compact(records)
            return
        fd = os.open(self.journal, os.O_RDWR | os.O_APPEND | os.O_CLOEXEC)
        try:
            if journal.st_size and os.pread(fd, 1, journal.st_size - 1) != b"\n":
                line = b"\n" + line  # a torn last line (crash mid-append) stays alone on its line
            os.write(fd, line)
            os.fsync(fd)
            st = os.fstat(fd)
        finally:
            os.close(fd)
        self._write_index(records, st, entries + 1)

    def compact(self, records: dict[str, dict[str, Any]]) -> None:
        """Rewrite the journal as one `put` per record (durably), then the index (caller holds the lock).
        An index that does not parse is kept aside as images.json.damaged, never overwritten."""
        if os.path.exists(self.paths.images_json) and read_index(self.paths.images_json) is None:
            os.replace(self.paths.images_json, f"{self.paths.images_json}.damaged")
        atomic_write(self.journal, b"".join(_line("put", n, r) for n, r in sorted(records.items())))
        journal = os.stat(self.journal)
        fsync_dir(self.paths.root)
        self._write_index(records, journal, len(records))

    def _write_index(self, records: dict[str, dict[str, Any]], journal: os.stat_result, entries: int) -> None:
        atomic_write_json(self.paths.images_json,
                          {"version": VERSION, "journal": {"ino": journal.st_ino, "size": journal.st_size,
                                                           "entries": entries},
                           "images": dict(sorted(records.items()))}, durable=False)

    def rebuild(self) -> Replay:
        """`system check --repair`: the index and a compacted journal from the journal (or, without
        one, from what the index still holds); an image manifest no record names any more (its name
        was in what was lost) comes back unnamed, `<none>@<digest>`, so its content stays usable."""
        with locked(self.paths.lock("images")):
            if _stat(self.journal) is not None:
                rep = replay(self.journal)
            else:
                index = read_index(self.paths.images_json) or {"images": {}}
                rep = Replay({n: d for n, d in index["images"].items() if parse_record(n, d)}, 0, 0)
            named = {str(r.target.digest) for n, d in rep.records.items() if (r := parse_record(n, d))}
            for desc in self._manifests():
                if str(desc.digest) not in named:
                    rep.records[f"<none>@{desc.digest}"] = {"target": desc.to_json(), "index": None,
                                                           "created": now_rfc3339()}
            self.compact(rep.records)
        return rep

    def _manifests(self) -> list[Descriptor]:
        """Descriptors of the image manifests in the content store whose config is there too."""
        out = []
        for digest in self.content.list():
            try:
                if self.content.size(digest) > MANIFEST_MAX:
                    continue
                data = self.content.read(digest)
                if not data.startswith(b"{") or kind_of(data) != "manifest":
                    continue
                m = Manifest.from_bytes(data)
            except (ManifestError, NotFoundError, ValueError):
                continue
            if self.content.exists(m.config.digest) and m.config.media_type in mt.CONFIG_TYPES:
                out.append(Descriptor(m.media_type, digest, len(data)))
        return out

    def manifest(self, record: ImageRecord) -> Manifest:
        """The manifest blob the record points at."""
        return Manifest.from_bytes(self.content.read(record.target.digest), record.target.media_type,
                                   f"manifest {record.target.digest}")

    def image_id(self, record: ImageRecord) -> Digest:
        """The image id: the digest of the config blob of the record's manifest."""
        return self.manifest(record).config.digest

    def by_id_prefix(self, prefix: str) -> list[ImageRecord]:
        """Records whose image id starts with `prefix` ("sha256:" optional, at least 1 hex digit)."""
        hx = prefix.removeprefix("sha256:").lower()
        if not hx:
            return []
        out = []
        for rec in self.list():
            try:
                if self.image_id(rec).hex.startswith(hx):
                    out.append(rec)
            except (ManifestError, StoreError, NotFoundError):  # a broken record: `system check` reports it
                continue
        return out

    def list(self, heal: bool = True) -> list[ImageRecord]:
        """Every record that parses, sorted by name (`heal`: put a stale or damaged index back)."""
        out = [parse_record(n, d) for n, d in sorted(self._raw(heal).items())]
        return [r for r in out if r is not None]
