"""The builder on the real kernel: busybox-based builds, every instruction, cache, layers, output."""

from __future__ import annotations

import io
import json
import os
import tarfile

import pytest

from minidock.builder.builder import BuildResult
from minidock.oci import mediatypes as mt
from minidock.oci.digest import Digest
from minidock.oci.imageconfig import ImageConfig
from minidock.oci.manifest import Manifest
from minidock.store.store import Store
from tests.builder.conftest import Builder, run_image

pytestmark = pytest.mark.root


def _config(store: Store, result: BuildResult) -> ImageConfig:
    return ImageConfig.from_bytes(store.content.read(result.image_id))


def _manifest(store: Store, result: BuildResult) -> Manifest:
    return Manifest.from_bytes(store.content.read(result.manifest.digest))


def _layer_names(store: Store, digest: Digest) -> list[str]:
    with tarfile.open(fileobj=io.BytesIO(store.content.read(digest))) as tf:  # built layers are plain tars
        return tf.getnames()


def test_metadata_instructions_shape_the_config_and_history(builder: Builder) -> None:
    built = builder("""FROM busybox
MAINTAINER someone
ARG TAG=v1
ENV A=1 B="two words"
ENV C=${A}-$TAG
LABEL org.example.tag=$TAG other=x
EXPOSE 80 53/udp
USER nobody
VOLUME ["/cache", "/data"]
STOPSIGNAL SIGINT
HEALTHCHECK --interval=5s --retries=3 CMD ["true"]
SHELL ["/bin/sh", "-ec"]
ENTRYPOINT echo entry
ONBUILD RUN echo child
CMD ["x"]
""", tags=("meta:1",))
    cfg = _config(builder.store, built.result)
    cc = cfg.config
    assert cc.env == ("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "A=1",
                      "B=two words", "C=1-v1")
    assert cc.labels == {"org.example.tag": "v1", "other": "x"}
    assert cc.exposed_ports == ("53/udp", "80/tcp")
    assert cc.user == "nobody"
    assert cc.volumes == ("/cache", "/data")
    assert cc.stop_signal == "SIGINT"
    assert cc.healthcheck == {"Test": ["CMD", "true"], "Interval": 5_000_000_000, "Retries": 3}
    assert cc.shell == ("/bin/sh", "-ec")
    assert cc.entrypoint == ("/bin/sh", "-ec", "echo entry")
    assert cc.cmd == ("x",)
    assert cc.onbuild == ("RUN echo child",)
    assert cfg.author == "someone"
    new = cfg.history[-14:]
    assert [h.created_by for h in new[:3]] == ["MAINTAINER someone", "ARG TAG=v1", "ENV A=1 B=two words"]
    assert all(h.empty_layer and h.comment == "buildkit.dockerfile.v0" for h in new)
    assert len(cfg.diff_ids) == 1  # busybox's own layer only
    assert builder.store.images.find("docker.io/library/meta:1") is not None


def test_oci_output_is_valid(builder: Builder) -> None:
    built = builder("FROM busybox\nRUN echo hi > /hi\n", tags=("oci:1",))
    store = builder.store
    m = _manifest(store, built.result)
    assert m.media_type == mt.OCI_MANIFEST and m.config.media_type == mt.OCI_CONFIG
    raw = json.loads(store.content.read(built.result.manifest.digest))
    assert raw["schemaVersion"] == 2 and raw["mediaType"] == mt.OCI_MANIFEST
    assert built.result.manifest.size == len(store.content.read(built.result.manifest.digest))
    cfg = _config(store, built.result)
    assert len(m.layers) == len(cfg.diff_ids) == 2
    assert m.layers[0].media_type in mt.GZIP_LAYERS  # the base layer as pulled
    desc, diff_id = m.layers[1], cfg.diff_ids[1]
    assert desc.media_type == mt.OCI_LAYER  # a built layer stays uncompressed, as Docker keeps it until a push
    blob = store.content.read(desc.digest)
    assert len(blob) == desc.size and Digest.of_bytes(blob) == desc.digest == diff_id
    assert cfg.architecture == "amd64" and cfg.os == "linux" and cfg.created
    assert store.snapshots.exists(cfg.chain_ids()[-1])


def test_run_output_is_streamed_and_the_image_runs(builder: Builder) -> None:
    built = builder("""FROM busybox
RUN echo "building now" && echo to-stderr >&2
RUN ["sh", "-c", "echo exec form"]
COPY msg.txt /msg.txt
CMD ["cat", "/msg.txt"]
""", files={"msg.txt": "hello from the Dockerfile\n"}, tags=("runs:1",))
    assert "building now" in built.output and "to-stderr" in built.output and "exec form" in built.output
    cfg = _config(builder.store, built.result)
    assert cfg.history[-4].created_by == 'RUN /bin/sh -c echo "building now" && echo to-stderr >&2 # buildkit'
    assert cfg.history[-3].created_by == "RUN sh -c echo exec form # buildkit"
    assert cfg.history[-2].created_by == "COPY msg.txt /msg.txt # buildkit"
    assert run_image("runs:1") == (0, "hello from the Dockerfile\n")


