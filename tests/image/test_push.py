"""Push against the real docker-registry: uploads, skips, mounts, chunks, resume, auth and errors."""

from __future__ import annotations

import base64
import uuid
from pathlib import Path

import pytest
import requests

from minidock.config import Settings
from minidock.errors import AuthError, StoreError
from minidock.image.push import (
    BlobMounted,
    BlobPushed,
    PushDone,
    Pusher,
    PushEvent,
    PushOptions,
    PushStarted,
    blobs_to_push,
)
from minidock.image.reference import Reference
from minidock.image.transport import RetryPolicy, Transport
from minidock.image.upload import UploadClient, UploadOptions, parse_range_end, state_dir, upload_blob
from minidock.oci import mediatypes as mt
from minidock.oci.digest import Digest
from minidock.oci.manifest import Manifest
from minidock.paths import Paths
from minidock.store.store import Store
from tests.fixtures import images as im
from tests.fixtures.registry import HUB_PASSWORD, HUB_USER, RegistryServer
from tests.fixtures.sharing import (
    HTPASSWD_PASSWORD,
    HTPASSWD_USER,
    put_image,
    registry_has_blob,
    registry_manifest,
    write_docker_config,
)

pytestmark = pytest.mark.registry
FAST = RetryPolicy(attempts=2, backoff=0.05, deadline=2.0, connect_timeout=2.0, read_timeout=10.0)
SMALL_CHUNKS = PushOptions(UploadOptions(chunk_threshold=64 << 10, chunk_size=16 << 10))


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.open(Paths(tmp_path / "root"))


def repo() -> str:
    return f"pushtest/r{uuid.uuid4().hex[:10]}"


def do_push(store: Store, name: str, options: PushOptions | None = None) -> tuple[object, list[PushEvent]]:
    events: list[PushEvent] = []
    s = Settings()
    result = Pusher(store, s, Transport(s, FAST), options).push(Reference.parse(name), events.append)
    return result, events


def two_layer_image() -> im.Image:
    return im.make_image([im.random_layer(3000, "a.bin"), im.random_layer(5000, "b.bin")])


def test_push_uploads_every_blob_then_the_manifest(registry: RegistryServer, store: Store) -> None:
    img, r = two_layer_image(), repo()
    name = f"{registry.host}/{r}:v1"
    put_image(store, img, name)
    result, events = do_push(store, name)
    got = registry_manifest(registry.url, r, "v1")
    assert got.status_code == 200 and got.content == img.manifest  # exact bytes: same digest
    assert got.headers["Docker-Content-Digest"] == img.digest == str(result.digest)  # type: ignore[attr-defined]
    for digest in img.blobs:
        assert registry_has_blob(registry.url, r, digest)
    assert isinstance(events[0], PushStarted) and isinstance(events[-1], PushDone)
    assert sum(isinstance(e, BlobPushed) for e in events) == 3  # two layers and the config
    assert result.pushed == 3 and result.existed == 0  # type: ignore[attr-defined]
    assert not list(Path(store.paths.ingest).iterdir())  # no upload state left behind


def test_second_push_skips_and_other_repo_mounts(registry: RegistryServer, store: Store) -> None:
    img, r1, r2 = two_layer_image(), repo(), repo()
    put_image(store, img, f"{registry.host}/{r1}:latest")
    do_push(store, f"{registry.host}/{r1}")
    again, events = do_push(store, f"{registry.host}/{r1}")
    assert again.existed == 3 and again.pushed == 0  # type: ignore[attr-defined]
    assert all(not isinstance(e, BlobPushed) for e in events)
    put_image(store, img, f"{registry.host}/{r2}:latest")
    mounted, events = do_push(store, f"{registry.host}/{r2}:latest")
    assert mounted.mounted == 3 and mounted.pushed == 0  # type: ignore[attr-defined]
    assert {e.source for e in events if isinstance(e, BlobMounted)} == {r1}
    assert registry_manifest(registry.url, r2, "latest").content == img.manifest


def test_mount_from_a_repo_without_the_blob_falls_back(registry: RegistryServer, store: Store) -> None:
    img, never, r = two_layer_image(), repo(), repo()
    put_image(store, img, f"{registry.host}/{never}:latest")  # tagged locally, never pushed
    put_image(store, img, f"{registry.host}/{r}:latest")
    result, _ = do_push(store, f"{registry.host}/{r}")
    assert result.pushed == 3 and result.mounted == 0  # type: ignore[attr-defined]
    assert registry_manifest(registry.url, r, "latest").content == img.manifest


