"""A quick look at images for display: `images` and image inspect read images.json and the blobs as
plain JSON (engine/glance.py's reasons: start-up as fast as the docker CLI; no typing, re, pathlib).

None from a reader means "unusual here": the engine's own reader (engine/images.py) decides then.
"""

from __future__ import annotations

import os

from minidock.engine.glance import root
from minidock.plainjson import loads

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

class ImageId(str):
    """An image id ("sha256:...") with Docker's 12-character short form."""

    __slots__ = ()

    @property
    def short(self) -> str:
        return self.removeprefix("sha256:")[:12]


class ImageView:
    """What `images` shows of one name (engine/images.py ImageSummary's fields)."""

    __slots__ = ("created", "digest", "image_id", "repository", "size", "tag")

    def __init__(self, repository: str, tag: str, image_id: str, digest: str, *, created: str, size: int) -> None:
        self.repository, self.tag, self.image_id = repository, tag, ImageId(image_id)
        self.digest, self.created, self.size = digest or None, created, size


def image_graph_driver(diff_ids: list[str], store: str | None = None) -> dict[str, Any]:
    """Docker's GraphDriver of an image: its top layer's directory, the layers below it top first."""
    snapshots = f"{store or root()}/snapshots"
    dirs = [f"{snapshots}/{c.removeprefix('sha256:')}/fs" for c in reversed(chain_ids(diff_ids))]
    data = {"LowerDir": ":".join(dirs[1:])} if len(dirs) > 1 else {}
    if dirs:
        data["UpperDir"] = dirs[0]
    return {"Data": data, "Name": "overlay2"}




def blob(store: str, digest: str) -> Any:
    algorithm, _, hex_ = digest.partition(":")
    with open(f"{store}/blobs/{algorithm}/{hex_}", "rb") as f:
        return loads(f.read())


def chain_ids(diff_ids: list[str]) -> list[str]:
    try:
        from _sha256 import sha256  # type: ignore[import-not-found]  # CPython's own: no OpenSSL load
    except ImportError:  # pragma: no cover - Python 3.12 renamed it
        from hashlib import sha256
    out: list[str] = []
    for d in diff_ids:
        out.append(d if not out else "sha256:" + sha256(f"{out[-1]} {d}".encode()).hexdigest())
    return out


def familiar(name: str) -> tuple[str, str, str]:
    """(repository as Docker shows it, tag or <none>, digest) of a normalised image name."""
    if name.startswith("<none>@"):
        return "<none>", "<none>", name.removeprefix("<none>@")
    name, _, digest = name.partition("@")
    repo, tag = (name.rsplit(":", 1) if ":" in name.rsplit("/", 1)[-1] else (name, "<none>"))
    if repo.startswith("docker.io/"):  # reference.FamiliarName
        repo = repo.removeprefix("docker.io/")
        if repo.startswith("library/") and "/" not in repo.removeprefix("library/"):
            repo = repo.removeprefix("library/")
    return repo, tag, digest


def image_size(store: str, manifest: dict[str, Any], config: dict[str, Any]) -> int | None:
    """engine/images.py image_size: the committed snapshots' sizes, a layer's compressed size where
    it is not unpacked; None when a size is not measured yet (the engine measures and keeps it)."""
    size = 0
    for chain, layer in zip(chain_ids(config["rootfs"]["diff_ids"]), manifest.get("layers") or [], strict=False):
        try:
            with open(f"{store}/snapshots/{chain.removeprefix('sha256:')}/meta.json", "rb") as f:
                meta = loads(f.read())
        except FileNotFoundError:
            size += int(layer["size"])
            continue
        if meta.get("kind") != "committed" or not isinstance(meta.get("size"), int):
            return None
        size += meta["size"]
    return size


def _image_view(store: str, name: str, rec: dict[str, Any]) -> ImageView | None:
    """One row; None when anything is unusual (the engine's reader decides then)."""
    target = rec["target"]
    if target.get("mediaType", "").endswith(("index.v1+json", "manifest.list.v2+json")):
        return None
    manifest = blob(store, target["digest"])
    config_digest = manifest["config"]["digest"]
    config = blob(store, config_digest)
    size = image_size(store, manifest, config)
    if size is None:
        return None
    repo, tag, digest = familiar(name)
    return ImageView(repo, tag, config_digest, digest or rec.get("index") or target["digest"],
                     created=str(config.get("created", "")), size=size)


def current_index(store: str) -> dict[str, Any] | None:
    """images.json's records when the index is current (store/images.py's journal rule), else None."""
    with open(f"{store}/images.json", "rb") as f:
        index = loads(f.read())
    mark = index.get("journal")
    try:
        journal = os.stat(f"{store}/images.journal")
    except FileNotFoundError:  # a version 1 store: the index is all there is
        if mark is not None:
            return None
    else:
        if not isinstance(mark, dict) or (mark.get("ino"), mark.get("size")) != (journal.st_ino, journal.st_size):
            return None
    records = index["images"]
    return records if isinstance(records, dict) else None


def images(store: str | None = None) -> list[ImageView] | None:
    """`images` from a current images.json index, newest first; None when the index is stale,
    damaged or holds anything unusual: the engine's reader then."""
    store = store or root()
    try:
        records = current_index(store)
        if records is None:
            return None
        views = [_image_view(store, name, rec) for name, rec in sorted(records.items())]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    if any(v is None for v in views):
        return None
    out = sorted((v for v in views if v is not None), key=lambda v: (v.repository, v.tag))
    return sorted(out, key=lambda v: v.created, reverse=True)
