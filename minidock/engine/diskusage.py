"""What `system df` counts: each image, container, volume and build cache entry (`-v` lists them),
and the summary rows Docker derives from the same lists (moby's SystemDiskUsage, docker/cli's
formatter/disk_usage.go).

Images are one per image id (first tag by name, as Docker's reference store orders them); SHARED
SIZE is the bytes of its layers another image uses too. Containers count their writable layer only.
Local volumes are those without driver options (Docker leaves `-o` volumes out of `df`). The build
cache is every layer the cache holds or no image uses ("regular"; shared when an image uses it too:
then its bytes are not counted), each `RUN --mount=type=cache` directory ("exec.cachemount", in use
while a RUN holds its lock), and the scratch of builds and pulls: a live process's is in use, a dead
one's is what `system check` reports as a leftover.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from typing import Any

from minidock.engine import glance, imageglance
from minidock.engine.images import NONE, DfRow, config_of, is_untagged
from minidock.errors import ManifestError, NotFoundError
from minidock.nouns import NamedTuple
from minidock.oci.digest import Digest
from minidock.store.images import ImageRecord
from minidock.store.store import Store


class ImageUsage(NamedTuple):
    """One image: its first tag (`<none>` without one), id, created time (RFC 3339), size (all its
    layers), the bytes of the layers other images use too, and how many containers it has."""

    repository: str
    tag: str
    image_id: Digest
    created: str
    size: int
    shared: int
    containers: int

    @property
    def unique(self) -> int:
        return self.size - self.shared


class ContainerUsage(NamedTuple):
    """One container: its record (engine/glance.py's plain form, as `ps` reads it) and its SizeRw."""

    record: dict[str, Any]
    size: int


class VolumeUsage(NamedTuple):
    """One local volume: name, data directory, labels, containers referencing it, bytes."""

    name: str
    mountpoint: str
    labels: Mapping[str, str]
    links: int
    size: int


class CacheUsage(NamedTuple):
    """One build cache entry, BuildKit's record as Docker lists it (times as Unix times)."""

    id: str
    type: str
    size: int
    created: float
    in_use: bool = False
    shared: bool = False
    description: str = ""
    parent: str = ""
    last_used: float | None = None  # minidock does not record uses: Docker's nil
    usage_count: int = 0


class DiskUsage(NamedTuple):
    """Everything `system df -v` lists; `layers` is the bytes of every unpacked image layer."""

    images: list[ImageUsage]
    containers: list[ContainerUsage]
    volumes: list[VolumeUsage]
    cache: list[CacheUsage]
    layers: int

    @property
    def cache_size(self) -> int:
        """Docker's "Build cache usage": the entries not shared with an image."""
        return sum(c.size for c in self.cache if not c.shared)


def usage(store: Store) -> DiskUsage:
    """Every image, container, local volume and build cache entry of the store, in Docker's order."""
    root = str(store.paths.root)
    records = glance.records(root)
    containers = [ContainerUsage(d, glance.container_sizes(d, root)[0]) for d in records]
    images, layers, steps = _images(store, records)
    return DiskUsage(images, containers, _volumes(store, records), build_cache(store, steps), layers)


def summary(du: DiskUsage) -> list[DfRow]:
    """`system df`'s four rows, by docker/cli's rules: an image's reclaimable bytes exclude only the
    unique bytes of images in use, containers count running, paused and restarting ones as active,
    the build cache's size leaves out entries shared with images."""
    used = sum(i.unique for i in du.images if i.containers)
    active = [c for c in du.containers if c.record.get("status") in glance.ACTIVE]
    cache_used = sum(c.size for c in du.cache if c.in_use and not c.shared)
    return [
        DfRow("Images", len(du.images), sum(1 for i in du.images if i.containers), du.layers, du.layers - used),
        DfRow("Containers", len(du.containers), len(active), sum(c.size for c in du.containers),
              sum(c.size for c in du.containers) - sum(c.size for c in active)),
        DfRow("Local Volumes", len(du.volumes), sum(1 for v in du.volumes if v.links), sum(v.size for v in du.volumes),
              sum(v.size for v in du.volumes if not v.links)),
        DfRow("Build Cache", len(du.cache), sum(1 for c in du.cache if c.in_use), du.cache_size,
              du.cache_size - cache_used),
    ]


class _Layer(NamedTuple):
    chain: str  # chain id hex: the snapshot's id
    size: int
    unpacked: bool
    step: str  # the history's created_by of the step that made it


def _layers(store: Store, rec: ImageRecord) -> tuple[Digest, str, list[_Layer]] | None:
    """(image id, created, its layers) of a record; None when it does not read."""
    try:
        m, config = config_of(store, rec)
    except (NotFoundError, ManifestError):
        return None
    steps = [h.created_by for h in config.history if not h.empty_layer]
    out = []
    for n, (chain, layer) in enumerate(zip(config.chain_ids(), m.layers, strict=False)):
        step = steps[n] if len(steps) == len(m.layers) else ""
        try:
            out.append(_Layer(chain.hex, store.snapshots.size(chain), True, step))
        except NotFoundError:
            out.append(_Layer(chain.hex, layer.size, False, step))  # not unpacked: compressed size (as `images`)
    return m.config.digest, config.created, out


def _images(store: Store, records: list[dict[str, Any]]) -> tuple[list[ImageUsage], int, dict[str, str]]:
    """(the images, newest first; the bytes of their unpacked layers; their chain ids -> steps)."""
    names: dict[Digest, list[str]] = {}
    layers: dict[Digest, tuple[str, list[_Layer]]] = {}
    for rec in store.images.list():
        found = _layers(store, rec)
        if found is not None:
            names.setdefault(found[0], []).append(rec.name)
            layers[found[0]] = found[1:]
    refs: dict[str, int] = {}
    unpacked: dict[str, int] = {}
    steps: dict[str, str] = {}
    for _, chains in layers.values():
        for x in chains:
            refs[x.chain] = refs.get(x.chain, 0) + 1
            steps[x.chain] = steps.get(x.chain) or x.step
            if x.unpacked:
                unpacked[x.chain] = x.size
    users: dict[str, int] = {}
    for d in records:
        key = str(d.get("image_id") or "").removeprefix("sha256:")
        users[key] = users.get(key, 0) + 1
    out = []
    for image_id, recs in names.items():
        created, chains = layers[image_id]
        out.append(ImageUsage(*_first_tag(recs), image_id, created, sum(x.size for x in chains),
                              sum(x.size for x in chains if refs[x.chain] > 1), users.get(image_id.hex, 0)))
    out.sort(key=lambda i: (i.repository, i.tag, str(i.image_id)))
    out.sort(key=lambda i: int(glance.epoch(i.created) or 0), reverse=True)  # Docker: by Created (seconds)
    return out, sum(unpacked.values()), steps


def _first_tag(names: list[str]) -> tuple[str, str]:
    """Docker shows an image's first tag (its references sorted by full name); `<none>` for none."""
    for name in sorted(names):
        if is_untagged(name):
            continue
        repo, tag, _ = imageglance.familiar(name)
        if tag != NONE:
            return repo, tag
    return NONE, NONE


def _volumes(store: Store, records: list[dict[str, Any]]) -> list[VolumeUsage]:
    """Local volumes without driver options, by name, with the containers (any state) using them."""
    from minidock.store.volumes import VolumeStore

    links: dict[str, set[str]] = {}
    for d in records:
        for m in (d.get("host_config") or {}).get("MountPoints") or ():
            if m.get("Type") == "volume":
                links.setdefault(str(m.get("Name")), set()).add(str(d.get("id")))
    vols = VolumeStore(store.paths)
    return [VolumeUsage(v.name, str(vols.data(v.name)), v.labels, len(links.get(v.name, ())), vols.size(v.name))
            for v in vols.list() if not v.options]


def build_cache(store: Store, image_steps: Mapping[str, str]) -> list[CacheUsage]:
    """The build cache's entries, in Docker's order (by last use, none first, then by id);
    `image_steps`: the chain ids of the images' layers, with the steps that made them."""
    out = _cache_layers(store, image_steps) + _cache_mounts(store) + _scratch(store)
    return sorted(out, key=lambda c: (c.last_used is not None, c.last_used or 0, c.id))


def _made(path: str) -> float:
    """When `path` was put in place (its inode changed last: a rename, for what the store commits)."""
    try:
        return os.stat(path).st_ctime
    except OSError:
        return 0.0


def _cache_layers(store: Store, image_steps: Mapping[str, str]) -> list[CacheUsage]:
    """Committed layers no image uses, and those the build cache holds that images use (shared)."""
    from minidock.builder.cache import BuildCache

    cached = {c.hex for c in BuildCache(store).referenced()[1]}
    out = []
    for s in store.snapshots.list():
        shared = s.id in image_steps
        if s.kind != "committed" or (shared and s.id not in cached):
            continue
        out.append(CacheUsage(s.id, "regular", s.size, _made(f"{store.paths.snapshot(s.id)}/fs"), shared=shared,
                              description=image_steps.get(s.id, ""), parent=s.parent.hex if s.parent else ""))
    return out


def _cache_mounts(store: Store) -> list[CacheUsage]:
    """`RUN --mount=type=cache` directories; in use while a RUN holds the lock beside it."""
    from minidock.store.atomic import tree_size

    base, out = store.paths.build_cache_mounts, []
    held = _held_locks()
    for name in sorted(os.listdir(base)) if os.path.isdir(base) else []:
        path = f"{base}/{name}"
        if name.startswith(".") or not os.path.isdir(path):
            continue
        lock = f"{path}.lock"
        try:
            st = os.stat(lock)
            in_use, made = (os.major(st.st_dev), os.minor(st.st_dev), st.st_ino) in held, st.st_mtime
        except OSError:
            in_use, made = False, _made(path)
        out.append(CacheUsage(name, "exec.cachemount", tree_size(path), made, in_use=in_use))
    return out


def _held_locks() -> set[tuple[int, int, int]]:
    """(major, minor, inode) of every file a process holds a lock on (/proc/locks; waiters excluded)."""
    out = set()
    with contextlib.suppress(OSError), open("/proc/locks") as f:
        for line in f:
            parts = line.split()
            if len(parts) < 6 or parts[1] == "->":
                continue
            with contextlib.suppress(ValueError):
                major, minor, ino = parts[5].split(":")
                out.add((int(major, 16), int(minor, 16), int(ino)))
    return out


_TYPES = {"snapshot": "regular", "cache-mount": "exec.cachemount"}  # the rest (tmp, ingest, ...): "internal"


def _scratch(store: Store) -> list[CacheUsage]:
    """Scratch of builds and pulls: a live owner's is in use; a dead one's, a leftover (`system check`)."""
    from minidock.store.check import leftovers
    from minidock.store.leftovers import scan

    out = [CacheUsage(x.path.name, _TYPES.get(x.area, "internal"), x.size, _made(str(x.path)), in_use=True,
                      description=f"{x.area} of process {x.owner.pid if x.owner else '?'}")
           for x in scan(store.paths) if x.live]
    for p in leftovers(store):
        area = p.kind.removeprefix("leftover-")
        kind = "regular" if p.kind == "snapshot-leftover" else _TYPES.get(area, "internal")
        path = p.target if "/" in p.target else store.paths.snapshot(p.target)
        out.append(CacheUsage(os.path.basename(p.target), kind, p.size, _made(path), description=p.message))
    return out
