"""The image facade: resolve, list, inspect, tag, remove, prune; store-only, no registry.

Every function takes the Store; `open_store(paths)` is how the CLI gets one.
"""

import contextlib
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from minidock.engine.events import emit
from minidock.engine.filters import PruneFilter
from minidock.engine.imageglance import image_graph_driver
from minidock.errors import (
    ConflictError,
    ImageNotFoundError,
    ManifestError,
    MinidockError,
    NotFoundError,
    ReferenceFormatError,
)
from minidock.image.reference import Reference
from minidock.nouns import NamedTuple
from minidock.oci.digest import Digest
from minidock.oci.imageconfig import ImageConfig
from minidock.oci.manifest import Manifest
from minidock.store.check import Problem
from minidock.store.check import check as store_check
from minidock.store.check import repair as store_repair
from minidock.store.containers import ContainerStore
from minidock.store.gc import GcResult, collect
from minidock.store.images import ImageRecord
from minidock.store.store import Store

NONE = "<none>"
UNTAGGED = NONE + "@"


class ImageSummary(NamedTuple):
    """One row of `images`: a name (or <none>) and the image it points at."""

    repository: str
    tag: str
    image_id: Digest
    digest: Digest | None
    created: str
    size: int


class ImageDetails(NamedTuple):
    """What `inspect` shows about one image."""

    image_id: Digest
    config: ImageConfig
    repo_tags: tuple[str, ...]
    repo_digests: tuple[str, ...]
    size: int
    last_tag_time: str = ""
    manifest: Digest | None = None
    extra: Mapping[str, Any] = MappingProxyType({})
    store_root: str = ""  # where GraphDriver's directories are

    def to_docker_json(self) -> dict[str, Any]:
        """The object `docker image inspect` prints for this image."""
        c = self.config
        return {
            "Id": str(self.image_id), "RepoTags": list(self.repo_tags), "RepoDigests": list(self.repo_digests),
            "Parent": "", "Comment": next((h.comment for h in reversed(c.history) if h.comment), ""),
            "Created": c.created, "DockerVersion": str(c.extra.get("docker_version", "")),
            "Author": c.author, "Config": c.config.to_json(), "Architecture": c.architecture,
            "Variant": c.variant or None, "Os": c.os, "Size": self.size, "VirtualSize": self.size,
            "GraphDriver": image_graph_driver([str(d) for d in c.diff_ids], self.store_root or None),
            "RootFS": {"Type": "layers", "Layers": [str(d) for d in c.diff_ids]},
            "Metadata": {"LastTagTime": self.last_tag_time},
        }


def is_untagged(name: str) -> bool:
    """A placeholder record of an image built or loaded without a name (`<none>@<manifest digest>`)."""
    return name.startswith(UNTAGGED)


def _split_name(name: str) -> tuple[str, str, Digest | None]:
    """(familiar repository, tag or <none>, digest) of a record name."""
    if is_untagged(name):
        try:
            return NONE, NONE, Digest.parse(name.removeprefix(UNTAGGED))
        except ManifestError:
            return NONE, NONE, None
    try:
        ref = Reference.parse(name)
    except ReferenceFormatError:
        return name, NONE, None
    return ref.familiar_name(), ref.tag or NONE, ref.digest


def config_of(store: Store, rec: ImageRecord) -> tuple[Manifest, ImageConfig]:
    """The manifest and image config a record points at."""
    m = store.images.manifest(rec)
    return m, ImageConfig.from_bytes(store.content.read(m.config.digest), f"image config {m.config.digest}")


def image_size(store: Store, manifest: Manifest, config: ImageConfig) -> int:
    """Uncompressed size (sum of the layers' snapshot sizes), compressed sizes for layers not unpacked."""
    total = 0
    for chain, layer in zip(config.chain_ids(), manifest.layers, strict=False):
        try:
            total += store.snapshots.size(chain)
        except NotFoundError:
            total += layer.size
    return total


def list_images(store: Store) -> list[ImageSummary]:
    """Every named image, newest first (like `docker images`); broken records are skipped."""
    out = []
    for rec in store.images.list():
        try:
            m, config = config_of(store, rec)
        except (NotFoundError, ManifestError):
            continue
        repo, tag, digest = _split_name(rec.name)
        out.append(ImageSummary(repository=repo, tag=tag, image_id=m.config.digest,
                                digest=digest or rec.index_digest or rec.target.digest,
                                created=config.created, size=image_size(store, m, config)))
    out.sort(key=lambda s: (s.repository, s.tag))
    return sorted(out, key=lambda s: s.created, reverse=True)  # stable: by name within one time


def _by_reference(store: Store, text: str) -> ImageRecord | None:
    try:
        ref = Reference.parse(text)
    except ReferenceFormatError:
        return None
    rec = store.images.find(str(ref))
    if rec is None and ref.digest is not None:  # repo@digest matches any record of that repo and digest
        rec = next((r for r in store.images.list() if r.name.split("@")[0].rsplit(":", 1)[0] == ref.name
                    and ref.digest in (r.target.digest, r.index_digest)), None)
    return rec


