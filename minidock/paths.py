"""Paths(root): every on-disk location of the store, derived in one place.

Nothing is created on import or construction; `ensure()` creates the directories. Paths are `str`, not
pathlib: pathlib's import (with re, fnmatch, urllib.parse and ipaddress, which it brings) cost ~7 ms of a
~40 ms `minidock run`; os and os.path take str.
"""

from __future__ import annotations

import os

from minidock.nouns import NamedTuple

DEFAULT_ROOT = "/var/lib/minidock"
ROOT_MODE = 0o711
PRIVATE_MODE = 0o700
PRIVATE_FILE_MODE = 0o600  # state files that may hold secrets: a container's config.json, build-cache.json


class Paths(NamedTuple):
    """The store layout below `root` (see DESIGN.md section 2)."""

    root: str  # no trailing slash: every path below is f"{root}/..."

    @classmethod
    def from_env(cls) -> Paths:
        """The store named by $MINIDOCK_ROOT, else /var/lib/minidock."""
        return cls(os.environ.get("MINIDOCK_ROOT", "").rstrip("/") or DEFAULT_ROOT)

    @property
    def blobs(self) -> str:
        return f"{self.root}/blobs"

    def blob(self, algorithm: str, hex_: str) -> str:
        """Where the blob with that digest lives once committed."""
        return f"{self.root}/blobs/{algorithm}/{hex_}"

    @property
    def ingest(self) -> str:
        return f"{self.root}/ingest"

    @property
    def snapshots(self) -> str:
        return f"{self.root}/snapshots"

    def snapshot(self, snapshot_id: str) -> str:
        return f"{self.root}/snapshots/{snapshot_id}"

    @property
    def links(self) -> str:
        """Short symlinks to snapshot fs dirs, so long lowerdir lists fit one mount page."""
        return f"{self.root}/l"

    @property
    def images_json(self) -> str:
        return f"{self.root}/images.json"

    @property
    def containers(self) -> str:
        return f"{self.root}/containers"

    def container(self, container_id: str) -> str:
        return f"{self.root}/containers/{container_id}"

    @property
    def networks(self) -> str:
        return f"{self.root}/networks"

    @property
    def volumes(self) -> str:
        """Named and anonymous volumes: volumes/<name>/_data (Docker's local driver layout)."""
        return f"{self.root}/volumes"

    @property
    def build_cache(self) -> str:
        return f"{self.root}/build-cache.json"

    @property
    def build_cache_mounts(self) -> str:
        """Persistent directories of `RUN --mount=type=cache` (one per cache id)."""
        return f"{self.root}/build-mounts/cache"

    @property
    def seccomp_cache(self) -> str:
        """Compiled seccomp programs, by profile digest, bounding set, arch and kernel (runtime.seccomp)."""
        return f"{self.root}/seccomp"

    @property
    def locks(self) -> str:
        return f"{self.root}/locks"

    def lock(self, domain: str) -> str:
        """The flock file of one mutation domain (images, snapshots, containers, ...)."""
        return f"{self.root}/locks/{domain}.lock"

    @property
    def tmp(self) -> str:
        """Scratch space on the store's file system (renames into the store stay atomic)."""
        return f"{self.root}/tmp"

    def modes(self) -> tuple[tuple[str, int], ...]:
        """Each store directory and the widest mode it may have (Docker's CVE-2021-41091 answer):
        the root 0711 (others may pass through, not list), everything in it 0700 so no other local
        user reaches an unpacked layer's setuid file, a container's upper dir or its config.json;
        volumes 0701 as Docker's."""
        private = (self.blobs, self.ingest, self.snapshots, self.links, self.containers, self.networks,
                   self.locks, self.tmp, f"{self.root}/build-mounts")
        return ((self.root, ROOT_MODE), *((d, PRIVATE_MODE) for d in private), (self.volumes, 0o701))

    def ensure(self) -> Paths:
        """Create every top-level directory of the store with its mode (see `modes`); returns self.

        An existing one that is wider (a store from an older version) is narrowed, as dockerd
        chmods its root at each start: one stat per directory (~3 us: cheaper than a failing
        mkdir). `system check` reports what else is too open."""
        if not _ensure_dir(self.root, ROOT_MODE):
            return self.ensure()  # the parents were missing: made now
        for d in (self.blobs, self.ingest, self.snapshots, self.links, self.containers, self.networks,
                  self.locks, self.tmp):
            _ensure_dir(d, PRIVATE_MODE)
        sha = f"{self.root}/blobs/sha256"
        if not os.path.isdir(sha):
            try:
                os.mkdir(sha)
            except FileExistsError:
                pass
        return self


def _ensure_dir(path: str, widest: int) -> bool:
    """`path` exists with no permission bit beyond `widest`; False when its parents had to be made."""
    try:
        mode = os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        try:
            os.mkdir(path, widest)  # the umask may narrow it further: fine
        except FileExistsError:
            return True
        except FileNotFoundError:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            return False
        return True
    if mode & ~widest:
        try:
            os.chmod(path, mode & widest)
        except PermissionError:  # not ours (a non-root caller): what comes next says so
            pass
    return True
