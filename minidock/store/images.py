"""Image records: name -> the manifest it points at, kept in images.json (atomic rewrite under a lock).

File format: {"version": 1, "images": {NAME: {"target": DESCRIPTOR, "index": DIGEST|null,
"created": RFC3339}}}. NAME is the normalised reference ("docker.io/library/alpine:latest", or
"NAME@sha256:..." for a digest pull). The image id is the config digest of the target manifest.
"""

import time
from typing import Any, NamedTuple

from minidock.errors import ImageNotFoundError, ManifestError, NotFoundError, StoreError
from minidock.oci.descriptor import Descriptor
from minidock.oci.digest import Digest
from minidock.oci.manifest import Manifest
from minidock.paths import Paths
from minidock.store.atomic import atomic_write_json, locked, read_json
from minidock.store.content import ContentStore

VERSION = 1


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
    def from_json(cls, name: str, d: dict[str, Any]) -> "ImageRecord":
        return cls(name=name, target=Descriptor.from_json(d.get("target"), f"image {name}"),
                   index_digest=Digest.parse(d["index"]) if d.get("index") else None,
                   created=str(d.get("created", "")))

    def to_json(self) -> dict[str, Any]:
        return {"target": self.target.to_json(), "index": str(self.index_digest) if self.index_digest else None,
                "created": self.created}


class ImageStore:
    """The image records of one store."""

    def __init__(self, paths: Paths, content: ContentStore | None = None) -> None:
        self.paths = paths
        self.content = content or ContentStore(paths)

    def _load(self) -> dict[str, ImageRecord]:
        try:
            raw = read_json(self.paths.images_json, {"version": VERSION, "images": {}})
        except ValueError as e:
            raise StoreError(f"{self.paths.images_json}: invalid JSON: {e}") from e
        images = raw.get("images") if isinstance(raw, dict) else None
        if not isinstance(images, dict):
            raise StoreError(f"{self.paths.images_json}: no images object")
        return {n: ImageRecord.from_json(n, d) for n, d in images.items()}

    def _save(self, records: dict[str, ImageRecord]) -> None:
        atomic_write_json(self.paths.images_json,
                          {"version": VERSION, "images": {n: r.to_json() for n, r in sorted(records.items())}})

    def get(self, name: str) -> ImageRecord:
        rec = self.find(name)
        if rec is None:
            raise ImageNotFoundError(f"image {name}: not found")
        return rec

    def find(self, name: str) -> ImageRecord | None:
        return self._load().get(name)

    def put(self, record: ImageRecord) -> None:
        """Add or replace the record named `record.name` (stamped with the time when it has none)."""
        if not record.created:
            record = record._replace(created=now_rfc3339())
        with locked(self.paths.lock("images")):
            records = self._load()
            records[record.name] = record
            self._save(records)

    def remove(self, name: str) -> None:
        with locked(self.paths.lock("images")):
            records = self._load()
            if records.pop(name, None) is None:
                raise ImageNotFoundError(f"image {name}: not found")
            self._save(records)

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

    def list(self) -> list[ImageRecord]:
        """Every record, sorted by name."""
        return sorted(self._load().values(), key=lambda r: r.name)
