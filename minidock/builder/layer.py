"""Making a layer: an active snapshot filled by a container (RUN) or by the copier (COPY/ADD/WORKDIR).

Lifecycle: `new_layer(store, parent)` prepares an active snapshot on the parent chain; the caller
fills its upper dir (directly, or by `run_in()` which runs a container on its overlay mounts);
`commit_layer()` writes the deterministic layer tar (uncompressed, as Docker keeps built layers
until a push) from the upper into the content store and turns the active snapshot into the
committed one, no second unpack. `discard()` removes the
active snapshot on every failure path.
"""

import contextlib
import os
import shutil
from collections.abc import Callable
from pathlib import Path

from minidock.errors import BuildError, MinidockError
from minidock.nouns import NamedTuple
from minidock.oci import mediatypes as mt
from minidock.oci.descriptor import Descriptor
from minidock.oci.digest import Digest
from minidock.oci.imageconfig import chain_ids
from minidock.oci.runtimespec import (
    BUILDKIT_DEVICE_RULES,
    DEFAULT_CAPS,
    Capabilities,
    Linux,
    Mount,
    Process,
    Resources,
    Root,
    Spec,
    User,
    default_mounts,
    namespaces_for,
)
from minidock.store.atomic import build_key, make_dir
from minidock.store.layertar import write_tar
from minidock.store.store import Store

CGROUP_ROOT = "/sys/fs/cgroup"
HOSTNAME = "buildkitsandbox"


class Layer(NamedTuple):
    """A committed build layer: its manifest descriptor, diff_id and the chain id it ends."""

    descriptor: Descriptor
    diff_id: Digest
    chain_id: Digest


class RunRequest(NamedTuple):
    """What a RUN step executes, as whom, where, with which network and extra mounts.

    `network`: none or bridge (a network namespace of its own; `on_namespaces` wires a bridge's veth
    into it) or host (the host's namespace)."""

    args: tuple[str, ...]
    env: tuple[str, ...]
    cwd: str = "/"
    user: str = ""
    network: str = "none"
    mounts: tuple[Mount, ...] = ()


def new_layer(store: Store, parent: Digest | None) -> str:
    """Prepare an active snapshot on `parent`; returns its key."""
    key = build_key()  # owned by this process: a killed build's snapshot is reclaimed (store/atomic.py)
    store.snapshots.prepare(key, parent)
    return key


def discard(store: Store, key: str) -> None:
    """Remove an active build snapshot (it may already be gone)."""
    with contextlib.suppress(MinidockError, OSError):
        store.snapshots.remove(key)


def commit_layer(store: Store, key: str, parent: Digest | None, mtime: int | None) -> Layer:
    """Write the upper of `key` as a plain (uncompressed) layer blob and commit the snapshot under its chain id.

    Why plain: as Docker does, a built layer stays uncompressed until it is pushed (push.py compresses
    it then); gzip here cost 5-6 s of an 80 MiB apt-get layer, the plain tar is streamed straight into
    the content store and hashed once (its digest is its diff_id)."""
    upper = store.snapshots.upper(key)
    writer = store.content.writer(f"build-{key}", None)
    try:
        write_tar(Path(upper), writer, mtime)
        writer.commit()
    except BaseException:
        writer.discard()
        raise
    assert writer.digest is not None
    diff_id, size = writer.digest, writer.offset
    chain = chain_ids([parent, diff_id])[1] if parent is not None else diff_id
    store.snapshots.commit(key, chain, diff_id)
    return Layer(Descriptor(mt.OCI_LAYER, diff_id, size), diff_id, chain)


def run_spec(store: Store, key: str, req: RunRequest, root: str) -> Spec:
    """The runtime spec of a RUN container on active snapshot `key` (Docker's defaults: capabilities,
    device cgroup rules; a cgroup of its own that ends with the step)."""
    process = Process(args=req.args, env=req.env, cwd=req.cwd or "/", user=User(name=req.user),
                      capabilities=Capabilities.of(DEFAULT_CAPS, 0))
    # why a named cgroup: `minidock/<key>` carries the build's owner, so a killed build's is reclaimed
    namespaces = namespaces_for("host" if req.network == "host" else "none")
    linux = Linux(namespaces=namespaces, resources=Resources(devices=BUILDKIT_DEVICE_RULES),
                  cgroups_path=f"minidock/{key}")
    return Spec(process=process, root=Root(str(root)), hostname=HOSTNAME,
                mounts=(*default_mounts(), *req.mounts), linux=linux, rootfs_mounts=store.snapshots.mounts(key))


def run_in(store: Store, key: str, req: RunRequest, output: Callable[[bytes], None],
           on_namespaces: Callable[[int], None] | None = None) -> int:
    """Run `req` in a container on active snapshot `key`, streaming its output; returns the exit code.

    `on_namespaces(pid)`: the runtime's hook once the container's namespaces exist (the bridge wiring)."""
    root = make_dir(store.paths.tmp, "buildroot-")
    try:
        spec = run_spec(store, key, req, root)
        return _run(spec, output, store.paths.seccomp_cache, on_namespaces)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _run(spec: Spec, output: Callable[[bytes], None], seccomp_cache: str,
         on_namespaces: Callable[[int], None] | None) -> int:
    from minidock.runtime import process as proc

    r, w = os.pipe()
    devnull = os.open(os.devnull, os.O_RDONLY)
    try:
        # why a cgroup: Docker's device rules (deny all but the standard nodes) hold in RUN steps too
        opts = proc.RunOptions(cgroup_root=CGROUP_ROOT, stdin=devnull, stdout=w, stderr=w, seccomp_cache=seccomp_cache,
                               on_namespaces=on_namespaces)
        try:
            c = proc.create(spec, opts)
        except MinidockError as e:
            raise BuildError(str(e)) from e
        finally:
            os.close(w)
            os.close(devnull)
        try:
            while chunk := os.read(r, 65536):
                output(chunk)
            return c.wait().code
        finally:
            c.cleanup()
    finally:
        os.close(r)
