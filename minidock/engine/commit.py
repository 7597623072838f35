"""`commit`: a container's changes as a new image layer, with the container's config (Docker's rules)."""

import contextlib
import time
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from minidock.builder.builder import parse_tags
from minidock.builder.state import rfc3339, write_image
from minidock.engine.lookup import load_image, open_store
from minidock.oci.digest import Digest
from minidock.paths import Paths
from minidock.store.images import ImageRecord
from minidock.store.store import Store

if TYPE_CHECKING:
    from minidock.oci.imageconfig import ContainerConfig
    from minidock.store.ctrrecord import ContainerRecord


def commit_container(container: str, repository: str = "", comment: str = "", author: str = "", *,
                     paths: Paths | None = None, changes: tuple[str, ...] = (), pause: bool = True) -> Digest:
    """`minidock commit`: the container's changes as a new layer on its image, with the container's
    config (Docker's: its Cmd, Env, ... as it was run) and `--change` applied; the image id.
    `pause`: a running container is frozen while its layer is read (Docker's default)."""
    # lazy: commit is the only caller of these here (a build never writes a layer from this module)
    import io

    from minidock.oci import mediatypes as mt
    from minidock.oci.descriptor import Descriptor
    from minidock.oci.imageconfig import History
    from minidock.store.containers import ContainerStore
    from minidock.store.layers import write_layer

    store = open_store(paths)
    record = ContainerStore(store.paths).get(container)
    names = parse_tags((repository,)) if repository else ()
    base = load_image(store, record.image_id)
    upper = store.snapshots.upper(record.id)
    buf = io.BytesIO()
    with _paused(store, record, pause):
        digest, diff_id, size = write_layer(upper, buf, "gzip")
    store.content.put(buf.getvalue(), digest)
    parent = base.top_layer
    chain = _unpack(store, digest, diff_id, parent)
    now = rfc3339(time.time())
    created_by = " ".join(record.command)
    from minidock.image.rootfs import apply_changes

    run_config = apply_changes(container_config_of(base.config.config, record.host_config.get("Config") or {}),
                               list(changes))
    config = base.config._replace(diff_ids=(*base.config.diff_ids, diff_id), author=author or base.config.author,
                     history=(*base.config.history, History(created=now, created_by=created_by, comment=comment)),
                     config=run_config)
    from minidock.builder.state import base_state

    state = base_state(config, (*base.manifest.layers, Descriptor(mt.OCI_LAYER_GZIP, digest, size)), "")
    state.chain = chain
    state.config = state.config._replace(config=config.config)
    manifest, config_digest = write_image(store, state, now)
    for n in names:
        store.images.put(ImageRecord(name=n, target=manifest, created=now))
    return config_digest


def _unpack(store: Store, digest: Digest, diff_id: Digest, parent: Digest | None) -> Digest:
    """Make the committed snapshot of the new layer (unpacked from its blob)."""
    from minidock.oci.imageconfig import chain_ids
    from minidock.store.layers import apply_layer  # lazy: only commit unpacks a layer

    chain = chain_ids([parent, diff_id])[1] if parent is not None else diff_id
    if not store.snapshots.exists(chain):
        dest = store.snapshots.new_extract()
        with store.content.open(digest) as f:
            apply_layer(f, "gzip", dest)
        store.snapshots.commit_extract(dest, chain, diff_id, parent)
    return chain


def container_config_of(image: "ContainerConfig", recorded: "Mapping[str, Any]") -> "ContainerConfig":
    """The image's config with what the container was run with (Docker's commit keeps the container's
    Cmd, Entrypoint, Env, User, WorkingDir, Labels, ExposedPorts, Volumes, StopSignal, Healthcheck)."""
    from minidock.oci.imageconfig import ContainerConfig

    if not recorded.get("Env") and recorded.get("Cmd") is None and recorded.get("Entrypoint") is None:
        return image  # a record from before containers kept their config
    merged = {**image.to_json(), **{k: v for k, v in recorded.items() if k in _COMMITTED}}
    return ContainerConfig.from_json({k: v for k, v in merged.items() if v is not None or k in ("Cmd",)})


_COMMITTED = ("User", "Env", "Cmd", "Entrypoint", "WorkingDir", "Labels", "ExposedPorts", "Volumes", "StopSignal",
              "Healthcheck")


@contextlib.contextmanager
def _paused(store: Store, record: "ContainerRecord", pause: bool) -> "Iterator[None]":
    """Freeze a running container while its upper directory is read (thawed after, as it was)."""
    if not pause or record.status != "running":
        yield
        return
    from minidock.engine.lifecycle import cgroup_of
    from minidock.store.containers import ContainerStore

    cg = cgroup_of(ContainerStore(store.paths), record.id)
    cg.freeze()
    try:
        yield
    finally:
        cg.thaw()
