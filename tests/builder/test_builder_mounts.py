"""RUN --mount (cache, bind, tmpfs, secret), network files and --network on the real kernel."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from minidock.builder.builder import BuildResult
from minidock.builder.runmounts import cache_dir
from minidock.builder.session import Secret
from minidock.errors import BuildError
from minidock.oci.manifest import Manifest
from minidock.store.store import Store
from tests.builder.conftest import Builder

pytestmark = pytest.mark.root


def _top_layer(store: Store, result: BuildResult) -> list[str]:
    m = Manifest.from_bytes(store.content.read(result.manifest.digest))
    data = store.content.read(m.layers[-1].digest)  # a built layer: a plain tar
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        return sorted(tf.getnames())


def test_plain_run_layer_holds_only_what_the_command_wrote(builder: Builder) -> None:
    built = builder("FROM busybox\nRUN echo hi > /greeting && cat /etc/hosts /etc/resolv.conf\n")
    assert _top_layer(builder.store, built.result) == ["greeting"]
    assert "127.0.0.1\tlocalhost" in built.output and "nameserver" in built.output


def test_cache_mount_persists_between_builds_and_its_content_stays_out_of_the_layer(builder: Builder) -> None:
    df = ("FROM busybox\nRUN --mount=type=cache,target=/var/cache/app,id=app,uid=65534,mode=0700 "
          "sh -c 'echo run >> /var/cache/app/log; wc -l < /var/cache/app/log > /count; stat -c %u:%a /var/cache/app'\n")
    first = builder(df)
    assert "65534:700" in first.output
    # the mount point stays in the layer, empty (Docker 20.10's BuildKit keeps directory mount points)
    assert _top_layer(builder.store, first.result) == ["count", "var", "var/cache", "var/cache/app"]
    again = builder(df)
    assert again.cached == [False, True]  # the key did not change: the cache hit
    second = builder(df, no_cache=True)
    assert second.cached == [False, False]
    log = cache_dir(builder.store.paths.root, "app") / "log"
    assert log.read_text() == "run\nrun\n"
    assert _top_layer(builder.store, second.result) == ["count", "var", "var/cache", "var/cache/app"]


def test_bind_mounts_context_and_stage_read_only_and_rw_is_discarded(builder: Builder) -> None:
    df = """FROM busybox AS tools
RUN mkdir -p /opt/tool && echo from-stage > /opt/tool/version
FROM busybox
RUN --mount=target=/src cat /src/data.txt > /copied && ! touch /src/new 2>/dev/null
RUN --mount=type=bind,from=tools,source=/opt/tool,target=/tool cat /tool/version > /ver
RUN --mount=type=bind,source=sub,target=/w,rw sh -c 'echo changed > /w/f; cat /w/f'
RUN --mount=from=busybox:latest,source=/bin/busybox,target=/bb/busybox /bb/busybox true
CMD ["cat", "/copied", "/ver"]
"""
    built = builder(df, files={"data.txt": "ctx-data\n", "sub/f": "orig\n"})
    assert "changed" in built.output
    assert (builder.ctx / "sub" / "f").read_text() == "orig\n"  # rw changes went to a thrown-away overlay
    # the rw bind's target directory stays (empty), the file mount point goes, its parent stays: Docker 20.10
    assert _top_layer(builder.store, built.result) == ["bb"]
    assert builder(df).cached == [False, True, False, True, True, True, True, True]  # FROM always reports made
    changed = builder(df, files={"data.txt": "other\n"})
    assert changed.cached[:4] == [False, True, False, False]  # the bound file's digest is in the key


def test_tmpfs_mount_is_a_tmpfs_and_leaves_its_mount_point_only(builder: Builder) -> None:
    built = builder("FROM busybox\nRUN --mount=type=tmpfs,target=/scratch,size=1m "
                    "sh -c 'grep \" /scratch \" /proc/mounts; echo x > /scratch/x'\n")
    assert "tmpfs" in built.output and "size=1024k" in built.output
    layer = _top_layer(builder.store, built.result)
    assert layer == ["scratch"]  # the mount point, empty, as Docker 20.10 leaves it


def test_secret_mount_is_readable_and_never_stored(builder: Builder, tmp_path: Path) -> None:
    src = tmp_path / "token"
    src.write_text("s3cret-value")
    df = ("FROM busybox\nRUN --mount=type=secret,id=tok,required "
          "sh -c 'cat /run/secrets/tok; echo; stat -c %a /run/secrets/tok; touch /done'\n")
    built = builder(df, secrets=(Secret("tok", src=str(src)),))
    assert built.output.split() == ["s3cret-value", "400"]
    assert _top_layer(builder.store, built.result) == ["done", "run", "run/secrets"]  # the file is gone (20.10)
    store = builder.store
    blobs = [p.read_bytes() for p in (Path(store.paths.blobs) / "sha256").iterdir()]
    assert not any(b"s3cret-value" in b for b in blobs)
    assert b"s3cret-value" not in Path(store.paths.build_cache).read_bytes()
    src.write_text("changed")  # the value is not in the key
    assert builder(df, secrets=(Secret("tok", src=str(src)),)).cached == [False, True]
    with pytest.raises(BuildError, match="secret tok: not provided"):
        builder(df.replace("touch /done", "touch /again"))
    optional = builder("FROM busybox\nRUN --mount=type=secret,id=none test ! -e /run/secrets/none\n")
    assert optional.cached == [False, False]


def test_run_network_library_default_none_host_when_asked(builder: Builder) -> None:
    default = builder("FROM busybox\nRUN --network=default ls /sys/class/net\n").output.split()
    assert default == ["lo"]
    host = builder("FROM busybox\nRUN --network=host ls /sys/class/net\n").output.split()
    assert {"lo", "eth0"} <= set(host) and len(host) > 2  # the host's (other tests' veths come and go)
    assert not list(Path(builder.store.paths.tmp).iterdir())  # every run's scratch directory is gone
