"""One build's shared state (store, cache, context, args, progress) and the cached-step protocol.

`record_step()` is how every instruction after FROM lands in the image: compute the step's cache
key (parent key + parent chain id + the step's describing parts), reuse the cache entry when there
is one (its layer and its creation time, so a fully cached rebuild yields the same image id), else
`make` the layer (or nothing, for metadata); then append history (and layer) to the stage.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from minidock.builder.buildnet import NONE, NetTarget
from minidock.builder.cache import BuildCache, CacheEntry, step_key
from minidock.builder.context import ContextTree, Tree
from minidock.builder.events import Progress, no_progress
from minidock.builder.expand import expand_word
from minidock.builder.rootfs import LayeredFS
from minidock.builder.state import StageState, rfc3339
from minidock.errors import BuildError
from minidock.nouns import NamedTuple
from minidock.oci.digest import Digest
from minidock.oci.imageconfig import History
from minidock.store.store import Store

TYPE_CHECKING = False
if TYPE_CHECKING:
    from minidock.builder.layer import Layer
    from minidock.builder.sshagent import SshSource

COMMENT = "buildkit.dockerfile.v0"
SourceResolver = Callable[[str], tuple[Tree, str]]


def _no_sources(name: str) -> tuple[Tree, str]:
    raise LookupError(name)


class Secret(NamedTuple):
    """A build secret (`--secret id=X,src=FILE|env=VAR`): where its value is read from, when a RUN mounts it."""

    id: str
    src: str = ""
    env: str = ""

    def read(self) -> bytes:
        """The secret's value (never stored, logged or keyed)."""
        if self.env:
            value = os.environ.get(self.env)
            if value is None:
                raise BuildError(f"secret {self.id}: environment variable {self.env} is not set")
            return value.encode()
        try:
            return Path(self.src).read_bytes()
        except OSError as e:
            raise BuildError(f"secret {self.id}: cannot read {self.src}: {e.strerror}") from e


class Session:
    """Everything a step needs besides its stage: one per build."""

    __slots__ = ("add_hosts", "build_args", "cache", "context", "contexts", "epoch", "escape", "global_args",
                 "network", "number", "progress", "recorded", "resolv_conf", "run_platform_error", "secrets",
                 "source_for", "ssh", "store", "used_args")

    def __init__(self, store: Store, cache: BuildCache, context: ContextTree, *, progress: Progress = no_progress,
                 escape: str = "\\", epoch: int | None = None, build_args: dict[str, str] | None = None,
                 secrets: dict[str, Secret] | None = None, resolv_conf: Path = Path("/etc/resolv.conf")) -> None:
        self.store, self.cache, self.context, self.progress = store, cache, context, progress
        self.escape, self.epoch = escape, epoch
        self.build_args: dict[str, str] = {} if build_args is None else build_args
        self.secrets: dict[str, Secret] = {} if secrets is None else secrets
        self.resolv_conf = resolv_conf
        self.network: NetTarget = NONE  # the build's --network (engine-resolved): RUN --network=default
        self.add_hosts: tuple[str, ...] = ()  # --add-host NAME:IP lines for every RUN's /etc/hosts
        self.global_args: dict[str, str] = {}
        self.used_args: set[str] = set()
        self.recorded: dict[str, CacheEntry] = {}
        self.source_for: SourceResolver = _no_sources
        self.run_platform_error = ""
        self.number = 0
        self.contexts: dict[str, str] = {}  # --build-context NAME -> a directory or docker-image://REF
        self.ssh: dict[str, SshSource] = {}  # --ssh ID -> the agent socket or keys RUN --mount=type=ssh uses

    def now(self) -> str:
        """The creation time of a new history entry (SOURCE_DATE_EPOCH when set)."""
        return rfc3339(self.epoch if self.epoch is not None else time.time())

    def tree_for(self, from_: str, flag: str) -> tuple[Tree, str]:
        """(tree, cache identity) of a `--from`/`from=` source: a stage or image, else the context.

        `flag` names the option in the error, e.g. "--from=builder" or "mount from=builder"."""
        if not from_:
            return self.context, "context"
        try:
            return self.source_for(from_)
        except LookupError as e:
            raise BuildError(f"{flag}: no such stage or image") from e

    def expander(self, state: StageState) -> Callable[[str], str]:
        """`$VAR` expansion of one word with the stage's ARGs and ENV."""
        env = state.expansion_env()
        return lambda word: expand_word(word, env, self.escape)


def view_of(store: Store, chain: Digest | None) -> LayeredFS:
    """The merged file system of a chain (empty for scratch)."""
    return LayeredFS(store.snapshots.lower_dirs(chain) if chain is not None else [])


def record_step(s: Session, state: StageState, parts: list[str], created_by: str,
                make: Callable[[], Layer] | None) -> bool:
    """Run (or reuse from the cache) one step; returns True when the cache provided it."""
    key = step_key(state.key, str(state.chain), *parts)
    entry = s.cache.get(key)
    cached = entry is not None
    if entry is None:
        layer = make() if make is not None else None
        entry = CacheEntry(History(created=s.now()), layer.descriptor if layer else None,
                           layer.diff_id if layer else None, layer.chain_id if layer else None)
    created = s.now() if s.epoch is not None else entry.history.created
    history = History(created=created, created_by=created_by, comment=COMMENT, empty_layer=entry.layer is None)
    if entry.layer is not None and entry.diff_id is not None and entry.chain_id is not None:
        state.add_layer(entry.layer, entry.diff_id, entry.chain_id)
    state.add_history(history)
    state.key = key
    # why hashed: created_by holds build-arg values (RUN |1 K=V ...); the image keeps them as BuildKit
    # does, the cache file (which only needs `created`) does not keep them in clear
    kept = history._replace(created_by=step_key("", created_by))
    s.recorded[key] = CacheEntry(kept, entry.layer, entry.diff_id, entry.chain_id)
    return cached
