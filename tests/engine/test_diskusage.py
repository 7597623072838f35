"""engine.diskusage (`system df [-v]`) over a store filled by our own code, and Docker's summary rules."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

import pytest

from minidock.engine import diskusage as du
from minidock.engine.images import DfRow, config_of
from minidock.engine.lookup import open_store
from minidock.paths import Paths
from minidock.store.atomic import make_dir
from minidock.store.containers import ContainerRecord, ContainerStore
from minidock.store.images import ImageRecord
from minidock.store.store import Store
from minidock.store.volumes import VolumeStore
from tests.store.imagetools import add_image

BASE = {"bin/sh": b"x" * 1000}


@pytest.fixture
def store(store_root: Path) -> Store:
    return open_store(Paths(store_root))


def _container(store: Store, name: str, image: ImageRecord, *, status: str = "exited",
               volumes: tuple[str, ...] = (), written: int = 0) -> str:
    """A container record of `image` (its writable layer holding `written` bytes, volumes mounted)."""
    cs = ContainerStore(store.paths)
    cid = cs.new_id()
    mounts = [{"Type": "volume", "Name": v, "Destination": f"/{v}"} for v in volumes]
    alive = {"pid": os.getpid()} if status in ("running", "paused") else {}
    cs.create(ContainerRecord(id=cid, name=name, image=name, image_id=str(store.images.image_id(image)),
                              created="2024-01-01T00:00:00Z", status=status, command=("true",),
                              host_config={"MountPoints": mounts}, **alive))
    store.snapshots.prepare(cid, config_of(store, image)[1].chain_ids()[-1])
    Path(store.paths.snapshot(cid), "fs", "f").write_bytes(b"w" * written)
    return cid


def test_images_first_tag_shared_unique_containers_and_order(store: Store, tmp_path: Path) -> None:
    old = add_image(store, "docker.io/library/zz:1", [BASE], tmp_path / "a", created="2020-01-01T00:00:00Z")
    store.images.put(ImageRecord(name="docker.io/library/aa:2", target=old.target))  # a second tag: `aa` first
    new = add_image(store, "docker.io/library/app:1", [BASE, {"app": b"y" * 20}], tmp_path / "b",
                    created="2024-01-01T00:00:00Z")
    lone = add_image(store, "docker.io/library/lone:1", [{"l": b"z" * 7}], tmp_path / "c",
                     created="2022-01-01T00:00:00Z")
    store.images.put(ImageRecord(name=f"<none>@{lone.target.digest}", target=lone.target))
    store.images.remove("docker.io/library/lone:1")  # dangling now
    _container(store, "c1", old)
    _container(store, "c2", old)
    usage = du.usage(store)
    got = [(i.repository, i.tag, i.size, i.shared, i.unique, i.containers) for i in usage.images]
    assert got == [("app", "1", 1020, 1000, 20, 0), ("<none>", "<none>", 7, 0, 7, 0), ("aa", "2", 1000, 1000, 0, 2)]
    assert usage.images[0].image_id == store.images.image_id(new)
    assert usage.layers == 1027  # each unpacked layer once


def test_containers_volumes_and_the_summary(store: Store, tmp_path: Path) -> None:
    img = add_image(store, "docker.io/library/app:1", [BASE], tmp_path)
    vols = VolumeStore(store.paths)
    for name, options in (("used", {}), ("idle", {}), ("nfs", {"type": "nfs"})):
        vols.create(name, options=options)
        vols.data(name).joinpath("x").write_bytes(b"v" * (len(name) * 100))
    _container(store, "old", img, volumes=("used",), written=300)
    _container(store, "up", img, status="paused", written=50)
    usage = du.usage(store)
    assert sorted((c.record["name"], c.size) for c in usage.containers) == [("old", 300), ("up", 50)]
    assert [(v.name, v.links, v.size) for v in usage.volumes] == [("idle", 0, 400), ("used", 1, 400)]  # no `-o` ones
    rows = du.summary(usage)
    assert rows == [DfRow("Images", 1, 1, 1000, 0), DfRow("Containers", 2, 1, 350, 300),
                    DfRow("Local Volumes", 2, 1, 800, 400), DfRow("Build Cache", 0, 0, 0, 0)]


def test_summary_follows_dockers_formulas() -> None:
    """An image in use frees only its unique bytes (its shared ones count as reclaimable, as in Docker);
    shared cache entries are listed but not counted; entries in use are not reclaimable."""
    img = du.ImageUsage("a", "1", None, "", 100, 60, 1)  # type: ignore[arg-type]
    other = du.ImageUsage("b", "1", None, "", 80, 60, 0)  # type: ignore[arg-type]
    cache = [du.CacheUsage("l1", "regular", 10, 0.0), du.CacheUsage("l2", "regular", 500, 0.0, shared=True),
             du.CacheUsage("m", "exec.cachemount", 7, 0.0, in_use=True)]
    usage = du.DiskUsage([img, other], [], [], cache, 120)
    assert du.summary(usage)[0] == DfRow("Images", 2, 1, 120, 80)
    assert du.summary(usage)[3] == DfRow("Build Cache", 3, 1, 17, 10)


def test_build_cache_entries(store: Store, tmp_path: Path) -> None:
    """Layers no image uses, cache mounts (in use while locked), a live scratch dir, a dead leftover."""
    add_image(store, "docker.io/library/app:1", [BASE, {"gone": b"g" * 9}], tmp_path)
    store.images.remove("docker.io/library/app:1")  # its top layer stays: the cache of no image
    add_image(store, "docker.io/library/base:1", [BASE], tmp_path / "b")
    mounts = Path(store.paths.build_cache_mounts)
    for name, size in (("a" * 32, 3), ("b" * 32, 4)):
        (mounts / name).mkdir(parents=True)
        (mounts / name / "f").write_bytes(b"c" * size)
    fd = os.open(mounts / ("b" * 32 + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_SH)  # as a RUN holds it
    try:
        live = Path(make_dir(store.paths.tmp, "pull-"))
        (live / "part").write_bytes(b"p" * 11)
        Path(store.paths.ingest, "left").mkdir(parents=True)
        Path(store.paths.ingest, "left", "data").write_bytes(b"d" * 13)
        cache = du.usage(store).cache
    finally:
        os.close(fd)
    got = {(c.type, c.size, c.in_use, c.shared) for c in cache}
    assert got == {("regular", 9, False, False), ("exec.cachemount", 3, False, False),
                   ("exec.cachemount", 4, True, False), ("internal", 11, True, False),
                   ("internal", 13, False, False)}
    assert [c.id for c in cache] == sorted(c.id for c in cache)  # no last-use times: by id, as Docker
    assert next(c for c in cache if c.size == 13).description.startswith("ingest leftover left")
    assert du.summary(du.usage(store))[3] == DfRow("Build Cache", 5, 1, 40, 29)  # the lock is gone now
