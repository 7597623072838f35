"""Pull against the real docker-registry: every manifest kind, platform selection, compressions, digests."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from minidock.config import Settings
from minidock.errors import ManifestError, RegistryError
from minidock.image.events import LayerDone, LayerSkipped, LayerVerified, PullDone, PullEvent, Resolved
from minidock.image.pull import Puller, PullResult
from minidock.image.reference import Reference
from minidock.image.transport import RetryPolicy, Transport
from minidock.oci.descriptor import Platform
from minidock.oci.digest import Digest
from minidock.oci.imageconfig import chain_ids
from minidock.paths import Paths
from minidock.store.store import Store
from tests.fixtures import images as im
from tests.fixtures.registry import RegistryServer

pytestmark = pytest.mark.registry
AMD64 = Platform("linux", "amd64")
FAST = RetryPolicy(attempts=2, backoff=0.05, deadline=2.0, connect_timeout=2.0, read_timeout=5.0)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.open(Paths(tmp_path / "root"))


def do_pull(store: Store, text: str, platform: Platform | None = AMD64,
            settings: Settings | None = None) -> tuple[PullResult, list[PullEvent]]:
    events: list[PullEvent] = []
    s = settings or Settings()
    result = Puller(store, s, Transport(s, FAST)).pull(Reference.parse(text), platform, events.append)
    return result, events


def snapshot_files(store: Store, diff_id: str) -> Path:
    return Path(store.paths.snapshot(Digest.parse(diff_id).hex)) / "fs"


def assert_complete(store: Store, image: im.Image, result: PullResult) -> None:
    """Manifest, config, blobs in the store; one committed snapshot per layer chain id; no leftovers."""
    assert result.manifest == Digest.parse(image.digest)
    assert store.content.read(result.manifest) == image.manifest
    assert store.content.read(result.config) == image.config
    for layer in image.layers:
        assert store.content.exists(Digest.parse(layer["digest"]))
    for chain in chain_ids([Digest.parse(d) for d in image.diff_ids]):
        assert store.snapshots.exists(chain)
    assert list(Path(store.paths.ingest).iterdir()) == []
    assert [p.name for p in Path(store.paths.tmp).iterdir()] == []


def test_pull_oci_manifest(registry: RegistryServer, store: Store) -> None:
    img = registry.images["busybox-glibc"]
    result, events = do_pull(store, f"{registry.host}/library/busybox:1.38.0-glibc")
    assert_complete(store, img, result)
    assert result.digest == result.manifest  # a plain manifest: the tag points at it
    assert result.downloaded and result.bytes_downloaded == img.layers[0]["size"]
    assert result.name == f"{registry.host}/library/busybox:1.38.0-glibc"
    rec = store.images.get(result.name)
    assert rec.target.digest == result.manifest and rec.index_digest is None
    assert (snapshot_files(store, img.diff_ids[0]) / "bin" / "busybox").is_file()
    kinds = [type(e).__name__ for e in events]
    assert kinds[0] == "Resolved" and kinds[-1] == "PullDone"
    assert {"LayerStarted", "LayerProgress", "LayerVerified", "LayerDone"} <= set(kinds)


def test_second_pull_is_up_to_date(registry: RegistryServer, store: Store) -> None:
    ref = f"{registry.host}/library/busybox:1.38.0-musl"
    first, _ = do_pull(store, ref)
    second, events = do_pull(store, ref)
    assert first.downloaded and not second.downloaded
    assert second.bytes_downloaded == 0
    # the image (config and layers) is here: no layer events at all, as Docker prints no layer lines
    assert [type(e).__name__ for e in events] == ["Resolved", "PullDone"]
    assert events[0].layers == ()


def test_new_tag_of_present_layers_says_already_exists(registry: RegistryServer, store: Store) -> None:
    """Layers here but not the image's config (another image shares them): one "already exists" each."""
    ref = f"{registry.host}/library/busybox:1.38.0-musl"
    first, _ = do_pull(store, ref)
    store.content.delete(first.config)
    again, events = do_pull(store, ref)
    assert again.bytes_downloaded == 0
    assert [e.reason for e in events if isinstance(e, LayerSkipped)] == ["already exists"]