def resolve(store: Store, text: str) -> ImageRecord:
    """The record `text` names: a reference first, else a (unique) image id prefix."""
    rec = _by_reference(store, text)
    if rec is not None:
        return rec
    hx = text.removeprefix("sha256:")
    if hx and all(c in "0123456789abcdef" for c in hx):
        found = store.images.by_id_prefix(hx)
        ids = {store.images.image_id(r) for r in found}
        if len(ids) > 1:
            raise ConflictError(f"image id prefix {text}: ambiguous ({len(ids)} images)")
        if found:
            return found[0]
    raise ImageNotFoundError(f"no such image: {text}")


def names_of(store: Store, image_id: Digest) -> list[ImageRecord]:
    out = []
    for rec in store.images.list():
        with contextlib.suppress(NotFoundError, ManifestError):
            if store.images.image_id(rec) == image_id:
                out.append(rec)
    return out


def inspect_image(store: Store, text: str) -> ImageDetails:
    """Details of the image `text` names (all its names as RepoTags / RepoDigests)."""
    rec = resolve(store, text)
    m, config = config_of(store, rec)
    tags, digests = [], []
    for r in names_of(store, m.config.digest):
        if is_untagged(r.name):
            continue
        repo, tag, digest = _split_name(r.name)
        if tag != NONE:
            tags.append(f"{repo}:{tag}")
        pinned = digest or r.index_digest or r.target.digest
        digests.append(f"{repo}@{pinned}")
    return ImageDetails(image_id=m.config.digest, config=config, repo_tags=tuple(tags),
                        repo_digests=tuple(sorted(set(digests))), size=image_size(store, m, config),
                        last_tag_time=rec.created, manifest=rec.target.digest, store_root=store.paths.root)


def tag_image(store: Store, source: str, target: str) -> ImageRecord:
    """Name the image `source` also as `target` (a tag; digests cannot be given)."""
    rec = resolve(store, source)
    ref = Reference.parse(target)
    if ref.digest is not None:
        raise ReferenceFormatError(f"tag {target}: refusing to create a tag with a digest reference")
    new = ImageRecord(name=str(ref), target=rec.target, index_digest=rec.index_digest)
    store.images.put(new)
    emit(store.paths, "image", "tag", str(store.images.image_id(rec)), {"name": _display(new.name)})
    for r in store.images.list():  # a name replaces the `<none>@` placeholder of the same image
        if is_untagged(r.name) and r.target.digest == rec.target.digest:
            with contextlib.suppress(ImageNotFoundError):
                store.images.remove(r.name)
    return new


def _users(store: Store, image_id: Digest) -> list[str]:
    """Short ids of the containers created from `image_id` (the in-use hook of rmi)."""
    return [c.id[:12] for c in ContainerStore(store.paths).list()
            if c.image_id.removeprefix("sha256:") == image_id.hex]


def remove_images(store: Store, texts: list[str], force: bool = False) -> list[str]:
    """Remove names (rmi); an image whose last name goes is deleted (gc). Returns Docker's output lines."""
    lines: list[str] = []
    gone: list[Digest] = []
    for text in texts:
        rec = resolve(store, text)
        image_id = store.images.image_id(rec)
        by_id = text.removeprefix("sha256:") and image_id.hex.startswith(text.removeprefix("sha256:"))
        names = names_of(store, image_id)
        if by_id and len(names) > 1 and not force:
            raise ConflictError(f"unable to delete {image_id.short} (must be forced) - "
                                "image is referenced in multiple repositories")
        users = _users(store, image_id)
        if users and not force and by_id:
            raise ConflictError(f"conflict: unable to delete {image_id.short} (must be forced) - image is being "
                                f"used by stopped container {users[0]}")
        if users and not force and len(names) <= 1:  # why: the last name of an image in use (Docker's rule:
            # another name left means an untag only, and the container keeps its image either way)
            raise ConflictError(f"conflict: unable to remove repository reference \"{text}\" (must force) - "
                                f"container {users[0]} is using its referenced image {image_id.short}")
        for r in names if by_id else [rec]:
            store.images.remove(r.name)
            repo, tag, digest = _split_name(r.name)
            if not is_untagged(r.name):
                lines.append(f"Untagged: {repo}:{tag}" if tag != NONE else f"Untagged: {repo}@{digest}")
                emit(store.paths, "image", "untag", str(image_id), {"name": str(image_id)})
        if not names_of(store, image_id):
            gone.append(image_id)
    if gone:
        gc = _collect(store)
        lines += [f"Deleted: {d}" for d in gone] + [f"Deleted: sha256:{sid}" for sid in gc.snapshots]  # + layers
        for d in gone:
            emit(store.paths, "image", "delete", str(d), {"name": str(d)})
    return lines


