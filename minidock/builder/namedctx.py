"""`--build-context NAME=DIR`: a local directory that `FROM NAME`, `COPY --from=NAME` and
`RUN --mount=from=NAME` see instead of a stage or an image (BuildKit's named contexts).

`directory_tree()` is the directory as a COPY source (its own `.dockerignore` applies, as to the
main context); `directory_state()` is `FROM NAME`: one layer holding the directory's tree, kept
in the build cache under the digest of that tree, so an unchanged directory is not copied again.
"""

from pathlib import Path
from typing import TYPE_CHECKING

from minidock.builder.cache import CacheEntry, step_key
from minidock.builder.context import ContextTree, SourceItem, hash_items, walk
from minidock.builder.session import Session, view_of
from minidock.builder.state import StageState, scratch_state
from minidock.oci.descriptor import Platform
from minidock.oci.imageconfig import History

if TYPE_CHECKING:
    from minidock.builder.layer import Layer


def directory_tree(path: str) -> ContextTree:
    """The named context directory as a source tree."""
    return ContextTree.open(Path(path))


def directory_state(s: Session, path: str, platform: Platform, epoch: str) -> StageState:
    """`FROM NAME` of a directory context: a scratch stage with the directory's tree as its one layer."""
    tree = directory_tree(path)
    digest = hash_items(tree, [SourceItem("", "")])
    key = step_key("context-dir", digest, str(platform), epoch)
    state = scratch_state(platform, key)
    entry = s.cache.get(key)
    if entry is None or entry.layer is None or entry.diff_id is None or entry.chain_id is None:
        layer = _layer(s, tree)
        entry = CacheEntry(History(created=s.now()), layer.descriptor, layer.diff_id, layer.chain_id)
        state.add_layer(layer.descriptor, layer.diff_id, layer.chain_id)
    else:
        state.add_layer(entry.layer, entry.diff_id, entry.chain_id)
    s.recorded[key] = entry
    return state


def _layer(s: Session, tree: ContextTree) -> "Layer":
    from minidock.builder.copy import Copier
    from minidock.builder.layer import commit_layer, discard, new_layer

    key = new_layer(s.store, None)
    try:
        copier = Copier(Path(s.store.snapshots.upper(key)), view_of(s.store, None), None, None)
        for rel in walk(tree, "")[1:]:
            copier.entry(tree, rel, "/" + rel)
        return commit_layer(s.store, key, None, s.epoch)
    except BaseException:
        discard(s.store, key)
        raise
