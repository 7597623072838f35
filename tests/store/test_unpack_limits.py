"""Hostile layers: GNU/PAX sparse members are refused, decompression bombs stop at the unpack cap,
and a registry that sends more bytes than a blob's descriptor says is refused (not truncated)."""

from __future__ import annotations

import gzip
import http.server
import io
import json
import os
import subprocess
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from minidock.config import DEFAULT_UNPACK_FLOOR, DEFAULT_UNPACK_RATIO, Settings
from minidock.errors import ArchiveError, DigestMismatchError, UsageError
from minidock.image.blobs import BlobReader
from minidock.image.pull import Puller
from minidock.image.reference import Reference
from minidock.image.registry import RegistryClient
from minidock.image.transport import Transport
from minidock.oci import mediatypes as mt
from minidock.oci.descriptor import Descriptor, Platform
from minidock.oci.digest import Digest
from minidock.paths import Paths
from minidock.store import layers
from minidock.store.layers import apply_layer, unpack_limit
from minidock.store.store import Store
from tests.fixtures import images as im
from tests.fixtures.registry import RegistryServer


def _gnu_tar(tmp_path: Path, *flags: str) -> bytes:
    """A tar made by GNU tar --sparse of a 1 GiB file holding 4 KiB of data (10 KB on the wire)."""
    src = tmp_path / "src"
    src.mkdir(exist_ok=True)
    with open(src / "big", "wb") as f:
        f.truncate(1 << 30)
        f.seek(1 << 29)
        f.write(b"x" * 4096)
    out = subprocess.run(["tar", "--sparse", *flags, "-cf", "-", "-C", str(src), "big"], capture_output=True,
                         check=True).stdout
    assert len(out) < 64 << 10
    return out


@pytest.mark.parametrize("flags", [("--format=gnu",), ("--format=pax", "--sparse-version=0.1"),
                                   ("--format=pax", "--sparse-version=1.0")], ids=["gnu", "pax-0.1", "pax-1.0"])
def test_sparse_members_are_refused(tmp_path: Path, flags: tuple[str, ...]) -> None:
    data = _gnu_tar(tmp_path, *flags)
    dest = tmp_path / "dest"
    dest.mkdir()
    with pytest.raises(ArchiveError) as e:
        apply_layer(io.BytesIO(data), "", dest)
    assert str(e.value) == "member 'big': sparse files are not allowed in layers (GNU/PAX sparse member)"
    assert "\n" not in str(e.value)
    assert not (dest / "big").exists()


def _bomb(size: int) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        ti = tarfile.TarInfo("zeros")
        ti.size = size
        tf.addfile(ti, io.BytesIO(bytes(size)))
    return gzip.compress(buf.getvalue(), 9)


def test_a_decompression_bomb_stops_at_the_cap(tmp_path: Path) -> None:
    blob = _bomb(16 << 20)  # 16 MiB of zeros: ~16 KB gzipped (~1000x)
    limit = unpack_limit(len(blob), ratio=100, floor=1 << 20)
    assert limit is not None and limit < 4 << 20
    dest = tmp_path / "d"
    dest.mkdir()
    with pytest.raises(ArchiveError, match=f"member 'zeros': layer unpacks to more than {limit} bytes"):
        apply_layer(io.BytesIO(blob), "gzip", dest, limit)
    assert (dest / "zeros").stat().st_size <= limit  # stopped while streaming (the caller removes dest)
    ok = tmp_path / "ok"
    ok.mkdir()
    assert apply_layer(io.BytesIO(blob), "gzip", ok, unpack_limit(len(blob))).size > 16 << 20


