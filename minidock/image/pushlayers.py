"""Built layers made gzip for a push: the store keeps a built layer as a plain tar (as Docker keeps
layers uncompressed until they are pushed; see builder/layer.py), a registry gets gzip, which every
client pulls (Docker 20.10 included).

`gzip_layers(store, manifest, work)` compresses each plain OCI layer of `manifest` into a file under
`work` (deterministic: fixed level, mtime 0, no file name, so two pushes give the same digests) and
returns the manifest to push with those layers swapped in, and where each new blob's bytes are. The
local image keeps its plain layers (its id, the config digest, is the same either way).
"""

from pathlib import Path

from minidock.oci import mediatypes as mt
from minidock.oci.digest import Digest
from minidock.oci.manifest import Manifest
from minidock.store.compression import CHUNK, CompressingWriter
from minidock.store.store import Store


def has_plain_layers(manifest: Manifest) -> bool:
    return any(d.media_type == mt.OCI_LAYER for d in manifest.layers)


def gzip_layers(store: Store, manifest: Manifest, work: Path) -> tuple[Manifest, dict[Digest, Path]]:
    """`manifest` with its plain layers gzip-compressed into `work`; (new manifest, digest -> file)."""
    files: dict[Digest, Path] = {}
    layers = []
    for d in manifest.layers:
        if d.media_type != mt.OCI_LAYER:
            layers.append(d)
            continue
        path = work / f"{d.digest.hex}.gz"
        with store.content.open(d.digest) as src, open(path, "wb") as out:
            writer = CompressingWriter(out, "gzip")
            while chunk := src.read(CHUNK):
                writer.write(chunk)
            digest, _diff_id, size = writer.close()
        files[digest] = path
        layers.append(d._replace(media_type=mt.OCI_LAYER_GZIP, digest=digest, size=size))
    return manifest._replace(layers=tuple(layers)), files
