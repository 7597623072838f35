"""Store consistency check (`minidock system check`) and the repair of what can be repaired.

`check` re-hashes every blob, checks blob names, that every image record's manifest, config and
layers exist, that committed snapshots have metadata, an fs dir, a short link and existing parents,
and reports every leftover of interrupted work with its size: scratch of dead processes (tmp/,
ingest/, a build's snapshot: see store/atomic.py) and scratch that names no owner, snapshot dirs
without metadata, dangling short links. Scratch of live processes is work in flight, not a problem.
`repair` removes leftovers, corrupt blobs and broken snapshots, recreates missing short links and
narrows the modes of a store made by an older version (root 0711, directories 0700, secrets 0600);
it holds the gc lock, so pulls and builds in flight (which hold `gc.lease`) are waited for.
"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

from minidock.errors import DigestMismatchError, ManifestError, MinidockError, NotFoundError
from minidock.nouns import NamedTuple
from minidock.oci.digest import Digest
from minidock.oci.imageconfig import ImageConfig
from minidock.paths import PRIVATE_FILE_MODE
from minidock.store import leftovers as leftovers_mod
from minidock.store.atomic import BUILD_PREFIX, atomic_write_json, discard, locked, tree_size
from minidock.store.images import parse_record, read_index, replay
from minidock.store.snapshots import COMMITTED
from minidock.store.store import Store

TYPE_CHECKING = False
if TYPE_CHECKING:
    from _typeshed import StrPath


class Problem(NamedTuple):
    """One finding: `kind` says what repair does with it, `target` what it names (path or id), `size`
    the bytes a leftover takes (repair reclaims them)."""

    kind: str
    target: str
    message: str
    repairable: bool
    size: int = 0

    def __str__(self) -> str:
        return f"{self.message}{' (repairable)' if self.repairable else ''}"


def _blobs(store: Store) -> list[Problem]:
    out: list[Problem] = []
    blobs = Path(store.paths.blobs)
    if not blobs.is_dir():
        return out
    for alg_dir in sorted(blobs.iterdir()):
        for f in sorted(alg_dir.iterdir()) if alg_dir.is_dir() else [alg_dir]:
            try:
                d = Digest.parse(f"{alg_dir.name}:{f.name}")
            except ManifestError:
                out.append(Problem("blob-name", str(f), f"blob {f}: not a digest name", True))
                continue
            try:
                store.content.verify(d)
            except DigestMismatchError as e:
                out.append(Problem("blob-corrupt", str(d), str(e), True))
    return out


def _index(store: Store) -> list[Problem]:
    """The name index and its journal (store/images.py): damage there costs only what it touches."""
    path, journal, out = Path(store.paths.images_json), Path(store.images.journal), []
    index = read_index(store.paths.images_json)
    if index is None and path.exists():
        how = ("repair rebuilds it from the journal" if journal.exists() else
               "no journal: repair keeps it aside as .damaged and brings the images back unnamed")
        out.append(Problem("images-index", str(path), f"{path.name}: damaged ({how})", True))
    for name, d in sorted((index or {}).get("images", {}).items()):
        if parse_record(name, d) is None:
            out.append(Problem("images-index", str(path), f"{path.name}: record {name} unreadable "
                               "(repair rebuilds it from the journal)", True))
    rep = replay(store.images.journal)
    if rep.bad:
        out.append(Problem("images-journal", str(journal),
                           f"{journal.name}: {rep.bad} unreadable lines (repair compacts it)", True))
    return out


def _images(store: Store) -> list[Problem]:
    out: list[Problem] = _index(store)
    try:
        records = store.images.list(heal=False)  # check reports damage; reading would repair it
    except MinidockError as e:
        return [Problem("images-json", str(store.paths.images_json), str(e), False)]
    for rec in records:
        def bad(msg: str, name: str = rec.name) -> None:
            out.append(Problem("image", name, f"image {name}: {msg}", False))
        try:
            m = store.images.manifest(rec)
            config = ImageConfig.from_bytes(store.content.read(m.config.digest))
        except (NotFoundError, ManifestError) as e:
            bad(str(e))
            continue
        for layer in m.layers:
            if not store.content.exists(layer.digest):
                bad(f"layer blob {layer.digest} missing (pull the image again)")
        for chain in config.chain_ids():
            if not store.snapshots.exists(chain):
                bad(f"snapshot {chain} missing (pull the image again)")
                break
    return out


def _snapshot(store: Store, d: Path) -> list[Problem]:
    sid = d.name
    if sid.startswith(BUILD_PREFIX):  # a build's scratch: see leftovers()
        return []
    m = store.snapshots.meta(sid)
    if m is None:  # see leftovers()
        return []
    problems: list[Problem] = []
    parent = m.get("parent")
    if parent and not store.snapshots.exists(Digest.parse(parent)):
        problems.append(Problem("snapshot-broken", sid, f"snapshot {sid}: parent {parent} missing",
                                m.get("kind") == COMMITTED))
    if not (d / "fs").is_dir():
        problems.append(Problem("snapshot-broken", sid, f"snapshot {sid}: fs directory missing", True))
    if m.get("kind") == COMMITTED:
        short = m.get("short")
        link = Path(store.paths.links) / str(short)
        if not short or not link.is_symlink() or os.readlink(link) != f"../snapshots/{sid}/fs":
            problems.append(Problem("snapshot-link", sid, f"snapshot {sid}: short link l/{short} missing or wrong",
                                    True))
    return problems


def _snapshots(store: Store) -> list[Problem]:
    out: list[Problem] = []
    snapshots, links = Path(store.paths.snapshots), Path(store.paths.links)
    if snapshots.is_dir():
        for d in sorted(snapshots.iterdir()):
            out += _snapshot(store, d)
    if links.is_dir():
        for link in sorted(links.iterdir()):
            if not link.exists():
                out.append(Problem("link-dangling", str(link), f"short link {link.name}: dangling", True))
    return out


def leftovers(store: Store) -> list[Problem]:
    """Every leftover of interrupted work, with its size: what `--repair` and the prunes reclaim, and
    what `system df` counts as reclaimable beyond unused layers. Scratch not owned by a live
    process (see store/atomic.py), and snapshot dirs without metadata."""
    out: list[Problem] = []
    snapshots = Path(store.paths.snapshots)
    for d in sorted(snapshots.iterdir()) if snapshots.is_dir() else []:
        if d.name.startswith(BUILD_PREFIX):
            continue
        m = store.snapshots.meta(d.name)
        if m is None:
            out.append(Problem("snapshot-leftover", d.name, f"snapshot {d.name}: no metadata (interrupted write)",
                               True, tree_size(d)))
        elif store.snapshots.orphan(d.name, m):
            out.append(Problem("snapshot-leftover", d.name, f"snapshot {d.name[:12]}: the writable layer of no "
                               "container (a crash during rm)", True, tree_size(d)))
    for left in leftovers_mod.scan(store.paths):
        if left.live:
            continue
        why = f"process {left.owner.pid} is gone" if left.owner else "no owner"
        out.append(Problem(f"leftover-{left.area}", str(left.path),
                           f"{left.area} leftover {left.path.name} ({why})", True, left.size))
    return out


def _too_open(path: StrPath, widest: int) -> int | None:
    """`path`'s permission bits when they give more than `widest` allows; None when fine or missing."""
    try:
        mode = stat.S_IMODE(os.lstat(path).st_mode)
    except FileNotFoundError:
        return None
    return mode if mode & ~widest & 0o777 else None


