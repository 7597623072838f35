"""Push: a local image (manifest + config + layers from the content store) to a registry, manifest last.

For each blob (layers in parallel, then the config): HEAD -> skip when the registry has it; else a
cross-repo mount from another repository of the same registry that a local image record says holds
it (201 done, 202 falls back to the upload it opened); else an upload (monolithic or resumable
chunks, see upload.py). Non-distributable layers are never pushed. Only when every blob is there is
the manifest PUT, with the exact stored bytes so its digest is what the store has -- except for a
built image: its layers are stored plain (uncompressed, as Docker keeps them) and are gzipped for
the push (pushlayers.py), so the pushed manifest names the gzip layers (same config, same image id).
"""

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from minidock.config import Settings
from minidock.errors import ManifestError, MinidockError, PlainError, StoreError
from minidock.image.push_events import (
    BlobExists,
    BlobMounted,
    BlobProgress,
    BlobPushed,
    PushCallback,
    PushDone,
    PushEvent,
    PushStarted,
    no_progress,
)
from minidock.image.pushlayers import gzip_layers, has_plain_layers
from minidock.image.reference import Reference
from minidock.image.transport import Transport
from minidock.image.upload import UploadClient, UploadOptions, state_dir, upload_blob
from minidock.nouns import NamedTuple
from minidock.oci import mediatypes as mt
from minidock.oci.descriptor import Descriptor
from minidock.oci.digest import Digest
from minidock.oci.imageconfig import ImageConfig
from minidock.oci.manifest import Manifest
from minidock.store.images import ImageRecord
from minidock.store.store import Store

MAX_UPLOADS = 5  # Docker's max-concurrent-uploads


class PushOptions(NamedTuple):
    """Upload sizes and how many blobs go at once."""

    upload: UploadOptions = UploadOptions()
    max_uploads: int = MAX_UPLOADS


class PushResult(NamedTuple):
    name: str
    reference: str
    digest: Digest
    size: int
    pushed: int
    mounted: int
    existed: int
    bytes_uploaded: int


def blobs_to_push(manifest: Manifest) -> list[Descriptor]:
    """The blobs a registry needs before the manifest: distributable layers, then the config."""
    return [d for d in manifest.layers if d.media_type not in mt.NONDISTRIBUTABLE] + [manifest.config]


def missing_image(store: Store, ref: Reference) -> PlainError:
    """Docker's words for a push of a name with no local image: no tag of that repository at all,
    or not this tag."""
    prefix = ref.name + ":"
    if any(rec.name.startswith(prefix) for rec in store.images.list()):
        return PlainError(f"tag does not exist: {ref.familiar()}")
    return PlainError(f"An image does not exist locally with the tag: {ref.familiar_name()}")


def local_tags(store: Store, ref: Reference) -> list[Reference]:
    """`push -a`: every local tag of `ref`'s repository, sorted."""
    prefix = ref.name + ":"
    tags = sorted(rec.name[len(prefix):] for rec in store.images.list()
                  if rec.name.startswith(prefix) and "@" not in rec.name)
    return [ref.with_tag(t) for t in tags]


def mount_sources(store: Store, ref: Reference) -> dict[Digest, str]:
    """blob digest -> another repository of the same registry that a local image record came from."""
    out: dict[Digest, str] = {}
    for rec in store.images.list():
        try:
            other = Reference.parse(rec.name.split("@", 1)[0])
            if other.domain != ref.domain or other.repository == ref.repository:
                continue
            m = store.images.manifest(rec)
        except (MinidockError, ValueError):
            continue
        for d in (*m.layers, m.config):
            out.setdefault(d.digest, other.repository)
    return out


class Pusher:
    """Pushes images from one store; `transport` is the HTTP seam (tests pass their own)."""

    def __init__(self, store: Store, settings: Settings, transport: Transport | None = None,
                 options: PushOptions | None = None) -> None:
        self.store, self.settings = store, settings
        self.transport = transport or Transport(settings)
        self.options = options or PushOptions()

    def push(self, ref: Reference, progress: PushCallback | None = None) -> PushResult:
        """Push the local image named `ref` to its registry under its tag (or digest)."""
        return _PushRun(self, ref, progress or no_progress).run()


