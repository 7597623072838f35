"""Leftovers of interrupted work: the scratch (store/atomic.py) of processes that are gone.

`scan()` lists every scratch entry (tmp/*, ingest/*, snapshots/build-*) with its owner, whether it
is alive, and its size, for `system check` and `system df`; `reclaim()` removes those of dead owners
(rename into the reclaimer's own trash, then delete, so two reclaimers never race). Entries that
name no owner (older stores, push upload states that resume across processes) are never reclaimed
automatically: `system check` reports them and `--repair` removes them.
"""

import contextlib
import os
import re
from pathlib import Path

from minidock.nouns import NamedTuple
from minidock.paths import Paths
from minidock.store.atomic import BUILD_PREFIX, discard, start_time, tree_size

_OWNER_RE = re.compile(r"[.-]p(\d+)\.(\d+)(?:\.[0-9a-f]{12})?$")


class Owner(NamedTuple):
    """The process that made a scratch directory."""

    pid: int
    start: int


def owner_of(name: str) -> Owner | None:
    """The owner a scratch name carries, None for names without one."""
    m = _OWNER_RE.search(name)
    return Owner(int(m.group(1)), int(m.group(2))) if m else None


def alive(owner: Owner) -> bool:
    return start_time(owner.pid) == owner.start


class Leftover(NamedTuple):
    """One scratch entry: area (tmp, ingest, snapshot), path, bytes, owner (None: none named) and state."""

    area: str
    path: Path
    size: int
    owner: Owner | None
    live: bool

    @property
    def dead(self) -> bool:
        """Owned by a process that is gone: reclaimable by any command."""
        return self.owner is not None and not self.live


SECRETS = Path("/dev/shm")  # builder/runmounts.py: a RUN's private copy of a secret, `minidock-secret-*`


def _entries(paths: Paths) -> list[tuple[str, Path]]:
    """(area, path) of every scratch entry: all of tmp/ and ingest/, a build's snapshots, half-made
    cache mount dirs, and secrets' copies in /dev/shm that name an owner (any store's: they hold a
    secret's value, so a dead build's copy goes whichever store notices it)."""
    out: list[tuple[str, Path]] = []
    for area, base, keep in (("tmp", paths.tmp, ""), ("ingest", paths.ingest, ""),
                             ("snapshot", paths.snapshots, BUILD_PREFIX), ("cache-mount", paths.build_cache_mounts,
                                                                           ".new-"),
                             ("secret", SECRETS, "minidock-secret-")):
        with contextlib.suppress(OSError):
            out += [(area, Path(base) / n) for n in sorted(os.listdir(base)) if n.startswith(keep)
                    and (area != "secret" or owner_of(n) is not None)]
    return out


def scan(paths: Paths, sizes: bool = True) -> list[Leftover]:
    """Every scratch entry of the store (live ones too), with its size when `sizes`."""
    out = []
    for area, p in _entries(paths):
        owner = owner_of(p.name)
        live = owner is not None and alive(owner)
        out.append(Leftover(area, p, tree_size(p) if sizes else 0, owner, live))
    return out


def reclaim(paths: Paths, ingests: bool = True, sizes: bool = False) -> list[Leftover]:
    """Remove the scratch of dead owners (ingests too when `ingests`); returns what went (sized if `sizes`)."""
    gone = []
    for left in scan(paths, sizes=False):
        if not left.dead or (left.area == "ingest" and not ingests):
            continue
        size = tree_size(left.path) if sizes else 0
        if discard(paths, left.path):
            gone.append(left._replace(size=size))
    return gone