def _private_files(store: Store) -> list[Path]:
    """State files that may hold secrets: every container's config.json (-e values), the build cache."""
    out, containers = [Path(store.paths.build_cache)], Path(store.paths.containers)
    if containers.is_dir():
        out += [d / "config.json" for d in sorted(containers.iterdir())]
    return out


def _permissions(store: Store) -> list[Problem]:
    """Directories and secret-holding files other local users could read or pass (an older store's
    0755/0644): a setuid file in a layer, a container's upper dir, its -e secrets."""
    out: list[Problem] = []
    todo: list[tuple[StrPath, int]] = [*store.paths.modes(), *((f, PRIVATE_FILE_MODE) for f in _private_files(store))]
    for path, widest in todo:
        mode = _too_open(path, widest)
        if mode is not None:
            out.append(Problem("mode", f"{widest:o}:{path}", f"{path}: mode {mode:04o} lets other users in "
                               f"(want {widest:04o} or narrower)", True))
    return out


def check(store: Store) -> list[Problem]:
    """Every problem found in the store (empty: the store is consistent)."""
    return _permissions(store) + _images(store) + _blobs(store) + _snapshots(store) + leftovers(store)


def _fix(store: Store, p: Problem) -> None:
    if p.kind == "mode":
        widest, _, where = p.target.partition(":")
        os.chmod(where, stat.S_IMODE(os.lstat(where).st_mode) & int(widest, 8))
    elif p.kind.startswith("leftover-"):
        discard(store.paths, Path(p.target))
    elif p.kind in ("blob-name", "link-dangling"):
        path = Path(p.target)
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    elif p.kind in ("images-index", "images-journal"):
        store.images.rebuild()
    elif p.kind == "blob-corrupt":
        store.content.delete(Digest.parse(p.target))
    elif p.kind in ("snapshot-leftover", "snapshot-broken"):
        shutil.rmtree(store.paths.snapshot(p.target), ignore_errors=True)
    elif p.kind == "snapshot-link":
        meta = store.snapshots.meta(p.target) or {}
        short = str(meta.get("short") or p.target[:8])
        link = Path(store.paths.links) / short
        link.unlink(missing_ok=True)
        os.symlink(f"../snapshots/{p.target}/fs", link)
        if meta.get("short") != short:
            atomic_write_json(Path(store.paths.snapshot(p.target)) / "meta.json", {**meta, "short": short})


def repair(store: Store) -> list[Problem]:
    """Fix every repairable problem (repeating while fixes reveal new ones); returns what was fixed."""
    fixed: list[Problem] = []
    with locked(store.paths.lock("gc")), locked(store.paths.lock("snapshots")):
        for _ in range(10):
            todo = [p for p in check(store) if p.repairable and p not in fixed]
            if not todo:
                break
            for p in todo:
                _fix(store, p)
            fixed += todo
    return fixed
