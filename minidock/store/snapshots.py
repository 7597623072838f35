"""Snapshots (containerd's snapshotter idea, overlay flavour): committed layers and active uppers.

Lifecycle: a layer is applied into `new_extract()` and becomes the committed snapshot
`snapshots/<chain hex>/fs` by `commit_extract` (its `meta.json`, written last, is what makes it
committed). `prepare(key, parent)` makes an active snapshot `snapshots/<key>/{fs,work}` and returns
the overlay mount as data; `commit(key, ...)` turns an active upper into a committed snapshot
without re-unpacking (build); `remove` deletes either kind. Every `fs` dir of a committed snapshot
has a short link `l/<short>` so long lowerdir lists fit in one mount page. Mutations hold the
`snapshots` flock.
"""

from __future__ import annotations

import os

from minidock.errors import ConflictError, NotFoundError, StoreError
from minidock.nouns import NamedTuple
from minidock.oci.digest import Digest
from minidock.oci.runtimespec import Mount
from minidock.paths import Paths
from minidock.store.atomic import (
    BUILD_PREFIX,
    atomic_write_json,
    discard,
    locked,
    make_dir,
    read_json,
    remove_tree,
    tree_size,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

COMMITTED, ACTIVE = "committed", "active"
META = "meta.json"
MOUNT_DATA_MAX = 4095  # mount(2) copies at most one page of options, NUL included
_KEY_FIRST = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_KEY_CHARS = _KEY_FIRST | frozenset("_.-")
_SHORT_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
_SHORT_LEN = 8


def _has_volatile() -> bool:
    """Whether overlayfs takes `volatile` (Linux 5.10 and later)."""
    try:
        major, minor = (int(x) for x in os.uname().release.split(".")[:2])
    except ValueError:
        return False
    return (major, minor) >= (5, 10)


class SnapshotInfo(NamedTuple):
    """One snapshot: its id (chain hex or active key), kind, parent chain ID and size in bytes."""

    id: str
    kind: str
    parent: Digest | None
    size: int
    diff_id: Digest | None = None


class Snapshots:
    """The snapshots/ and l/ directories of one store."""

    def __init__(self, paths: Paths) -> None:
        self.paths = paths

    # -- naming and metadata ---------------------------------------------------------------
    def _dir(self, sid: str) -> str:
        return self.paths.snapshot(sid)

    def meta(self, sid: str) -> dict[str, Any] | None:
        """The metadata of snapshot `sid` (chain hex or active key), None if it has none."""
        m = read_json(f"{self._dir(sid)}/{META}", None)
        return m if isinstance(m, dict) else None

    def _lock(self) -> Any:
        return locked(self.paths.lock("snapshots"))

    @staticmethod
    def _check_key(key: str) -> None:
        if not (0 < len(key) <= 128 and key[0] in _KEY_FIRST and _KEY_CHARS.issuperset(key)):  # no `re` on run
            raise StoreError(f"invalid snapshot key {key!r}")

    def exists(self, chain_id: Digest) -> bool:
        m = self.meta(chain_id.hex)
        return m is not None and m.get("kind") == COMMITTED

    def _short_link(self, sid: str) -> str:
        """Make the short link of snapshot `sid`: named after its id (so a retried install after a crash
        reuses it), a random name when that one is taken by another snapshot."""
        target = f"../snapshots/{sid}/fs"
        os.makedirs(self.paths.links, exist_ok=True)
        short = "".join(_SHORT_ALPHABET[b % len(_SHORT_ALPHABET)] for b in bytes.fromhex(sid[:2 * _SHORT_LEN]))
        while True:
            try:
                os.symlink(target, f"{self.paths.links}/{short}")
                return short
            except FileExistsError:
                if os.readlink(f"{self.paths.links}/{short}") == target:
                    return short
            short = "".join(_SHORT_ALPHABET[b % len(_SHORT_ALPHABET)] for b in os.urandom(_SHORT_LEN))

    def _install_committed(self, fs: str, chain_id: Digest, diff_id: Digest, parent: Digest | None) -> None:
        """Move `fs` into place as committed snapshot `chain_id` (caller holds the lock).

        The snapshot dir is assembled in an owned staging dir (fs, then meta.json) and appears by one
        rename: a crash leaves either no snapshot (the staging dir is reclaimed with its owner) or a whole one."""
        d = self._dir(chain_id.hex)
        if os.path.exists(d):  # a leftover without metadata (a crash in older versions): replace it
            self._discard(d)
        staging = make_dir(self.paths.tmp, "commit-", 0o755)
        os.rename(fs, f"{staging}/fs")
        short = self._short_link(chain_id.hex)
        atomic_write_json(f"{staging}/{META}", {"kind": COMMITTED, "parent": str(parent) if parent else None,
                                           "diff_id": str(diff_id), "short": short})
        os.rename(staging, d)

    def _discard(self, d: str) -> None:
        """Remove a directory tree so that it vanishes at once (rename into tmp/, then delete)."""
        discard(self.paths, d)

    # -- unpacking pulled layers -----------------------------------------------------------
    def new_extract(self) -> str:
        """An empty directory (mode 0755) on the store's file system to apply a layer into."""
        return make_dir(self.paths.tmp, "extract-", 0o755)

    def commit_extract(self, tmp: str, chain_id: Digest, diff_id: Digest, parent: Digest | None) -> None:
        """Make `tmp` the committed snapshot `chain_id`; if one already exists `tmp` is discarded."""
        with self._lock():
            if parent is not None and not self.exists(parent):
                raise NotFoundError(f"snapshot {parent}: parent of {chain_id} not found")
            if self.exists(chain_id):
                remove_tree(tmp)
                return
            self._install_committed(tmp, chain_id, diff_id, parent)

    # -- active snapshots ------------------------------------------------------------------
    def prepare(self, key: str, parent: Digest | None, readonly: bool = False,
                volatile: bool = False) -> tuple[Mount, ...]:
        """Create the active snapshot `key` on top of `parent` (None: scratch); returns its mounts.

        `volatile`: the upper layer is thrown away after one use (`run --rm`), so its overlay skips
        syncing it: no syncfs of the whole store file system when the mount goes away at the
        container's exit (5-45 ms here, however much other writers left dirty), as podman does for
        transient containers. Such an upper may never be mounted again (overlay refuses to)."""
        self._check_key(key)
        with self._lock():
            d = self._dir(key)
            if os.path.exists(d):
                raise ConflictError(f"snapshot {key}: already exists")
            if parent is not None and not self.exists(parent):
                raise NotFoundError(f"snapshot {parent}: not found")
            os.makedirs(d)
            for sub in ("fs", "work") + (("empty",) if parent is None else ()):
                os.mkdir(f"{d}/{sub}", 0o755)
                os.chmod(f"{d}/{sub}", 0o755)
            atomic_write_json(f"{d}/{META}", {"kind": ACTIVE, "parent": str(parent) if parent else None,
                                         "readonly": readonly, **({"volatile": True} if volatile else {})},
                               durable=False)  # why: moot after a crash
        return self.mounts(key)

    def _active(self, key: str) -> dict[str, Any]:
        self._check_key(key)
        m = self.meta(key)
        if m is None or m.get("kind") != ACTIVE:
            raise NotFoundError(f"snapshot {key}: no such active snapshot")
        return m

    def mounts(self, key: str) -> tuple[Mount, ...]:
        """The mounts (as data) that build the root file system of active snapshot `key`."""
        m = self._active(key)
        d = self._dir(key)
        parent = Digest.parse(m["parent"]) if m.get("parent") else None
        lowers = self._short_lowers(parent) if parent else []
        if m.get("readonly"):
            if not lowers:
                return (Mount(destination="/", type="bind", source=f"{d}/empty", options=("rbind", "ro")),)
            if len(lowers) == 1:
                src = self.lower_dirs(parent)[0] if parent else ""
                return (Mount(destination="/", type="bind", source=src, options=("rbind", "ro")),)
            opts: tuple[str, ...] = ("lowerdir=" + ":".join(lowers),)
        else:
            lower = ":".join(lowers) if lowers else f"{d}/empty"
            opts = (f"lowerdir={lower}", f"upperdir={d}/fs", f"workdir={d}/work",
                    *(("volatile",) if m.get("volatile") and _has_volatile() else ()))
        length = len(",".join(opts))
        if length > MOUNT_DATA_MAX:
            raise StoreError(f"snapshot {key}: overlay options are {length} bytes, more than one page "
                             f"({len(lowers)} layers under {self.paths.root})")
        return (Mount(destination="/", type="overlay", source="overlay", options=opts),)

    def _short_lowers(self, chain_id: Digest) -> list[str]:
        out = []
        for sid in self._chain(chain_id):
            m = self.meta(sid) or {}
            out.append(f"{self.paths.links}/{m.get('short')}")
        return out

    def _chain(self, chain_id: Digest) -> list[str]:
        """Snapshot ids from `chain_id` down to the base layer."""
        out: list[str] = []
        cur: Digest | None = chain_id
        while cur is not None:
            m = self.meta(cur.hex)
            if m is None or m.get("kind") != COMMITTED:
                raise NotFoundError(f"snapshot {cur}: not found")
            out.append(cur.hex)
            cur = Digest.parse(m["parent"]) if m.get("parent") else None
            if len(out) > 1000:
                raise StoreError(f"snapshot {chain_id}: parent chain loops")
        return out

    def size(self, chain_id: Digest) -> int:
        """Bytes of files in the committed snapshot's own layer (walked once, then kept in its metadata)."""
        m = self.meta(chain_id.hex)
        if m is None or m.get("kind") != COMMITTED:
            raise NotFoundError(f"snapshot {chain_id}: not found")
        if isinstance(m.get("size"), int):
            return int(m["size"])
        size = tree_size(f"{self._dir(chain_id.hex)}/fs")
        with self._lock():
            if self.meta(chain_id.hex) == m:
                atomic_write_json(f"{self._dir(chain_id.hex)}/{META}", {**m, "size": size})
        return size

    def lower_dirs(self, chain_id: Digest) -> list[str]:
        """The fs dirs of `chain_id` and its ancestors, top-most first."""
        return [f"{self._dir(sid)}/fs" for sid in self._chain(chain_id)]

    def upper(self, key: str) -> str:
        self._active(key)
        return f"{self._dir(key)}/fs"

    def commit(self, key: str, chain_id: Digest, diff_id: Digest) -> None:
        """Turn the (unmounted) active snapshot `key` into committed `chain_id`; the active one is gone."""
        m = self._active(key)
        parent = Digest.parse(m["parent"]) if m.get("parent") else None
        with self._lock():
            d = self._dir(key)
            if not self.exists(chain_id):
                self._install_committed(f"{d}/fs", chain_id, diff_id, parent)
            self._discard(d)

    def remove(self, key: str) -> None:
        """Remove an active snapshot (by key) or a committed one (chain ID or its hex) with no children."""
        sid = key.split(":", 1)[1] if key.startswith("sha256:") else key
        self._check_key(sid)
        with self._lock():
            m = self.meta(sid)
            if m is None and not os.path.exists(self._dir(sid)):
                raise NotFoundError(f"snapshot {key}: not found")
            if m is not None and m.get("kind") == COMMITTED:
                children = [s.id for s in self.list(sizes=False) if s.parent and s.parent.hex == sid]
                if children:
                    raise ConflictError(f"snapshot {key}: is the parent of {children[0]}")
                if m.get("short"):
                    try:
                        os.unlink(f"{self.paths.links}/{m['short']}")
                    except FileNotFoundError:
                        pass
            self._discard(self._dir(sid))

    def orphan(self, sid: str, meta: dict[str, Any]) -> bool:
        """Whether `sid` is a container's writable layer whose container is gone. A container's record
        is written before its snapshot is prepared and removed after it, so this is a crash leftover."""
        return (meta.get("kind") == ACTIVE and not sid.startswith(BUILD_PREFIX)
                and not os.path.isdir(f"{self.paths.containers}/{sid}"))

    def reclaim_unfinished(self) -> int:
        """Remove snapshot dirs without metadata, containers' layers left without a container, and
        dangling short links (crash leftovers: every install and prepare holds the lock, so under it
        nothing is half-made); the bytes freed."""
        freed = 0
        with self._lock():
            for sid in _names(self.paths.snapshots):
                m = self.meta(sid)
                if m is None or self.orphan(sid, m):
                    d = self._dir(sid)
                    freed += tree_size(d)
                    self._discard(d)
            for name in _names(self.paths.links):
                link = f"{self.paths.links}/{name}"
                if not os.path.exists(link):
                    try:
                        os.unlink(link)
                    except FileNotFoundError:
                        pass
        return freed

    def list(self, sizes: bool = True) -> list[SnapshotInfo]:
        """Every snapshot with metadata (sizes walk the trees; pass sizes=False to skip)."""
        out: list[SnapshotInfo] = []
        for sid in _names(self.paths.snapshots):
            m = self.meta(sid)
            if m is None:
                continue
            out.append(SnapshotInfo(
                id=sid, kind=str(m.get("kind")),
                parent=Digest.parse(m["parent"]) if m.get("parent") else None,
                size=(m["size"] if isinstance(m.get("size"), int) else tree_size(f"{self._dir(sid)}/fs"))
                if sizes else 0,
                diff_id=Digest.parse(m["diff_id"]) if m.get("diff_id") else None))
        return out


def _names(directory: str) -> list[str]:
    """The sorted entries of `directory`; none when it does not exist (yet)."""
    try:
        return sorted(os.listdir(directory))
    except (FileNotFoundError, NotADirectoryError):
        return []