class ImagePruneReport(NamedTuple):
    """What `image prune` removed: image ids, Docker's `untagged:`/`deleted:` lines, the collection."""

    images: list[Digest]
    lines: list[str]
    gc: GcResult


def _display(name: str) -> str:
    repo, tag, digest = _split_name(name)
    return f"{repo}:{tag}" if tag != NONE else f"{repo}@{digest}"


def prune_unused(store: Store, all_: bool = False, filters: PruneFilter | None = None) -> ImagePruneReport:
    """`image prune [-a] [--filter ...]`: dangling images (`<none>` records) no container uses, or with
    `all_` (or dangling=false) every image no container uses, those `filters` select (until=, label=,
    label!=), then the content nothing needs (layers as `deleted:` chain ids)."""
    if filters is not None and filters.dangling is not None:
        all_ = not filters.dangling
    used = {c.image_id.removeprefix("sha256:") for c in ContainerStore(store.paths).list()}
    by_id: dict[Digest, list[ImageRecord]] = {}
    for rec in store.images.list():
        with contextlib.suppress(NotFoundError, ManifestError):
            by_id.setdefault(store.images.image_id(rec), []).append(rec)
    images, lines = [], []
    for image_id, recs in by_id.items():
        if image_id.hex in used or not (all_ or all(is_untagged(r.name) for r in recs)):
            continue
        if filters is not None and not _selected(store, recs[0], filters):
            continue
        untagged: list[str] = []
        for r in recs:
            with contextlib.suppress(ImageNotFoundError):
                store.images.remove(r.name)
                if not is_untagged(r.name):  # the name, then its repo digest (as inspect's RepoDigests)
                    repo, _, digest = _split_name(r.name)
                    untagged += [_display(r.name), f"{repo}@{digest or r.index_digest or r.target.digest}"]
        lines += [f"untagged: {u}" for u in dict.fromkeys(untagged)]
        images.append(image_id)
        lines.append(f"deleted: {image_id}")
    gc = _collect(store)
    lines += [f"deleted: sha256:{sid}" for sid in gc.snapshots]
    return ImagePruneReport(images, lines, gc)


def _selected(store: Store, rec: ImageRecord, filters: PruneFilter) -> bool:
    """The image's creation time and labels against `filters`."""
    try:
        _, config = config_of(store, rec)
    except (NotFoundError, ManifestError):
        return False
    return filters.matches(config.created, dict(config.config.labels or {}))


def prune_images(store: Store) -> GcResult:
    """Remove content no image record, container or build needs."""
    return _collect(store)


def _collect(store: Store) -> GcResult:
    """gc that keeps the build cache's layers, like Docker's image prune (`builder prune` is separate)."""
    from minidock.builder.cache import BuildCache

    blobs, chains = BuildCache(store).referenced()
    return collect(store, keep_snapshots=[str(c) for c in chains], keep_blobs=blobs)


def container_bytes(store: Store | None = None) -> int:
    """Bytes in the writable layers of the store's containers (what `container prune` reclaims)."""
    from minidock.engine.lookup import open_store

    store = store or open_store()
    ids = {c.id for c in ContainerStore(store.paths).list()}
    return sum(s.size for s in store.snapshots.list() if s.kind == "active" and s.id in ids)


class DfRow(NamedTuple):
    """One line of `system df`."""

    type: str
    total: int
    active: int
    size: int
    reclaimable: int


def disk_usage(store: Store) -> list[DfRow]:
    """`system df`'s rows: images, containers, local volumes, build cache (engine/diskusage.py)."""
    from minidock.engine import diskusage

    return diskusage.summary(diskusage.usage(store))


class CheckReport(NamedTuple):
    """`system check`: problems still present, and what `--repair` fixed."""

    problems: list[Problem]
    repaired: list[Problem]


def _damaged_containers(store: Store) -> list[Problem]:
    """Containers whose state file does not parse (shown dead by `ps`): repair removes them as `rm -f`."""
    return [Problem("container-damaged", c.id, f"container {c.id[:12]}: {c.error} (repair removes it)", True)
            for c in ContainerStore(store.paths).list() if c.status == "dead" and c.name == f"damaged-{c.id[:12]}"]


def check_store(store: Store, repair: bool = False) -> CheckReport:
    """Check (and optionally repair) the store."""
    from minidock.engine import reclaim

    fixed = store_repair(store) if repair else []
    if repair:
        from minidock.engine import lifecycle  # lazy: only a repair removes containers

        for p in _damaged_containers(store):
            with contextlib.suppress(MinidockError):
                lifecycle.remove(p.target, force=True, store=store)
                fixed.append(p)
        for p in reclaim.problems(store):
            with contextlib.suppress(MinidockError, OSError):
                reclaim.repair(store, p)
                fixed.append(p)
    problems = store_check(store) + _damaged_containers(store) + reclaim.problems(store)
    return CheckReport(problems=problems, repaired=fixed)
