"""A push killed mid-upload (SIGKILL by PID, small chunks) leaves no manifest, and the next push completes it."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from minidock.config import Settings
from minidock.image.push import BlobProgress, Pusher, PushEvent, PushOptions
from minidock.image.reference import Reference
from minidock.image.upload import UploadOptions
from minidock.paths import Paths
from minidock.store.store import Store
from tests.fixtures import images as im
from tests.fixtures.registry import RegistryServer
from tests.fixtures.sharing import put_image, registry_has_blob, registry_manifest

pytestmark = pytest.mark.registry
CHUNK = 64 << 10
PUSH_SCRIPT = """
import sys
from pathlib import Path
from minidock.config import Settings
from minidock.image.push import Pusher, PushOptions
from minidock.image.reference import Reference
from minidock.image.upload import UploadOptions
from minidock.paths import Paths
from minidock.store.store import Store
opts = PushOptions(UploadOptions(chunk_threshold=1 << 20, chunk_size=int(sys.argv[3])), max_uploads=1)
Pusher(Store.open(Paths(Path(sys.argv[1]))), Settings(), options=opts).push(Reference.parse(sys.argv[2]))
"""


def upload_offsets(store: Store) -> list[int]:
    out = []
    for state in Path(store.paths.ingest).glob("push-*/upload.json"):
        try:
            out.append(int(json.loads(state.read_text())["offset"]))
        except (ValueError, KeyError, FileNotFoundError):
            continue
    return out


def test_killed_push_leaves_no_manifest_and_the_next_push_finishes(registry: RegistryServer,
                                                                   tmp_path: Path) -> None:
    store = Store.open(Paths(tmp_path / "root"))
    img = im.make_image([im.random_layer(12 << 20)], compression="gzip")  # random: the blob stays 12 MiB
    repo = f"pushtest/killed{uuid.uuid4().hex[:8]}"
    name = f"{registry.host}/{repo}:v1"
    put_image(store, img, name)
    proc = subprocess.Popen([sys.executable, "-c", PUSH_SCRIPT, str(store.paths.root), name, str(CHUNK)],
                            cwd=Path(__file__).resolve().parents[2], stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if any(o >= 4 * CHUNK for o in upload_offsets(store)):
                break
            time.sleep(0.002)
        assert proc.poll() is None, f"the push ended before it could be killed: {proc.stderr.read()!r}"  # type: ignore[union-attr]
        proc.kill()  # SIGKILL, by PID: no cleanup runs in the pusher
    finally:
        proc.wait(10)
    (killed_at,) = upload_offsets(store)
    assert 0 < killed_at < (12 << 20)
    assert registry_manifest(registry.url, repo, "v1").status_code == 404  # never a manifest before its blobs
    assert not registry_has_blob(registry.url, repo, img.layers[0]["digest"])

    events: list[PushEvent] = []
    opts = PushOptions(UploadOptions(chunk_threshold=1 << 20, chunk_size=CHUNK), max_uploads=1)
    Pusher(store, Settings(), options=opts).push(Reference.parse(name), events.append)
    got = registry_manifest(registry.url, repo, "v1")
    assert got.status_code == 200 and got.content == img.manifest
    assert im.sha(registry.blob_path(img.layers[0]["digest"]).read_bytes()) == img.layers[0]["digest"]
    first = next(e for e in events if isinstance(e, BlobProgress) and e.total > (1 << 20))
    assert first.done >= killed_at  # resumed from what the registry holds, not from byte 0
    assert upload_offsets(store) == []
