"""Pull when things go wrong: dropped connections, killed pulls (Range resume), tampered blobs,
a registry that vanishes, concurrent pulls. Real registry; faults come from a real proxy in front."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from minidock.config import Settings
from minidock.errors import DigestMismatchError, RegistryError
from minidock.image.events import LayerStarted, PullEvent
from minidock.image.pull import Puller, PullResult
from minidock.image.reference import Reference
from minidock.image.transport import RetryPolicy, Transport
from minidock.oci.descriptor import Platform
from minidock.oci.digest import Digest
from minidock.paths import Paths
from minidock.store.store import Store
from tests.fixtures import images as im
from tests.fixtures.registry import RegistryServer
from tests.image.proxy import Proxy

pytestmark = pytest.mark.registry
FAST = RetryPolicy(attempts=2, backoff=0.05, deadline=2.0, connect_timeout=2.0, read_timeout=5.0)
BIG = 6 << 20
PULL_CODE = """
import sys
from pathlib import Path
from minidock.config import Settings
from minidock.image.pull import Puller
from minidock.image.reference import Reference
from minidock.oci.descriptor import Platform
from minidock.paths import Paths
from minidock.store.store import Store
Puller(Store.open(Paths(Path(sys.argv[1]))), Settings()).pull(Reference.parse(sys.argv[2]), Platform("linux", "amd64"))
"""


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.open(Paths(tmp_path / "root"))


@pytest.fixture(scope="module")
def big_image(registry: RegistryServer) -> im.Image:
    """A one-layer image of random bytes (so transfers take long enough to interrupt)."""
    img = im.make_image([im.random_layer(BIG)])
    registry.pusher().image("test/big", img, "latest")
    return img


def pull(store: Store, text: str, events: list[PullEvent] | None = None) -> PullResult:
    s = Settings()
    sink = events.append if events is not None else None
    return Puller(store, s, Transport(s, FAST)).pull(Reference.parse(text), Platform("linux", "amd64"), sink)


def layer_digest(img: im.Image) -> Digest:
    return Digest.parse(img.layers[0]["digest"])


def ingest_bytes(store: Store, digest: Digest) -> int:
    """Bytes kept for the layer (its ingest dir is named after the ref and the process that owns it)."""
    for data in Path(store.paths.ingest).glob(f"layer-{digest.hex}*/data"):
        return data.stat().st_size
    return 0


def test_dropped_connection_resumes_with_range(registry: RegistryServer, store: Store,
                                               big_image: im.Image) -> None:
    with Proxy(registry.url, cut_after=1 << 20) as proxy:
        events: list[PullEvent] = []
        result = pull(store, f"{proxy.host}/test/big", events)
    assert store.content.exists(layer_digest(big_image))
    ranges = proxy.ranges()
    assert ranges[-1].startswith("bytes=") and int(ranges[-1][6:-1]) > 0, ranges
    assert result.bytes_downloaded == big_image.layers[0]["size"]  # nothing fetched twice


def test_registry_gone_mid_pull_is_a_clean_error_and_the_next_pull_resumes(
        registry: RegistryServer, store: Store, big_image: im.Image) -> None:
    proxy = Proxy(registry.url, cut_after=2 << 20, cut_always=True)
    host = proxy.host

    def vanish_at_first_cut() -> None:  # then every reconnect is refused
        while proxy.behaviour.cuts == 0:
            time.sleep(0.005)
        proxy.stop()

    watcher = threading.Thread(target=vanish_at_first_cut, daemon=True)
    watcher.start()
    try:
        with pytest.raises(RegistryError) as info:
            pull(store, f"{host}/test/big")
        watcher.join(5)
    finally:
        proxy.stop()
    msg = str(info.value)
    assert msg.startswith(f"pull {host}/test/big:latest: ") and "connection refused" in msg, msg
    digest = layer_digest(big_image)
    kept = ingest_bytes(store, digest)
    assert 0 < kept <= 2 << 20
    assert not store.content.exists(digest)
    assert list(Path(store.paths.tmp).iterdir()) == []  # no half-unpacked layer left
    with Proxy(registry.url) as again:
        events: list[PullEvent] = []
        result = pull(store, f"{again.host}/test/big", events)
    started = [e for e in events if isinstance(e, LayerStarted)]
    assert started[0].offset == kept
    assert again.ranges() == [f"bytes={kept}-"]
    assert result.bytes_downloaded == big_image.layers[0]["size"] - kept
    store.content.verify(digest)


def test_killed_pull_resumes(registry: RegistryServer, store: Store, big_image: im.Image) -> None:
    """A pull process killed mid-download leaves its bytes; the next pull asks only for the rest."""
    with Proxy(registry.url, stall_after=3 << 20) as proxy:
        code = PULL_CODE
        child = subprocess.Popen([sys.executable, "-c", code, str(store.paths.root), f"{proxy.host}/test/big"],
                                 cwd=Path(__file__).resolve().parents[2])
        digest = layer_digest(big_image)
        try:
            deadline = time.monotonic() + 20
            while ingest_bytes(store, digest) < (2 << 20) and time.monotonic() < deadline:
                assert child.poll() is None, "the pull ended early"
                time.sleep(0.02)
        finally:
            if child.poll() is None:
                os.kill(child.pid, 9)  # by PID: the child we started
            child.wait(10)
    kept = ingest_bytes(store, digest)
    assert kept >= 2 << 20
    with Proxy(registry.url) as again:
        result = pull(store, f"{again.host}/test/big")
    assert again.ranges() == [f"bytes={kept}-"]
    assert result.bytes_downloaded == big_image.layers[0]["size"] - kept
    assert store.content.exists(digest) and ingest_bytes(store, digest) == 0


def test_tampered_blob_is_rejected_and_nothing_is_kept(registry: RegistryServer, store: Store) -> None:
    img = im.make_image([im.random_layer(300_000, "tampered.bin")])
    registry.pusher().image("test/tampered", img, "latest")
    digest = layer_digest(img)
    path = registry.blob_path(str(digest))
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, other bytes
    path.write_bytes(bytes(data))
    with pytest.raises(DigestMismatchError) as info:
        pull(store, f"{registry.host}/test/tampered")
    assert str(digest) in str(info.value)
    assert str(info.value).startswith(f"pull {registry.host}/test/tampered:latest: ")
    assert not store.content.exists(digest)
    assert list(Path(store.paths.ingest).iterdir()) == []
    assert list(Path(store.paths.tmp).iterdir()) == []
    assert store.snapshots.list(sizes=False) == []
    assert store.images.list() == []


def test_tampered_manifest_by_digest(registry: RegistryServer, store: Store) -> None:
    img = im.make_image([im.make_tar([("x", "file", os.urandom(64).hex())])])
    registry.pusher().image("test/tampered-manifest", img, "latest")
    revisions = registry.storage / "docker/registry/v2/blobs/sha256"
    path = revisions / img.digest[7:9] / img.digest[7:] / "data"
    path.write_bytes(path.read_bytes().replace(b'"schemaVersion": 2', b'"schemaVersion":  2'))
    with pytest.raises(DigestMismatchError, match=img.digest):
        pull(store, f"{registry.host}/test/tampered-manifest@{img.digest}")


def test_concurrent_pulls_store_one_copy(registry: RegistryServer, store: Store, big_image: im.Image) -> None:
    results: list[PullResult] = []
    errors: list[BaseException] = []

    def one() -> None:
        try:
            results.append(pull(Store.open(store.paths), f"{registry.host}/test/big"))
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=one) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == [] and len(results) == 2
    size = big_image.layers[0]["size"]
    assert sum(r.bytes_downloaded for r in results) == size  # one download, the other waited
    assert [p.name for p in (Path(store.paths.blobs) / "sha256").iterdir()].count(layer_digest(big_image).hex) == 1
    assert len(store.snapshots.list(sizes=False)) == 1
    assert list(Path(store.paths.tmp).iterdir()) == []


def test_concurrent_pull_processes(registry: RegistryServer, store: Store) -> None:
    code = PULL_CODE
    ref = f"{registry.host}/library/alpine:3.20"
    procs = [subprocess.Popen([sys.executable, "-c", code, str(store.paths.root), ref],
                              cwd=Path(__file__).resolve().parents[2]) for _ in range(2)]
    assert [p.wait(60) for p in procs] == [0, 0]
    assert len(store.snapshots.list(sizes=False)) == 1
    assert store.images.find(str(Reference.parse(ref))) is not None
    assert list(Path(store.paths.ingest).iterdir()) == []


def test_unreachable_registry(store: Store) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    started = time.monotonic()
    with pytest.raises(RegistryError, match=f"127.0.0.1:{port}.*connection refused"):
        pull(store, f"127.0.0.1:{port}/library/alpine")
    assert time.monotonic() - started < 5
