"""Sharing images for the CLI: push, login/logout, save/load, export/import.

Each function parses what the user typed, opens the store / settings, and calls one image-layer
operation. `requests` is imported only by the commands that talk to a registry. Push events are
re-exported for the renderer (the CLI does not import `image`).
"""

import os
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from minidock.config import Settings
from minidock.engine.lookup import open_store
from minidock.errors import MinidockError, NotFoundError, UsageError
from minidock.image.archive import FORMATS, SaveItem, save_docker, save_oci
from minidock.image.archive_load import LoadResult, load_archive
from minidock.image.login import remove_credentials, server_key, store_credentials
from minidock.image.push_events import (
    BlobExists,
    BlobMounted,
    BlobProgress,
    BlobPushed,
    PushCallback,
    PushDone,
    PushEvent,
    PushStarted,
)
from minidock.image.reference import Reference, parse_repository
from minidock.image.rootfs import apply_changes, import_rootfs, write_rootfs
from minidock.nouns import NamedTuple
from minidock.oci.digest import Digest
from minidock.oci.imageconfig import ContainerConfig
from minidock.paths import Paths
from minidock.store.containers import ContainerStore
from minidock.store.gc import lease
from minidock.store.store import Store

if TYPE_CHECKING:
    from minidock.image.push import PushOptions, PushResult
    from minidock.store.images import ImageRecord

__all__ = ["FORMATS", "BlobExists", "BlobMounted", "BlobProgress", "BlobPushed", "LoadResult", "PushDone",
           "PushEvent", "PushResult", "PushStarted", "export_container", "familiar", "import_image", "load_images",
           "local_tags", "login", "logout", "push_image", "push_repository", "save_images"]


def familiar(name: str, repo_only: bool = False) -> str:
    """Docker's short form of a stored name (`busybox:latest`, or `busybox` with repo_only)."""
    try:
        ref = Reference.parse(name)
    except MinidockError:
        return name  # e.g. `<none>@sha256:...` of an unnamed loaded image
    return ref.familiar_name() if repo_only else ref.familiar()


def push_image(text: str, progress: PushCallback | None = None, options: "PushOptions | None" = None,
               paths: Paths | None = None, settings: Settings | None = None) -> "PushResult":
    """`minidock push NAME[:TAG]`: push the local image of that name to its registry."""
    ref = Reference.parse(text)
    if ref.digest is not None and not ref.tag:
        raise UsageError(f"push {text}: push a tag, not a digest")
    store = open_store(paths)
    from minidock.image.push import Pusher  # requests is imported only now

    return Pusher(store, settings or Settings.load(), options=options).push(ref, progress)


class PushRepository(NamedTuple):
    """The repository a push refers to: `name` in full (Docker prints it so: docker.io/library/X)."""

    name: str


def push_repository(text: str, all_tags: bool = False) -> PushRepository:
    """What `push [-a] TEXT` pushes to (a bad reference, or a tag with -a, fails here: before any output)."""
    ref = parse_repository(text) if all_tags else Reference.parse(text)
    return PushRepository(ref.name)


def local_tags(text: str, paths: Paths | None = None) -> list[str]:
    """`minidock push -a TEXT`: every local tag of TEXT's repository (Docker's error when it has none)."""
    ref = parse_repository(text)
    from minidock.image.push import local_tags as tags_of
    from minidock.image.push import missing_image

    store = open_store(paths)
    tags = tags_of(store, ref)
    if not tags:
        raise missing_image(store, ref)
    return [str(t) for t in tags]


class LoginResult(NamedTuple):
    key: str
    config: Path


def login(server: str, user: str, password: str, settings: Settings | None = None) -> LoginResult:
    """`minidock login`: check the credentials against the registry, then store them."""
    if not user or not password:
        raise UsageError("login: a username and a password are needed")
    domain, key = server_key(server)
    from minidock.image.login import verify_credentials
    from minidock.image.transport import Transport

    verify_credentials(domain, user, password, Transport(settings or Settings.load()))
    return LoginResult(key, store_credentials(key, user, password))


def logout(server: str) -> tuple[str, bool]:
    """`minidock logout`: (config key, whether an entry was removed)."""
    _, key = server_key(server)
    return key, remove_credentials(key)