class _PushRun:
    """The state of one push: client, counters, event serialisation."""

    def __init__(self, pusher: Pusher, ref: Reference, progress: PushCallback) -> None:
        self.p, self.ref, self.store = pusher, ref, pusher.store
        self.what = f"push {ref.familiar_name()}"
        self.client = UploadClient(ref.domain, ref.repository, pusher.settings, pusher.transport, self.what)
        self._progress, self._lock = progress, threading.Lock()
        self.counts = {"pushed": 0, "mounted": 0, "existed": 0, "bytes": 0}
        self.files: dict[Digest, Path] = {}  # blobs made for this push (gzip of plain layers), not in the store

    def emit(self, event: PushEvent) -> None:
        with self._lock:
            self._progress(event)

    def run(self) -> PushResult:
        rec = self._record()
        data = self.store.content.read(rec.target.digest)
        manifest = Manifest.from_bytes(data, rec.target.media_type, f"{self.what}: manifest {rec.target.digest}")
        if not has_plain_layers(manifest):
            return self._push(data, manifest)
        from minidock.store.atomic import make_dir, remove_tree  # lazy: only a built image's push

        work = make_dir(self.store.paths.tmp, "push-")  # owned: a killed push's files are reclaimed
        try:  # why: built layers are kept plain (builder/layer.py); the registry gets gzip, as from Docker
            manifest, self.files = gzip_layers(self.store, manifest, Path(work))
            return self._push(manifest.to_bytes(), manifest)
        finally:
            remove_tree(work)

    def _push(self, data: bytes, manifest: Manifest) -> PushResult:
        """Push the blobs of `manifest`, then its bytes `data`."""
        blobs = blobs_to_push(manifest)
        for d in blobs:
            if d.digest not in self.files and not self.store.content.exists(d.digest):
                raise StoreError(f"{self.what}: blob {d.digest} is not in the store (pull the image again)")
        self.emit(PushStarted(self.ref.name, tuple((d.digest, d.size) for d in blobs), self._layer_ids(manifest)))
        sources = mount_sources(self.store, self.ref)
        self._blobs(blobs[:-1], sources)
        self._blob(blobs[-1], sources)  # the config after the layers, like Docker
        reference = self.ref.reference
        digest = self.client.put_manifest(reference, data, manifest.media_type)
        self.emit(PushDone(reference, digest, len(data)))
        c = self.counts
        return PushResult(name=str(self.ref), reference=reference, digest=digest, size=len(data),
                          pushed=c["pushed"], mounted=c["mounted"], existed=c["existed"], bytes_uploaded=c["bytes"])

    def _layer_ids(self, manifest: Manifest) -> tuple[tuple[Digest, Digest], ...]:
        """(layer blob, diff ID) pairs, from the config (which lists diff IDs in layer order)."""
        config = ImageConfig.from_bytes(self.store.content.read(manifest.config.digest), f"{self.what}: config")
        return tuple((d.digest, diff) for d, diff in zip(manifest.layers, config.diff_ids, strict=False))

    def _record(self) -> ImageRecord:
        rec = self.store.images.find(str(self.ref))
        if rec is None:
            raise missing_image(self.store, self.ref)
        if rec.target.media_type not in mt.MANIFEST_TYPES:
            raise ManifestError(f"{self.what}: cannot push a {rec.target.media_type!r}")
        return rec

    def _blobs(self, blobs: list[Descriptor], sources: dict[Digest, str]) -> None:
        if not blobs:
            return
        with ThreadPoolExecutor(max_workers=max(1, self.p.options.max_uploads),
                                thread_name_prefix="minidock-push") as pool:
            futures = [pool.submit(self._blob, d, sources) for d in blobs]
            try:
                for fut in futures:
                    fut.result()
            except BaseException:
                for f in futures:
                    f.cancel()
                raise

    def _blob(self, d: Descriptor, sources: dict[Digest, str]) -> None:
        if self.client.blob_exists(d.digest):
            self._count("existed")
            self.emit(BlobExists(d.digest, d.size))
            return
        source = sources.get(d.digest)
        if source is not None:
            location = self.client.mount(d.digest, source)
            if location is None:
                self._count("mounted")
                self.emit(BlobMounted(d.digest, d.size, source))
                return
            self.client.cancel(location)  # fell back to an upload session: ours starts fresh below
        self._upload(d)

    def _upload(self, d: Descriptor) -> None:
        path = self.files.get(d.digest) or Path(self.store.content.path(d.digest))
        last = [0]

        def on_bytes(done: int) -> None:
            if done - last[0] >= (1 << 20) or done >= d.size:
                last[0] = done
                self.emit(BlobProgress(d.digest, done, d.size))

        state = state_dir(self.store.paths.ingest, self.client, d.digest)
        size = upload_blob(self.client, d.digest, path, self.p.options.upload, state=state, on_bytes=on_bytes)
        self._count("pushed", size)
        self.emit(BlobPushed(d.digest, d.size))

    def _count(self, what: str, size: int = 0) -> None:
        with self._lock:
            self.counts[what] += 1
            self.counts["bytes"] += size
