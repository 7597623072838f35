"""Snapshots: commit_extract, prepare/commit/remove, mount data, and a real overlay mount."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from minidock.errors import ConflictError, NotFoundError, StoreError
from minidock.oci.digest import Digest
from minidock.oci.imageconfig import chain_ids
from minidock.paths import Paths
from minidock.runtime.rootfs import _forget_volatile
from minidock.store.snapshots import Snapshots
from minidock.store.store import Store


def _commit_layer(snaps: Snapshots, files: dict[str, str], parent: Digest | None) -> Digest:
    tmp = snaps.new_extract()
    for rel, text in files.items():
        (Path(tmp) / rel).write_text(text)
    diff_id = Digest.of_bytes(repr(sorted(files.items())).encode())
    chain = chain_ids([parent, diff_id])[1] if parent else diff_id
    snaps.commit_extract(tmp, chain, diff_id, parent)
    return chain


@pytest.fixture
def store(store_root: Path) -> Store:
    return Store.open(Paths(store_root))


def test_commit_extract_and_lower_dirs(store: Store) -> None:
    snaps = store.snapshots
    base = _commit_layer(snaps, {"a": "1"}, None)
    top = _commit_layer(snaps, {"b": "2"}, base)
    assert snaps.exists(base) and snaps.exists(top)
    lowers = snaps.lower_dirs(top)
    assert lowers == [f"{store.paths.snapshot(top.hex)}/fs", f"{store.paths.snapshot(base.hex)}/fs"]
    assert (Path(lowers[1]) / "a").read_text() == "1"
    infos = {s.id: s for s in snaps.list()}
    assert infos[top.hex].parent == base and infos[top.hex].kind == "committed" and infos[base.hex].size == 1
    assert sorted(os.listdir(store.paths.tmp)) == []


def test_commit_extract_race_loser_is_discarded(store: Store) -> None:
    snaps = store.snapshots
    chain = _commit_layer(snaps, {"a": "first"}, None)
    tmp = snaps.new_extract()
    (Path(tmp) / "a").write_text("second")
    snaps.commit_extract(tmp, chain, chain, None)
    assert not os.path.exists(tmp)
    assert (Path(snaps.lower_dirs(chain)[0]) / "a").read_text() == "first"


def test_commit_extract_needs_the_parent(store: Store) -> None:
    with pytest.raises(NotFoundError, match="parent"):
        store.snapshots.commit_extract(store.snapshots.new_extract(), Digest.of_bytes(b"x"),
                                       Digest.of_bytes(b"x"), Digest.of_bytes(b"nope"))


def test_prepare_mount_data(store: Store) -> None:
    snaps = store.snapshots
    base = _commit_layer(snaps, {"a": "1"}, None)
    top = _commit_layer(snaps, {"b": "2"}, base)
    (m,) = snaps.prepare("c1", top)
    assert (m.type, m.source, m.destination) == ("overlay", "overlay", "/")
    lower, upper, work = m.options
    links = lower.removeprefix("lowerdir=").split(":")
    assert [os.path.realpath(x) for x in links] == [str(p) for p in snaps.lower_dirs(top)]
    assert all(len(Path(x).name) == 8 for x in links)
    assert upper == f"upperdir={store.paths.snapshot('c1')}/fs" and work.startswith("workdir=")
    assert snaps.mounts("c1") == (m,)
    with pytest.raises(ConflictError):
        snaps.prepare("c1", top)
    (scratch,) = snaps.prepare("scratch", None)
    assert scratch.options[0] == f"lowerdir={store.paths.snapshot('scratch')}/empty"
    (ro1,) = snaps.prepare("ro1", base, readonly=True)
    assert ro1.type == "bind" and ro1.options == ("rbind", "ro") and ro1.source == str(snaps.lower_dirs(base)[0])
    (ro2,) = snaps.prepare("ro2", top, readonly=True)
    assert ro2.type == "overlay" and len(ro2.options) == 1
    with pytest.raises(StoreError, match="invalid snapshot key"):
        snaps.prepare("../evil", None)


@pytest.mark.root
def test_128_layers_fit_one_page_and_mount(tmp_path: Path) -> None:
    # A root as long as /var/lib/minidock (17 chars): 128 lowers + upper + work fit in one page.
    root = Path(tempfile.mkdtemp(prefix="mdk-", dir="/tmp"))
    target = tmp_path / "merged"
    target.mkdir()
    try:
        assert len(str(root)) <= 17
        snaps = Store.open(Paths(root)).snapshots
        parent = None
        for i in range(128):
            parent = _commit_layer(snaps, {f"f{i}": str(i)}, parent)
        (m,) = snaps.prepare("c" * 64, parent)
        assert len(",".join(m.options)) < 4096
        subprocess.run(["mount", "-t", "overlay", "overlay", "-o", ",".join(m.options), str(target)], check=True)
        try:
            assert (target / "f0").read_text() == "0" and (target / "f127").read_text() == "127"
        finally:
            subprocess.run(["umount", str(target)], check=True)
    finally:
        shutil.rmtree(root)


def test_too_long_options_are_a_clear_error(tmp_path: Path) -> None:
    snaps = Store.open(Paths(tmp_path / ("x" * 200))).snapshots
    parent = None
    for i in range(20):
        parent = _commit_layer(snaps, {f"f{i}": str(i)}, parent)
    with pytest.raises(StoreError, match="more than one page"):
        snaps.prepare("c", parent)


def test_commit_active_and_remove(store: Store) -> None:
    snaps = store.snapshots
    base = _commit_layer(snaps, {"a": "1"}, None)
    snaps.prepare("build1", base)
    (Path(snaps.upper("build1")) / "new").write_text("n")
    diff_id = Digest.of_bytes(b"layer")
    chain = chain_ids([base, diff_id])[1]
    snaps.commit("build1", chain, diff_id)
    assert snaps.exists(chain) and not os.path.exists(store.paths.snapshot("build1"))
    assert (Path(snaps.lower_dirs(chain)[0]) / "new").read_text() == "n"
    with pytest.raises(ConflictError, match="parent"):
        snaps.remove(base.hex)
    snaps.remove(str(chain))
    snaps.remove(base.hex)
    assert snaps.list() == [] and os.listdir(store.paths.links) == []
    with pytest.raises(NotFoundError):
        snaps.remove("build1")


@pytest.mark.root
def test_prepared_snapshot_mounts_as_overlay(store: Store, tmp_path: Path) -> None:
    snaps = store.snapshots
    base = _commit_layer(snaps, {"a": "base", "b": "base"}, None)
    top = _commit_layer(snaps, {"b": "top"}, base)
    (m,) = snaps.prepare("ctr", top)
    target = tmp_path / "merged"
    target.mkdir()
    subprocess.run(["mount", "-t", "overlay", m.source, "-o", ",".join(m.options), str(target)], check=True)
    try:
        assert (target / "a").read_text() == "base" and (target / "b").read_text() == "top"
        (target / "c").write_text("written")
        (target / "a").unlink()
    finally:
        subprocess.run(["umount", str(target)], check=True)
    upper = Path(snaps.upper("ctr"))
    assert (upper / "c").read_text() == "written"
    assert os.stat(upper / "a", follow_symlinks=False).st_rdev == 0  # a whiteout now hides a


@pytest.mark.root
def test_a_volatile_snapshot_mounts_without_syncing_its_upper(store: Store, tmp_path: Path) -> None:
    """`run --rm`'s upper is thrown away after one use: its overlay is volatile (no syncfs at unmount)."""
    snaps = store.snapshots
    base = _commit_layer(snaps, {"a": "base"}, None)
    (m,) = snaps.prepare("once", base, volatile=True)
    assert m.options[-1] == "volatile" and snaps.mounts("once") == (m,)
    (kept,) = snaps.prepare("kept", base)
    assert "volatile" not in kept.options
    target = tmp_path / "merged"
    target.mkdir()
    subprocess.run(["mount", "-t", "overlay", m.source, "-o", ",".join(m.options), str(target)], check=True)
    try:
        assert (target / "a").read_text() == "base"
        opts = next(line.split()[3] for line in Path("/proc/self/mounts").read_text().splitlines()
                    if line.split()[1] == str(target))
        assert "fsync=volatile" in opts.split(",") or "volatile" in opts.split(",")
    finally:
        subprocess.run(["umount", str(target)], check=True)
    # a second mount (a `create --rm` container that `cp` mounted before its start) needs the mark gone
    assert (Path(store.paths.snapshot("once")) / "work" / "work" / "incompat" / "volatile").is_dir()
    again = subprocess.run(["mount", "-t", "overlay", m.source, "-o", ",".join(m.options), str(target)],
                           capture_output=True, check=False)
    if again.returncode == 0:  # a kernel that does not keep the mark
        subprocess.run(["umount", str(target)], check=True)
    _forget_volatile(m.options)
    subprocess.run(["mount", "-t", "overlay", m.source, "-o", ",".join(m.options), str(target)], check=True)
    subprocess.run(["umount", str(target)], check=True)