def test_pull_docker_schema2(registry: RegistryServer, store: Store) -> None:
    img = registry.images["alpine"]
    result, _ = do_pull(store, f"{registry.host}/library/alpine:3.20")
    assert_complete(store, img, result)
    assert store.images.get(result.name).target.media_type == im.DOCKER_MANIFEST
    assert (snapshot_files(store, img.diff_ids[0]) / "bin").exists()


def test_index_selects_amd64_never_the_attestation(registry: RegistryServer, store: Store) -> None:
    imgs = registry.images
    result, events = do_pull(store, f"{registry.host}/library/multi")
    assert result.manifest == Digest.parse(imgs["busybox-musl"].digest)
    assert result.digest == Digest.parse(im.sha(imgs["multi_index"]))
    assert store.images.get(result.name).index_digest == result.digest
    assert not store.content.exists(Digest.parse(imgs["attestation"].digest))
    resolved = next(e for e in events if isinstance(e, Resolved))
    assert resolved.platform == Platform("linux", "amd64")


def test_platform_flag_picks_arm64(registry: RegistryServer, store: Store) -> None:
    arm = registry.images["arm64"]
    result, _ = do_pull(store, f"{registry.host}/library/multi:latest", Platform.parse("linux/arm64"))
    assert result.manifest == Digest.parse(arm.digest)
    assert result.platform == Platform("linux", "arm64")
    assert (snapshot_files(store, arm.diff_ids[0]) / "etc" / "arch").read_text() == "arm64\n"
    result, _ = do_pull(store, f"{registry.host}/library/multi:latest", Platform.parse("linux/arm64/v8"))
    assert result.manifest == Digest.parse(arm.digest)


def test_platform_not_in_index(registry: RegistryServer, store: Store) -> None:
    with pytest.raises(ManifestError, match=r"no image for platform linux/s390x .*has: linux/amd64, linux/arm64"):
        do_pull(store, f"{registry.host}/library/multi", Platform.parse("linux/s390x"))
    with pytest.raises(ManifestError, match="unknown"):
        do_pull(store, f"{registry.host}/library/multi", Platform("unknown", "unknown"))


def test_platform_mismatch_on_single_manifest(registry: RegistryServer, store: Store) -> None:
    with pytest.raises(ManifestError, match="image is linux/amd64, not the requested linux/arm64"):
        do_pull(store, f"{registry.host}/library/busybox:1.38.0-musl", Platform.parse("linux/arm64"))


def test_docker_manifest_list(registry: RegistryServer, store: Store) -> None:
    result, _ = do_pull(store, f"{registry.host}/library/multilist")
    assert result.manifest == Digest.parse(registry.images["alpine"].digest)
    result, _ = do_pull(store, f"{registry.host}/library/multilist", Platform.parse("linux/arm64"))
    assert result.manifest == Digest.parse(registry.images["arm64_docker"].digest)


def test_nested_index(registry: RegistryServer, store: Store) -> None:
    result, _ = do_pull(store, f"{registry.host}/library/nested")
    assert result.manifest == Digest.parse(registry.images["busybox-musl"].digest)
    assert result.digest == Digest.parse(im.sha(registry.images["nested"]))
    assert store.content.exists(Digest.parse(im.sha(registry.images["nested_inner"])))


def test_zstd_layer_shares_the_snapshot_with_gzip(registry: RegistryServer, store: Store) -> None:
    zstd, musl = registry.images["zstd"], registry.images["busybox-musl"]
    assert zstd.diff_ids == musl.diff_ids
    result, _ = do_pull(store, f"{registry.host}/library/zstd")
    assert_complete(store, zstd, result)
    before = store.snapshots.list(sizes=False)
    second, events = do_pull(store, f"{registry.host}/library/busybox:1.38.0-musl")
    assert store.snapshots.list(sizes=False) == before  # unpacked once; the gzip blob is fetched, not unpacked
    assert_complete(store, musl, second)
    assert [e.reason for e in events if isinstance(e, LayerSkipped)] == []
    _, events = do_pull(store, f"{registry.host}/library/busybox:1.38.0-musl")
    assert [type(e).__name__ for e in events] == ["Resolved", "PullDone"]  # the image is here: nothing to do