def _items(store: Store, texts: list[str]) -> list[SaveItem]:
    from minidock.engine.images import resolve

    out: dict[Digest, tuple[ImageRecord, list[str]]] = {}
    for text in texts:
        rec = resolve(store, text)
        try:
            ref = Reference.parse(text)
            named = str(ref) == rec.name or (ref.digest is None and rec.name.startswith(ref.name + ":"))
        except Exception:  # noqa: BLE001 - an id prefix: saved without a name
            named = False
        names = out.setdefault(rec.target.digest, (rec, []))[1]
        if named and rec.name not in names:
            names.append(rec.name)
    return [SaveItem(rec, tuple(names)) for rec, names in out.values()]


def save_images(texts: list[str], out: BinaryIO, fmt: str = "docker-archive", paths: Paths | None = None) -> None:
    """`minidock save`: the images as a docker-archive (default) or OCI layout ("oci", "oci-archive") tar."""
    fmt = {"docker": "docker-archive", "oci": "oci-archive"}.get(fmt, fmt)
    if fmt not in FORMATS:
        raise UsageError(f"save: unknown format {fmt!r} (docker-archive, oci-archive)")
    if not texts:
        raise UsageError("save: name at least one image")
    store = open_store(paths)
    items = _items(store, texts)
    (save_oci if fmt == "oci-archive" else save_docker)(store, items, out)
    from minidock.engine.events import emit

    for text in texts:
        emit(store.paths, "image", "save", text, {"name": text})


def load_images(src: BinaryIO, paths: Paths | None = None) -> list[LoadResult]:
    """`minidock load`: every image of a docker-archive or OCI layout tar (maybe compressed)."""
    store = open_store(paths)
    with lease(store.paths):
        results = load_archive(store, src)
    from minidock.engine.events import emit

    for r in results:
        emit(store.paths, "image", "load", str(r.image_id), {"name": str(r.image_id)})
    return results


def export_container(text: str, out: BinaryIO, paths: Paths | None = None) -> None:
    """`minidock export`: the container's merged file system (image layers + its changes) as a tar."""
    store = open_store(paths)
    record = ContainerStore(store.paths).get(text)
    meta = store.snapshots.meta(record.id)
    if meta is None:
        raise NotFoundError(f"export {text}: the container has no root file system")
    parent = meta.get("parent")
    lowers = store.snapshots.lower_dirs(Digest.parse(parent)) if parent else []
    write_rootfs([store.snapshots.upper(record.id), *lowers], out)


def import_image(src: BinaryIO, repo: str, changes: list[str] | None = None, message: str = "",
                 *, paths: Paths | None = None, platform: str = "") -> tuple[str, Digest]:
    """`minidock import [--platform P] FILE|- [REPO[:TAG]]`: (image name, image id) of the new one-layer
    image (untagged without REPO). Like Docker 20.10, a --platform is checked and its OS must be
    Linux, and the image is this host's platform all the same."""
    name = str(Reference.parse(repo)) if repo else ""
    if repo and Reference.parse(repo).digest is not None:
        raise UsageError(f"import: {repo}: a digest cannot be given")
    if platform:
        _import_platform(platform)
    config = apply_changes(ContainerConfig(), changes or [])
    store = open_store(paths)
    with lease(store.paths):
        rec = import_rootfs(store, src, name, config, message)
    image_id = store.images.image_id(rec)
    from minidock.engine.events import emit

    emit(store.paths, "image", "import", str(image_id), {"name": str(image_id)})
    return rec.name, image_id


def _import_platform(text: str) -> None:
    """Docker 20.10's daemon's checks of `import --platform` (it keeps the host's platform after them)."""
    from minidock.oci.descriptor import Platform

    try:
        plat = Platform.parse(text)
    except MinidockError:
        raise MinidockError(f'"{text}": unknown operating system or architecture: invalid argument') from None
    if plat.os != "linux":
        raise MinidockError("operating system is not supported")


def open_input(path: str) -> BinaryIO:
    """A file named on the command line, or stdin for "-"."""
    import sys

    if path == "-":
        return sys.stdin.buffer
    try:
        return open(path, "rb")
    except OSError as e:
        raise UsageError(f"{path}: {e.strerror or e}") from e


def open_output(path: str) -> BinaryIO:
    """The output file (written whole, then renamed into place by the caller's close) or stdout."""
    import sys

    if not path or path == "-":
        if sys.stdout.isatty():
            raise UsageError("refusing to write a tar to a terminal: use -o FILE or redirect stdout")
        return sys.stdout.buffer
    try:
        return open(path, "wb")
    except OSError as e:
        raise UsageError(f"{path}: {e.strerror or e}") from e


def fsync_close(f: BinaryIO) -> None:
    """Flush and close an output file (stdout is only flushed)."""
    import sys

    f.flush()
    if f is not sys.stdout.buffer:
        os.fsync(f.fileno())
        f.close()