def test_chunked_upload_with_small_chunks(registry: RegistryServer, store: Store) -> None:
    img, r = im.make_image([im.random_layer(200_000)], compression="gzip"), repo()
    put_image(store, img, f"{registry.host}/{r}:big")
    result, _ = do_push(store, f"{registry.host}/{r}:big", SMALL_CHUNKS)
    layer = img.layers[0]["digest"]
    stored = registry.blob_path(layer).read_bytes()
    assert im.sha(stored) == layer
    assert result.pushed == 2  # type: ignore[attr-defined]


def test_chunked_upload_resumes_from_what_the_registry_holds(registry: RegistryServer, store: Store,
                                                             tmp_path: Path) -> None:
    data = bytes(range(256)) * 800  # 204800 bytes
    digest = Digest.parse(im.sha(data))
    blob = tmp_path / "blob"
    blob.write_bytes(data)
    s = Settings()
    client = UploadClient(registry.host, repo(), s, Transport(s, FAST))
    opts = UploadOptions(chunk_threshold=1000, chunk_size=50_000)
    # a first push got two chunks in, then died: its state says where
    loc = client.start()
    loc = client.patch(loc, 0, data[:50_000])
    loc = client.patch(loc, 50_000, data[50_000:100_000])
    state = state_dir(store.paths.ingest, client, digest)
    state.mkdir(parents=True)
    (state / "upload.json").write_text(f'{{"location": "{loc}", "offset": 100000}}')
    assert client.offset(loc) == 100_000
    seen: list[int] = []
    upload_blob(client, digest, blob, opts, state=state, on_bytes=seen.append)
    assert seen[0] == 100_000 and seen[-1] == len(data)  # resumed, not restarted
    assert registry.blob_path(str(digest)).read_bytes() == data
    assert not state.exists()


def test_stale_upload_state_restarts_cleanly(registry: RegistryServer, store: Store, tmp_path: Path) -> None:
    data = b"x" * 120_000
    digest = Digest.parse(im.sha(data))
    blob = tmp_path / "blob"
    blob.write_bytes(data)
    s = Settings()
    client = UploadClient(registry.host, repo(), s, Transport(s, FAST))
    state = state_dir(store.paths.ingest, client, digest)
    state.mkdir(parents=True)
    bogus = f"{registry.url}/v2/{client.repo}/blobs/uploads/{uuid.uuid4()}?_state=nope"
    (state / "upload.json").write_text(f'{{"location": "{bogus}", "offset": 50000}}')
    seen: list[int] = []
    upload_blob(client, digest, blob, UploadOptions(chunk_threshold=1000, chunk_size=40_000), state=state,
                on_bytes=seen.append)
    assert seen[0] == 40_000
    assert registry.blob_path(str(digest)).read_bytes() == data


def test_nondistributable_layers_are_never_pushed() -> None:
    img = two_layer_image()
    m = Manifest.from_bytes(img.manifest)
    foreign = m.layers[0].__class__(mt.OCI_LAYER_ND_GZIP, m.layers[0].digest, m.layers[0].size,
                                    urls=("https://example.com/l",))
    m2 = Manifest(m.media_type, m.config, (foreign, m.layers[1]))
    assert [d.digest for d in blobs_to_push(m2)] == [m.layers[1].digest, m.config.digest]


def test_missing_local_blob_is_a_store_error(registry: RegistryServer, store: Store) -> None:
    img, r = two_layer_image(), repo()
    put_image(store, img, f"{registry.host}/{r}:latest")
    store.content.delete(Digest.parse(img.layers[0]["digest"]))
    with pytest.raises(StoreError, match=r"blob sha256:\w+ is not in the store"):
        do_push(store, f"{registry.host}/{r}")
    assert registry_manifest(registry.url, r, "latest").status_code == 404


def test_token_registry_denies_anonymous_push(hub_registry: RegistryServer, store: Store,
                                             docker_config: Path) -> None:
    r = repo()
    name = f"{hub_registry.host}/{r}:latest"
    put_image(store, two_layer_image(), name)
    with pytest.raises(AuthError) as e:
        do_push(store, name)
    assert str(e.value) == f"push {hub_registry.host}/{r}: denied: requested access to the resource is denied"