def test_second_build_is_all_cached_and_one_changed_file_rebuilds_from_its_step(builder: Builder) -> None:
    df = """FROM busybox
RUN echo first > /first
COPY a.txt /a.txt
RUN cat /a.txt > /copy
COPY b.txt /b.txt
CMD ["cat", "/copy"]
"""
    first = builder(df, files={"a.txt": "A1\n", "b.txt": "B\n"}, tags=("cache:1",))
    assert not any(first.cached[1:])
    second = builder(tags=("cache:1",))
    assert all(second.cached[1:])
    assert second.result.image_id == first.result.image_id
    third = builder(files={"a.txt": "A2\n"}, tags=("cache:1",))
    assert third.cached[1:] == [True, False, False, False, False]
    assert run_image("cache:1") == (0, "A2\n")
    fourth = builder(no_cache=True, tags=("cache:2",))
    assert not any(fourth.cached)


def test_build_arg_change_reruns_only_runs_that_see_it(builder: Builder) -> None:
    df = "FROM busybox\nCOPY a.txt /\nARG V=1\nRUN echo $V > /v\n"
    builder(df, files={"a.txt": "a"})
    again = builder(build_args=(("V", "2"),))
    assert again.cached[1:] == [True, True, False]
    assert "RUN |1 V=2 /bin/sh -c echo $V > /v # buildkit" in again.result.config.history[-1].created_by


def test_rm_in_a_later_layer_is_a_whiteout(builder: Builder) -> None:
    built = builder("FROM busybox\nRUN echo x > /etc/gone && mkdir /d && touch /d/f\nRUN rm /etc/gone /d/f\n",
                    tags=("wh:1",))
    top = _manifest(builder.store, built.result).layers[-1]
    names = _layer_names(builder.store, top.digest)
    assert "etc/.wh.gone" in names and "d/.wh.f" in names
    assert run_image("wh:1", "sh", "-c", "ls /etc/gone; ls /d | wc -l")[1].strip().endswith("0")


def test_multistage_builds_only_needed_stages_and_copies_from(builder: Builder) -> None:
    df = """FROM busybox AS build
RUN echo artefact > /out.txt
FROM busybox AS broken
RUN exit 3
FROM busybox
COPY --from=build /out.txt /from-stage.txt
COPY --from=0 /out.txt /from-index.txt
COPY --from=busybox /bin/busybox /bb
"""
    built = builder(df, tags=("ms:1",))
    assert not any("exit 3" in s for s in built.steps)
    assert run_image("ms:1", "cat", "/from-stage.txt", "/from-index.txt")[1] == "artefact\nartefact\n"
    only = builder(target="build", tags=("ms:build",))
    assert len(only.steps) == 2


def test_from_earlier_stage_and_onbuild_triggers(builder: Builder) -> None:
    builder("FROM busybox\nONBUILD RUN echo triggered > /trig\nONBUILD ENV FROM_TRIGGER=yes\n", tags=("parent:1",))
    built = builder("FROM parent:1 AS base\nRUN cat /trig\nFROM base\nRUN echo $FROM_TRIGGER\n", tags=("child:1",))
    assert "triggered" in built.output and "yes" in built.output
    cfg = built.result.config
    assert cfg.config.onbuild == ()
    assert "ENV FROM_TRIGGER=yes" in [h.created_by for h in cfg.history]


def test_reproducible_with_source_date_epoch(builder: Builder) -> None:
    df = "FROM busybox\nRUN echo hi > /hi\nCOPY f /f\nENV X=1\n"
    a = builder(df, files={"f": "data"}, source_date_epoch=1700000000, no_cache=True)
    os.utime(builder.ctx / "f", (1800000000, 1800000000))  # later than the epoch: clamped
    b = builder(source_date_epoch=1700000000, no_cache=True)
    assert a.result.manifest.digest == b.result.manifest.digest
    cfg = a.result.config
    assert cfg.history[-1].created == "2023-11-14T22:13:20Z"
    assert _config(builder.store, a.result).created == "2023-11-14T22:13:20Z"


def test_workdir_user_and_env_reach_run(builder: Builder) -> None:
    built = builder("""FROM busybox
ENV GREETING=hello
WORKDIR /app
WORKDIR sub
USER nobody
RUN pwd && id -u && echo $GREETING && echo $http_proxy
""", build_args=(("http_proxy", "http://proxy.invalid:3128"),))
    assert built.output.split() == ["/app/sub", "65534", "hello", "http://proxy.invalid:3128"]
    assert "proxy.invalid" not in json.dumps(built.result.config.to_json())


def test_cached_rebuild_rewrites_no_state_file(builder: Builder) -> None:
    """A rebuild that changes nothing leaves images.json and build-cache.json as they are (no fsyncs);
    a new tag, or a step that reruns, does rewrite them."""
    paths = builder.store.paths

    def stamps() -> tuple[tuple[int, int], tuple[int, int]]:
        return tuple((os.stat(p).st_ino, os.stat(p).st_mtime_ns)  # type: ignore[return-value]
                     for p in (paths.images_json, paths.build_cache))
    first = builder("FROM busybox\nCOPY a.txt /a.txt\nENV A=1\n", files={"a.txt": "A\n"}, tags=("same:1",))
    before = stamps()
    again = builder(tags=("same:1",))
    assert all(again.cached[1:]) and again.result.image_id == first.result.image_id
    assert stamps() == before
    builder(tags=("same:1", "same:2"))
    images, cache = stamps()
    assert images != before[0] and cache == before[1]
    assert builder.store.images.find("docker.io/library/same:2") is not None
    builder(files={"a.txt": "B\n"}, tags=("same:1",))
    assert stamps()[1] != cache
