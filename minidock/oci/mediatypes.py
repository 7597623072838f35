"""Media types of Docker schema2 and OCI image manifests, indexes, configs and layers."""

from __future__ import annotations

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
OCI_LAYER_ND = "application/vnd.oci.image.layer.nondistributable.v1.tar"
OCI_LAYER_ND_GZIP = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
OCI_LAYER_ND_ZSTD = "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"

DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
DOCKER_LAYER_FOREIGN = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
DOCKER_SCHEMA1_SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws"
DOCKER_SCHEMA1 = "application/vnd.docker.distribution.manifest.v1+json"

INDEX_TYPES = frozenset({OCI_INDEX, DOCKER_LIST})
MANIFEST_TYPES = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})
CONFIG_TYPES = frozenset({OCI_CONFIG, DOCKER_CONFIG})
# Every manifest kind we can read, in the order of preference sent as Accept.
ACCEPT = (OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST)

GZIP_LAYERS = frozenset({OCI_LAYER_GZIP, DOCKER_LAYER_GZIP, OCI_LAYER_ND_GZIP, DOCKER_LAYER_FOREIGN})
ZSTD_LAYERS = frozenset({OCI_LAYER_ZSTD, OCI_LAYER_ND_ZSTD})
PLAIN_LAYERS = frozenset({OCI_LAYER, OCI_LAYER_ND})
LAYER_TYPES = GZIP_LAYERS | ZSTD_LAYERS | PLAIN_LAYERS
NONDISTRIBUTABLE = frozenset({OCI_LAYER_ND, OCI_LAYER_ND_GZIP, OCI_LAYER_ND_ZSTD, DOCKER_LAYER_FOREIGN})


def compression_of(media_type: str) -> str:
    """'gzip', 'zstd' or '' (plain tar) for a layer media type; unknown types raise ValueError."""
    if media_type in GZIP_LAYERS:
        return "gzip"
    if media_type in ZSTD_LAYERS:
        return "zstd"
    if media_type in PLAIN_LAYERS:
        return ""
    raise ValueError(f"unsupported layer media type {media_type!r}")