def test_token_registry_push_with_stored_credentials(hub_registry: RegistryServer, store: Store,
                                                    docker_config: Path) -> None:
    write_docker_config(docker_config, {hub_registry.host: (HUB_USER, HUB_PASSWORD)})
    img, r1, r2 = two_layer_image(), repo(), repo()
    put_image(store, img, f"{hub_registry.host}/{r1}:latest")
    first, _ = do_push(store, f"{hub_registry.host}/{r1}:latest")
    assert first.pushed == 3  # type: ignore[attr-defined]
    put_image(store, img, f"{hub_registry.host}/{r2}:latest")
    second, _ = do_push(store, f"{hub_registry.host}/{r2}:latest")
    assert second.mounted == 3  # type: ignore[attr-defined]
    scopes = [q for req in hub_registry.token_server.requests for q in req["query"].get("scope", [])]  # type: ignore[union-attr]
    actions = [set(q.rsplit(":", 1)[1].split(",")) for q in scopes if q.startswith(f"repository:{r1}:")]
    # the push asked for push and pull on r1 (which request met the 401 first varies with the parallel uploads)
    assert any({"pull", "push"} <= a for a in actions), scopes
    resp = requests.get(f"{hub_registry.url}/v2/{r2}/manifests/latest", timeout=5)
    assert resp.status_code == 401  # the registry really wants tokens


def test_range_header_parsing() -> None:
    assert parse_range_end("0-99") == 100
    assert parse_range_end("bytes=0-99") == 100
    assert parse_range_end("0-0") == 0
    assert parse_range_end("") is None and parse_range_end("x-1") is None


def test_basic_auth_registry_push(htpasswd_registry: RegistryServer, store: Store, docker_config: Path) -> None:
    r = repo()
    name = f"{htpasswd_registry.host}/{r}:latest"
    img = two_layer_image()
    put_image(store, img, name)
    with pytest.raises(AuthError, match="registry requires a login"):
        do_push(store, name)
    write_docker_config(docker_config, {htpasswd_registry.host: (HTPASSWD_USER, HTPASSWD_PASSWORD)})
    result, _ = do_push(store, name)
    assert result.pushed == 3  # type: ignore[attr-defined]
    auth = "Basic " + base64.b64encode(f"{HTPASSWD_USER}:{HTPASSWD_PASSWORD}".encode()).decode()
    assert registry_manifest(htpasswd_registry.url, r, "latest", auth).content == img.manifest


def test_plain_layers_are_pushed_gzip_and_the_local_image_keeps_them(registry: RegistryServer, store: Store) -> None:
    """A built image's layers are stored plain (as Docker keeps them); the registry gets gzip, the same each push."""
    import gzip

    plain = im.random_layer(4000, "built.bin")
    img, r = im.make_image([im.random_layer(3000, "base.bin"), plain], compression=["gzip", ""]), repo()
    name = f"{registry.host}/{r}:v1"
    put_image(store, img, name)
    result, _ = do_push(store, name)
    got = registry_manifest(registry.url, r, "v1")
    pushed = Manifest.from_bytes(got.content)
    local = Manifest.from_bytes(img.manifest)
    assert got.headers["Docker-Content-Digest"] == str(result.digest) != img.digest  # type: ignore[attr-defined]
    assert pushed.config == local.config and pushed.layers[0] == local.layers[0]
    top = pushed.layers[1]
    assert top.media_type == mt.OCI_LAYER_GZIP
    blob = requests.get(f"{registry.url}/v2/{r}/blobs/{top.digest}", timeout=10).content
    assert Digest.of_bytes(blob) == top.digest and len(blob) == top.size and gzip.decompress(blob) == plain
    assert store.content.read(Digest.parse(img.digest)) == img.manifest  # the local image is unchanged
    assert not store.content.exists(top.digest) and not list(Path(store.paths.tmp).glob("push-*"))
    put_image(store, img, f"{registry.host}/{r}:v2")
    again, _ = do_push(store, f"{registry.host}/{r}:v2")
    assert again.digest == result.digest  # type: ignore[attr-defined]  # deterministic compression
