"""Pull: reference -> (index ->) manifest -> config -> layers as committed snapshots -> image record.

Every manifest, config and blob is verified (size + digest) before it becomes visible; every layer's
uncompressed bytes are checked against the config's diff_id. Layers download in parallel (3 at a
time, like Docker) and each is unpacked while it downloads (one pass: network -> ingest writer and
-> decompress+untar into its own snapshot dir); snapshots are committed in layer order. A layer
whose snapshot and blob both exist is skipped; one whose blob is already stored is unpacked from
disk; one whose snapshot exists but whose blob is gone (rmi kept a build cache's snapshots, repair
removed a corrupt blob) has its blob fetched: an image is never recorded without its blobs. An
interrupted download resumes with HTTP Range (the ingest keeps its bytes). Two concurrent pulls of
one image serialise per blob (a flock) and the store keeps one copy.
"""

import shutil
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from minidock.config import Settings
from minidock.errors import ArchiveError, DigestMismatchError, ManifestError
from minidock.image.blobs import BlobReader, fetch_blob
from minidock.image.events import (
    LayerDone,
    LayerProgress,
    LayerSkipped,
    LayerStarted,
    LayerVerified,
    ProgressCallback,
    PullDone,
    PullEvent,
    Resolved,
    no_progress,
)
from minidock.image.reference import Reference
from minidock.image.registry import FetchedManifest, RegistryClient
from minidock.image.transport import Transport
from minidock.nouns import NamedTuple
from minidock.oci import mediatypes as mt
from minidock.oci.descriptor import Descriptor, Platform
from minidock.oci.digest import Digest
from minidock.oci.imageconfig import ImageConfig, chain_ids
from minidock.oci.manifest import Index, Manifest, kind_of
from minidock.store.atomic import locked
from minidock.store.images import ImageRecord
from minidock.store.layers import LayerResult, apply_layer, unpack_limit
from minidock.store.store import Store

MAX_DOWNLOADS = 3
MAX_INDEX_DEPTH = 4
PROGRESS_STEP = 256 << 10


class PullResult(NamedTuple):
    """What a pull did: `digest` is what the reference resolved to (Docker's `Digest:` line)."""

    name: str
    familiar: str
    digest: Digest
    manifest: Digest
    config: Digest
    platform: Platform
    downloaded: bool
    bytes_downloaded: int
    layers: int


class _Resolved(NamedTuple):
    manifest: Manifest
    descriptor: Descriptor
    index_digest: Digest | None


class _LayerJob(NamedTuple):
    desc: Descriptor
    diff_id: Digest
    chain_id: Digest


class _CancelledError(Exception):
    """Another layer failed: stop this one."""


class Puller:
    """Pulls images from registries into one store; `transport` is the HTTP seam (tests pass their own)."""

    def __init__(self, store: Store, settings: Settings, transport: Transport | None = None,
                 max_downloads: int = MAX_DOWNLOADS) -> None:
        self.store, self.settings = store, settings
        self.transport = transport or Transport(settings)
        self.max_downloads = max(1, max_downloads)

    def pull(self, ref: Reference, platform: Platform | None = None,
             progress: ProgressCallback | None = None) -> PullResult:
        """Pull `ref` for `platform` (default: this host); see the module docstring."""
        return _PullRun(self, ref, platform, progress or no_progress).run()


def pull(ref: Reference, store: Store, settings: Settings, platform: Platform | None = None,
         progress: ProgressCallback | None = None) -> PullResult:
    """Pull `ref` into `store` with a fresh transport; the one-call form of Puller.pull."""
    return Puller(store, settings).pull(ref, platform, progress)


def list_tags(ref: Reference, settings: Settings, transport: Transport | None = None) -> list[Reference]:
    """`pull -a`: `ref`'s repository with each tag its registry lists, in the registry's order."""
    name = ref.familiar_name()
    client = RegistryClient(ref.domain, settings, transport or Transport(settings), context=f"pull {name}")
    return [ref.with_tag(tag) for tag in client.list_tags(ref.repository, name)]


