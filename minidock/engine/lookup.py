"""Finding things the user named: an image by reference or id prefix, with its manifest and config."""

from __future__ import annotations

from minidock.errors import ConflictError, ImageNotFoundError, MinidockError
from minidock.image.reference import Reference
from minidock.nouns import NamedTuple
from minidock.oci.digest import Digest
from minidock.oci.imageconfig import ImageConfig
from minidock.oci.manifest import Manifest
from minidock.paths import Paths
from minidock.store.images import ImageRecord
from minidock.store.store import Store


def open_store(paths: Paths | None = None) -> Store:
    """The store at $MINIDOCK_ROOT (or `paths`), created if missing."""
    return Store.open(paths or Paths.from_env())


class LoadedImage(NamedTuple):
    """An image record with its manifest and config read from the content store."""

    record: ImageRecord
    manifest: Manifest
    config: ImageConfig

    @property
    def id(self) -> Digest:
        return self.manifest.config.digest

    @property
    def top_layer(self) -> Digest | None:
        """The chain id of the top layer (None for an image with no layers)."""
        ids = self.config.chain_ids()
        return ids[-1] if ids else None


def find_image(store: Store, text: str) -> ImageRecord | None:
    """The record named `text` (any form Docker accepts), or a unique image id (prefix)."""
    try:
        ref = Reference.parse(text)
    except MinidockError:
        ref = None
    if ref is not None:
        rec = store.images.find(str(ref))
        if rec is not None:
            return rec
    if all(c in "0123456789abcdef" for c in text.removeprefix("sha256:")) and len(text) >= 4:
        matches = {store.images.image_id(r): r for r in store.images.by_id_prefix(text)}
        if len(matches) > 1:
            raise ConflictError(f"image id prefix {text!r} is ambiguous")
        if matches:
            return next(iter(matches.values()))
    return None


def load_image(store: Store, text: str) -> LoadedImage:
    """The image `text` names, with manifest and config; ImageNotFoundError when there is none."""
    rec = find_image(store, text)
    if rec is None:
        raise ImageNotFoundError(f"image {text}: not found (pull it first)")
    return load_record(store, rec)


def load_record(store: Store, rec: ImageRecord) -> LoadedImage:
    manifest = store.images.manifest(rec)
    config = ImageConfig.from_bytes(store.content.read(manifest.config.digest),
                                    f"image config {manifest.config.digest}")
    return LoadedImage(rec, manifest, config)