def test_unpack_limit_defaults_and_settings(tmp_path: Path) -> None:
    assert (DEFAULT_UNPACK_RATIO, DEFAULT_UNPACK_FLOOR) == (layers.DEFAULT_UNPACK_RATIO, layers.DEFAULT_UNPACK_FLOOR)
    assert unpack_limit(1 << 20) == (512 << 20) + (100 << 20)  # the audit's 1 MB -> 1 GiB bomb is refused
    assert unpack_limit(10, ratio=0) is None
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"unpack-max-ratio": 7, "unpack-floor-bytes": 1000}))
    s = Settings.load(str(cfg))
    assert (s.unpack_max_ratio, s.unpack_floor_bytes) == (7, 1000)
    assert Settings().unpack_max_ratio == 100
    cfg.write_text(json.dumps({"unpack-max-ratio": "lots"}))
    with pytest.raises(UsageError, match="unpack-max-ratio must be a non-negative integer"):
        Settings.load(str(cfg))


# ---- a registry that lies about a blob's size ---------------------------------------------------

class _Lying(http.server.BaseHTTPRequestHandler):
    body = b""

    def do_GET(self) -> None:
        if self.path == "/v2/":
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def lying_server() -> Iterator[tuple[str, type[_Lying]]]:
    handler = type("Handler", (_Lying,), {})
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        yield f"127.0.0.1:{srv.server_address[1]}", handler
    finally:
        srv.shutdown()
        srv.server_close()


@pytest.mark.parametrize(("size", "extra"), [(100, 10), (64 << 10, 1), (200 << 10, 5000)],
                         ids=["same-chunk", "next-chunk", "large"])
def test_a_blob_longer_than_its_descriptor_is_refused(tmp_path: Path, lying_server: tuple[str, type[_Lying]],
                                                      size: int, extra: int) -> None:
    host, handler = lying_server
    data = os.urandom(size)
    desc = Descriptor(mt.OCI_LAYER_GZIP, Digest.of_bytes(data), size)
    store = Store.open(Paths(tmp_path / "root"))
    client = RegistryClient(host, Settings(), Transport(Settings()))

    handler.body = data + os.urandom(extra)
    writer = store.content.writer("lie", desc.digest, desc.size)
    with BlobReader(client, "r", desc, writer) as reader, pytest.raises(DigestMismatchError) as e:
        reader.drain()
    assert f"the server sent more than the {size} bytes of its descriptor" in str(e.value)
    assert not store.content.exists(desc.digest) and os.listdir(store.paths.ingest) == []

    handler.body = data  # the honest server: the same blob is accepted
    writer = store.content.writer("honest", desc.digest, desc.size)
    with BlobReader(client, "r", desc, writer) as reader:
        reader.drain()
    writer.commit()
    assert store.content.exists(desc.digest)


@pytest.mark.registry
def test_a_pulled_bomb_or_sparse_layer_leaves_nothing_half_written(registry: RegistryServer, tmp_path: Path) -> None:
    """Through a real registry: the pull fails with one line, no snapshot, extract dir or image is left."""
    zeros = io.BytesIO()
    with tarfile.open(fileobj=zeros, mode="w", format=tarfile.PAX_FORMAT) as tf:
        ti = tarfile.TarInfo("zeros")
        ti.size = 16 << 20
        tf.addfile(ti, io.BytesIO(bytes(ti.size)))
    cases = {"bomb": (im.make_image([zeros.getvalue()]), "layer unpacks to more than"),
             "sparse": (im.make_image([_gnu_tar(tmp_path, "--format=gnu")]), "sparse files are not allowed")}
    settings = Settings(unpack_max_ratio=100, unpack_floor_bytes=1 << 20)
    for name, (img, msg) in cases.items():
        registry.pusher().image(f"test/{name}", img, "latest")
        store = Store.open(Paths(tmp_path / name))
        with pytest.raises(ArchiveError) as e:
            Puller(store, settings).pull(Reference.parse(f"{registry.host}/test/{name}"), Platform("linux", "amd64"))
        assert msg in str(e.value) and "\n" not in str(e.value)
        assert store.snapshots.list() == [] and store.images.list() == []
        assert os.listdir(store.paths.tmp) == [] and not any(Path(store.paths.snapshots).iterdir())