class _PullRun:
    """The state of one pull (client, events, counters, cancellation)."""

    def __init__(self, puller: Puller, ref: Reference, platform: Platform | None,
                 progress: ProgressCallback) -> None:
        self.p, self.ref, self.store = puller, ref, puller.store
        self.explicit_platform = platform is not None
        self.platform = platform or Platform.host()
        self.what = f"pull {ref.familiar()}"
        self.client = RegistryClient(ref.domain, puller.settings, puller.transport, context=self.what)
        self._progress, self._lock = progress, threading.Lock()
        self.stop = threading.Event()
        self.downloaded = 0
        self.all_present = True

    def emit(self, event: PullEvent) -> None:
        with self._lock:
            self._progress(event)

    def run(self) -> PullResult:
        self.store.paths.ensure()
        top = self.client.get_manifest(self.ref.repository, self.ref.reference)
        self._check_pinned(top)
        resolved = self._resolve(top, 0)
        had_config = self.store.content.exists(resolved.manifest.config.digest)
        config = self._config(resolved.manifest)
        jobs = self._jobs(resolved.manifest, config)
        # the image is here already (its config and every layer): nothing to show per layer, as Docker
        present = had_config and all(self._layer_present(j) for j in jobs)
        self.emit(Resolved(str(self.ref), top.digest, resolved.descriptor.digest,
                           Platform(config.os, config.architecture, config.variant),
                           () if present else tuple((j.desc.digest, j.desc.size) for j in jobs)))
        if not present:
            self._layers(jobs)
        name = str(self.ref)
        prior = self.store.images.find(name)
        up_to_date = prior is not None and prior.target.digest == resolved.descriptor.digest and self.all_present
        self.store.images.put(ImageRecord(name=name, target=resolved.descriptor, index_digest=resolved.index_digest))
        self.emit(PullDone(name, top.digest, not up_to_date, self.downloaded))
        return PullResult(name=name, familiar=self.ref.familiar(), digest=top.digest,
                          manifest=resolved.descriptor.digest, config=resolved.manifest.config.digest,
                          platform=Platform(config.os, config.architecture, config.variant),
                          downloaded=not up_to_date, bytes_downloaded=self.downloaded, layers=len(jobs))

    def _check_pinned(self, top: FetchedManifest) -> None:
        if self.ref.digest is not None and top.digest != self.ref.digest:  # pragma: no cover - client checks
            raise DigestMismatchError(f"{self.what}: manifest hashes to {top.digest}")

    # ---- manifests -------------------------------------------------------------------------------
    def _resolve(self, fetched: FetchedManifest, depth: int) -> _Resolved:
        """Follow indexes (platform selection, recursing into nested ones) down to one image manifest."""
        with locked(self.store.paths.lock(f"blob-{fetched.digest.hex}")):  # put() is per process, not thread
            self.store.content.put(fetched.data, fetched.digest)
        kind = kind_of(fetched.data, fetched.content_type)
        if kind == "manifest":
            m = Manifest.from_bytes(fetched.data, fetched.content_type, f"{self.what}: manifest")
            desc = Descriptor(m.media_type, fetched.digest, len(fetched.data))
            return _Resolved(m, desc, None)
        if depth >= MAX_INDEX_DEPTH:
            raise ManifestError(f"{self.what}: indexes nested more than {MAX_INDEX_DEPTH} deep")
        index = Index.from_bytes(fetched.data, fetched.content_type, f"{self.what}: index")
        try:
            entry = index.select(self.platform)
        except ManifestError as e:
            raise ManifestError(f"{self.what}: {e}") from e
        child = self.client.get_manifest(self.ref.repository, str(entry.digest))
        if len(child.data) != entry.size:
            raise DigestMismatchError(f"{self.what}: manifest {entry.digest}: size {len(child.data)}, "
                                      f"index says {entry.size}")
        inner = self._resolve(child, depth + 1)
        return _Resolved(inner.manifest, inner.descriptor, inner.index_digest or fetched.digest)

    def _config(self, manifest: Manifest) -> ImageConfig:
        desc = manifest.config
        if desc.media_type and desc.media_type not in mt.CONFIG_TYPES:
            raise ManifestError(f"{self.what}: not an image (config type {desc.media_type!r})")
        content = self.store.content
        with locked(self.store.paths.lock(f"blob-{desc.digest.hex}")):
            if content.exists(desc.digest):
                data = content.read(desc.digest)
            else:
                writer = content.writer(f"config-{desc.digest.hex}", desc.digest, desc.size, resume=True)
                try:
                    data = fetch_blob(self.client, self.ref.repository, desc, writer)
                finally:
                    writer.close()
        config = ImageConfig.from_bytes(data, f"{self.what}: config {desc.digest}")
        if self.explicit_platform and (config.os, config.architecture) != (self.platform.os,
                                                                           self.platform.architecture):
            raise ManifestError(f"{self.what}: image is {config.os}/{config.architecture}, "
                                f"not the requested {self.platform}")
        return config

    def _jobs(self, manifest: Manifest, config: ImageConfig) -> list[_LayerJob]:
        if len(manifest.layers) != len(config.diff_ids):
            raise ManifestError(f"{self.what}: {len(manifest.layers)} layers but "
                                f"{len(config.diff_ids)} diff_ids in the config")
        for d in manifest.layers:
            if d.media_type not in mt.LAYER_TYPES:
                raise ManifestError(f"{self.what}: unsupported layer type {d.media_type!r} ({d.digest})")
        chains = chain_ids(config.diff_ids)
        return [_LayerJob(d, diff, chain) for d, diff, chain in zip(manifest.layers, config.diff_ids, chains,
                                                                    strict=True)]

    # ---- layers --------------------------------------------------------------------------------
    def _layers(self, jobs: list[_LayerJob]) -> None:
        """Fetch+unpack in parallel, commit snapshots in order (a snapshot's parent must exist first)."""
        pool = ThreadPoolExecutor(max_workers=self.p.max_downloads, thread_name_prefix="minidock-pull")
        futures = [pool.submit(self._layer, job) for job in jobs]
        try:
            parent: Digest | None = None
            for job, fut in zip(jobs, futures, strict=True):
                tmp = fut.result()
                if tmp is not None:
                    self.store.snapshots.commit_extract(tmp, job.chain_id, job.diff_id, parent)
                self.emit(LayerDone(job.desc.digest, job.chain_id))
                parent = job.chain_id
        except BaseException:
            self.stop.set()
            pool.shutdown(wait=True, cancel_futures=True)
            _discard_results(futures)
            raise
        pool.shutdown(wait=True)

    def _layer_present(self, job: _LayerJob) -> bool:
        return self.store.snapshots.exists(job.chain_id) and self.store.content.exists(job.desc.digest)

    def _layer(self, job: _LayerJob) -> str | None:
        """One layer into a fresh extract dir (None when its snapshot already exists)."""
        snaps, content, d = self.store.snapshots, self.store.content, job.desc
        if self._layer_present(job):
            self.emit(LayerSkipped(d.digest, d.size, "already exists"))
            return None
        with locked(self.store.paths.lock(f"blob-{d.digest.hex}")):
            if self._layer_present(job):  # a concurrent pull was first
                self.emit(LayerSkipped(d.digest, d.size, "already exists"))
                return None
            self.all_present = False
            if snaps.exists(job.chain_id):  # unpacked, but the blob is gone: fetch the blob alone
                self._download(job, None)
                self.emit(LayerVerified(d.digest, job.diff_id))
                return None
            tmp = snaps.new_extract()
            try:
                result: LayerResult | None
                if content.exists(d.digest):
                    with content.open(d.digest) as f:
                        result = apply_layer(f, mt.compression_of(d.media_type), Path(tmp), self._limit(d))
                    self.emit(LayerSkipped(d.digest, d.size, "blob cached"))
                else:
                    result = self._download(job, tmp)
                assert result is not None
                if result.diff_id != job.diff_id:
                    raise DigestMismatchError(f"{self.what}: layer {d.digest}: uncompressed content hashes to "
                                              f"{result.diff_id}, the config says {job.diff_id}")
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
        self.emit(LayerVerified(d.digest, job.diff_id))
        return tmp

    def _limit(self, d: Descriptor) -> int | None:
        """The most bytes layer `d` may unpack to (MINIDOCK_CONFIG unpack-max-ratio, unpack-floor-bytes)."""
        s = self.p.settings
        return unpack_limit(d.size, s.unpack_max_ratio, s.unpack_floor_bytes)

    def _download(self, job: _LayerJob, tmp: str | None) -> LayerResult | None:
        """Stream the blob into the ingest AND through apply_layer into `tmp` (None: no unpack); commit
        (verify) the blob at the end."""
        d = job.desc
        writer = self.store.content.writer(f"layer-{d.digest.hex}", d.digest, d.size, resume=True)
        last = [0]

        def on_bytes(done: int) -> None:
            if self.stop.is_set():
                raise _CancelledError(f"{self.what}: cancelled")
            if done - last[0] >= PROGRESS_STEP or done == d.size:
                last[0] = done
                self.emit(LayerProgress(d.digest, done, d.size))

        reader = BlobReader(self.client, self.ref.repository, d, writer, on_bytes)
        self.emit(LayerStarted(d.digest, d.size, writer.offset))
        try:
            try:
                result = (apply_layer(reader, mt.compression_of(d.media_type), Path(tmp), self._limit(d))  # type: ignore[arg-type]
                          if tmp else None)
            except ArchiveError:
                reader.drain()  # a tampered blob is a digest mismatch first, a bad tar second
                writer.commit()
                raise
            reader.drain()
            writer.commit()
        except DigestMismatchError as e:
            raise DigestMismatchError(f"{self.what}: {e}") from e
        finally:
            with self._lock:
                self.downloaded += reader.downloaded
            reader.close()
            writer.close()
        return result


def _discard_results(futures: list[Future[str | None]]) -> None:
    """Remove the extract dirs of layers that finished but were never committed."""
    for fut in futures:
        if fut.done() and not fut.cancelled() and fut.exception() is None:
            tmp = fut.result()
            if tmp is not None and Path(tmp).exists():
                shutil.rmtree(tmp, ignore_errors=True)