@pytest.mark.root  # whiteouts are char devices 0:0 (mknod)
def test_plain_tar_layers_with_whiteouts(registry: RegistryServer, store: Store) -> None:
    plain = registry.images["plain"]
    result, events = do_pull(store, f"{registry.host}/library/plain")
    assert_complete(store, plain, result)
    assert result.layers == 2
    done = [e for e in events if isinstance(e, LayerDone)]
    assert [e.chain_id for e in done] == list(chain_ids([Digest.parse(d) for d in plain.diff_ids]))
    top = Path(store.paths.snapshot(done[1].chain_id.hex)) / "fs"
    assert (top / "etc" / "motd").read_text() == "two\n"
    gone = os.lstat(top / "etc" / "gone")
    assert os.major(gone.st_rdev) == 0 and os.minor(gone.st_rdev) == 0  # overlay whiteout


def test_pull_by_digest(registry: RegistryServer, store: Store) -> None:
    img = registry.images["busybox-musl"]
    result, _ = do_pull(store, f"{registry.host}/library/busybox@{img.digest}")
    assert result.digest == result.manifest == Digest.parse(img.digest)
    assert result.name == f"{registry.host}/library/busybox@{img.digest}"
    index_digest = im.sha(registry.images["multi_index"])
    result, _ = do_pull(store, f"{registry.host}/library/multi@{index_digest}")
    assert result.manifest == Digest.parse(img.digest)


def test_pull_tag_and_digest(registry: RegistryServer, store: Store) -> None:
    img = registry.images["busybox-musl"]
    result, _ = do_pull(store, f"{registry.host}/library/busybox:whatever@{img.digest}")
    assert result.manifest == Digest.parse(img.digest)


def test_unknown_tag_and_repo(registry: RegistryServer, store: Store) -> None:
    with pytest.raises(RegistryError, match=r"^pull 127\.0\.0\.1:\d+/library/alpine:nope: manifest unknown$") as e:
        do_pull(store, f"{registry.host}/library/alpine:nope")
    assert e.value.code == "MANIFEST_UNKNOWN"
    with pytest.raises(RegistryError, match=r"repository name not known|manifest unknown"):
        do_pull(store, f"{registry.host}/nobody/nothing")
    wrong = "sha256:" + "0" * 64
    with pytest.raises(RegistryError, match="manifest unknown"):
        do_pull(store, f"{registry.host}/library/busybox@{wrong}")


def test_blob_cached_but_snapshot_missing_is_unpacked_locally(registry: RegistryServer, store: Store) -> None:
    ref = f"{registry.host}/library/busybox:1.38.0-musl"
    do_pull(store, ref)
    img = registry.images["busybox-musl"]
    chain = chain_ids([Digest.parse(d) for d in img.diff_ids])[0]
    store.snapshots.remove(chain.hex)
    assert not store.snapshots.exists(chain)
    second, events = do_pull(store, ref)
    assert second.bytes_downloaded == 0
    assert [e.reason for e in events if isinstance(e, LayerSkipped)] == ["blob cached"]
    assert any(isinstance(e, LayerVerified) for e in events)
    assert store.snapshots.exists(chain)


def test_snapshot_kept_but_blob_gone_fetches_the_blob(registry: RegistryServer, store: Store) -> None:
    """rmi may leave a layer's snapshot (the build cache keeps it) and take its blob, and repair removes
    a corrupt blob: the next pull must fetch the blob, never record the image without it."""
    from minidock.store.check import check

    ref = f"{registry.host}/library/busybox:1.38.0-musl"
    first, _ = do_pull(store, ref)
    layer = Digest.parse(registry.images["busybox-musl"].layers[0]["digest"])
    store.content.delete(layer)
    store.images.remove(first.name)
    second, events = do_pull(store, ref)
    assert store.content.exists(layer) and second.downloaded and second.bytes_downloaded > 0
    assert not [e for e in events if isinstance(e, LayerSkipped)]
    assert check(store) == [] and list(Path(store.paths.ingest).iterdir()) == []


def test_events_are_typed_and_ordered(registry: RegistryServer, store: Store) -> None:
    _, events = do_pull(store, f"{registry.host}/library/plain")
    assert isinstance(events[0], Resolved) and isinstance(events[-1], PullDone)
    assert len(events[0].layers) == 2
    assert json.dumps([type(e).__name__ for e in events])  # plain records, no live objects
