"""`build` flags through the engine: stdin (a Dockerfile or a context tar), -o, --iidfile, --build-context,
--pull, --platform, and bad values that leave the store as it was."""

from __future__ import annotations

import gzip
import io
import os
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from minidock.engine import build as eng
from minidock.errors import MinidockError, UsageError
from minidock.paths import Paths
from minidock.store.store import Store
from tests.engine.test_build import _run

pytestmark = pytest.mark.root

DF = "FROM busybox\nCOPY a.txt /a.txt\nRUN echo built > /b.txt\n"


def _tar(files: dict[str, str], gz: bool = False) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 1_600_000_000
            tf.addfile(info, io.BytesIO(data))
    return gzip.compress(buf.getvalue()) if gz else buf.getvalue()


def _ctx(tmp_path: Path, df: str = DF) -> Path:
    ctx = tmp_path / "ctx"
    ctx.mkdir(exist_ok=True)
    (ctx / "Dockerfile").write_text(df)
    (ctx / "a.txt").write_text("from the context\n")
    return ctx


def _snapshot(root: Path) -> tuple[list[str], list[str]]:
    """What a failed command must not change: the blobs and the image records."""
    blobs = sorted(p.name for p in (root / "blobs" / "sha256").iterdir()) if (root / "blobs").exists() else []
    images = sorted(r.name for r in Store.open(Paths(root)).images.list())
    return blobs, images


def test_dockerfile_on_stdin_has_an_empty_context(busybox_store: Callable[[], Path]) -> None:
    busybox_store()
    df = b"FROM busybox\nRUN echo from-stdin > /s\n"
    result = eng.build_image(eng.BuildRequest(context="-", context_data=df, tags=("stdin:1",)))
    assert result.names == ("docker.io/library/stdin:1",)
    assert _run("stdin:1", "cat", "/s") == "from-stdin\n"
    with pytest.raises(MinidockError, match=r"a\.txt: no such file or directory in the build context"):
        eng.build_image(eng.BuildRequest(context="-", context_data=b"FROM busybox\nCOPY a.txt /\n"))


@pytest.mark.parametrize("gz", [False, True])
def test_context_tar_on_stdin(busybox_store: Callable[[], Path], gz: bool) -> None:
    root = busybox_store()
    data = _tar({"Dockerfile": DF, "a.txt": "in the tar\n", "sub/Other": "FROM busybox\nCOPY a.txt /o\n"}, gz)
    eng.build_image(eng.BuildRequest(context="-", context_data=data, tags=("tarctx:1",)))
    assert _run("tarctx:1", "cat", "/a.txt", "/b.txt") == "in the tar\nbuilt\n"
    eng.build_image(eng.BuildRequest(context="-", context_data=data, file="sub/Other", tags=("tarctx:2",)))
    assert _run("tarctx:2", "cat", "/o") == "in the tar\n"
    assert not any((root / "tmp").iterdir())  # the unpacked context is gone


def test_unsafe_context_tar_on_stdin_is_refused(busybox_store: Callable[[], Path], tmp_path: Path) -> None:
    root = busybox_store()
    before = _snapshot(root)
    with pytest.raises(UsageError) as e:
        eng.build_image(eng.BuildRequest(context="-", context_data=_tar({"Dockerfile": DF, "../escape": "x"})))
    assert str(e.value) == ("build -: the context tar on stdin: member '../escape' would be written outside "
                            "the destination")
    assert not (tmp_path / "escape").exists() and not (root / "escape").exists()
    assert _snapshot(root) == before and not any((root / "tmp").iterdir())


def test_iidfile(busybox_store: Callable[[], Path], tmp_path: Path) -> None:
    busybox_store()
    iid = tmp_path / "iid"
    result = eng.build_image(eng.BuildRequest(context=str(_ctx(tmp_path)), iidfile=str(iid)))
    assert iid.read_text() == str(result.image_id) and iid.read_text().startswith("sha256:")
    with pytest.raises(MinidockError):
        eng.build_image(eng.BuildRequest(context=str(tmp_path), iidfile=str(iid), dockerfile_text="FROM busybox\n"
                                         "RUN exit 3\n"))
    assert not iid.exists()  # Docker removes the old id before building
    eng.build_image(eng.BuildRequest(context=str(_ctx(tmp_path)), iidfile=str(iid), outputs=(str(tmp_path / "o"),)))
    assert iid.read_text() == ""  # -o names no image: Docker writes an empty id file


def test_output_local_and_tar_export_the_tree_and_name_no_image(busybox_store: Callable[[], Path],
                                                                tmp_path: Path) -> None:
    root = busybox_store()
    ctx = _ctx(tmp_path, DF + "RUN rm /bin/vi && mkdir -p /d && ln /a.txt /d/hard\n")
    images = _snapshot(root)[1]
    out = tmp_path / "out"
    eng.build_image(eng.BuildRequest(context=str(ctx), tags=("not:tagged",), outputs=(f"type=local,dest={out}",)))
    assert (out / "a.txt").read_text() == "from the context\n" and (out / "b.txt").read_text() == "built\n"
    assert (out / "bin" / "busybox").is_file() and not (out / "bin" / "vi").exists()
    assert os.stat(out / "a.txt").st_ino == os.stat(out / "d" / "hard").st_ino
    assert oct(os.stat(out).st_mode & 0o777) == "0o700"
    assert _snapshot(root)[1] == images  # -o: no image is named (BuildKit's exporters replace the image one)
    eng.build_image(eng.BuildRequest(context=str(ctx), outputs=(str(tmp_path / "plain-dir"),)))
    assert (tmp_path / "plain-dir" / "b.txt").is_file()
    tar_path = tmp_path / "rootfs.tar"
    eng.build_image(eng.BuildRequest(context=str(ctx), outputs=(f"type=tar,dest={tar_path}",)))
    with tarfile.open(tar_path) as tf:
        names = tf.getnames()
        assert "a.txt" in names and "bin/busybox" in names and "bin/vi" not in names
        assert tf.getmember("d/hard").islnk()
    stdout = io.BytesIO()
    eng.build_image(eng.BuildRequest(context=str(ctx), outputs=("-",)), stdout=stdout)
    with tarfile.open(fileobj=io.BytesIO(stdout.getvalue())) as tf:
        assert tf.extractfile("b.txt").read() == b"built\n"  # type: ignore[union-attr]


@pytest.mark.parametrize(("outputs", "message"), [
    (("type=foo",), "exporter 'foo' could not be found"),
    (("type=tar",), "dest is required for tar output"),
    (("type=local",), "dest is required for local output"),
    (("type=local,dest=-",), "a local output needs a directory"),
    (("dest=x",), "type is required"),
    (("type=local,dest",), "'dest' is not KEY=VALUE"),
    (("a", "b"), "only one output is supported"),
    (("",), "invalid -o ''"),
])
def test_bad_outputs_fail_before_building(busybox_store: Callable[[], Path], tmp_path: Path,
                                          outputs: tuple[str, ...], message: str) -> None:
    root = busybox_store()
    before = _snapshot(root)
    with pytest.raises(UsageError, match=message) as e:
        eng.build_image(eng.BuildRequest(context=str(_ctx(tmp_path)), outputs=outputs))
    assert "\n" not in str(e.value)
    assert _snapshot(root) == before


@pytest.mark.parametrize(("req", "message"), [
    ({"build_contexts": ("nodir",)}, "invalid --build-context 'nodir': want NAME=DIR"),
    ({"build_contexts": ("x=/does/not/exist",)}, "/does/not/exist: not a directory"),
    ({"build_contexts": ("x=https://example.com/repo.git",)}, "only directories and docker-image://"),
    ({"build_contexts": ("x=docker-image://",)}, "no image after docker-image://"),
    ({"platform": "linux/"}, "invalid --platform 'linux/'"),
    ({"outputs": ("type=local,dest=FILE",)}, "exists and is not a directory"),
])
def test_bad_values_name_the_flag_and_change_nothing(busybox_store: Callable[[], Path], tmp_path: Path,
                                                     req: dict[str, object], message: str) -> None:
    root = busybox_store()
    ctx = _ctx(tmp_path)
    (ctx / "FILE").write_text("")
    os.chdir(ctx)
    before = _snapshot(root)
    with pytest.raises(UsageError, match=message):
        eng.build_image(eng.BuildRequest(context=str(ctx), **req))  # type: ignore[arg-type]
    assert _snapshot(root) == before


def test_build_context_directory_and_image(busybox_store: Callable[[], Path], tmp_path: Path) -> None:
    busybox_store()
    extra = tmp_path / "extra"
    (extra / "etc").mkdir(parents=True)
    (extra / "etc" / "motd").write_text("named context\n")
    df = ("FROM base AS first\nFROM busybox\nCOPY --from=extra /etc/motd /motd\n"
          "RUN --mount=type=bind,from=extra,target=/x cat /x/etc/motd > /via-mount\n"
          "COPY --from=first /bin/busybox /bb\n")
    ctx = _ctx(tmp_path, df)
    eng.build_image(eng.BuildRequest(context=str(ctx), tags=("named:1",),
                                     build_contexts=(f"extra={extra}", "base=docker-image://busybox")))
    assert _run("named:1", "sh", "-c", "cat /motd /via-mount; ls /bb") == "named context\nnamed context\n/bb\n"
    out = tmp_path / "out"
    eng.build_image(eng.BuildRequest(context=str(ctx), dockerfile_text="FROM extra\n",
                                     build_contexts=(f"extra={extra}",), outputs=(str(out),)))
    assert sorted(p.name for p in out.rglob("*")) == ["etc", "motd"]


def test_named_context_hides_a_stage_of_that_name(busybox_store: Callable[[], Path], tmp_path: Path) -> None:
    busybox_store()
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "f").write_text("from the directory\n")
    df = "FROM busybox AS dep\nRUN exit 9\nFROM busybox\nCOPY --from=dep /f /f\n"
    eng.build_image(eng.BuildRequest(context=str(_ctx(tmp_path, df)), tags=("hide:1",),
                                     build_contexts=(f"dep={extra}",)))
    assert _run("hide:1", "cat", "/f") == "from the directory\n"


def test_pull_always_pulls_each_base_once(busybox_store: Callable[[], Path], tmp_path: Path) -> None:
    from minidock.builder.builder import BuildOptions, build

    store = Store.open(Paths(busybox_store()))
    pulled: list[str] = []
    df = "FROM busybox AS a\nFROM busybox\nCOPY --from=a /bin/sh /sh2\n"
    opts = BuildOptions(context=_ctx(tmp_path), dockerfile_text=df)
    build(store, opts, pull=lambda ref, platform: pulled.append(str(ref)))
    assert pulled == []  # stored: not pulled
    build(store, opts._replace(pull=True), pull=lambda ref, platform: pulled.append(str(ref)))
    assert pulled == ["docker.io/library/busybox:latest"]


def test_platform_of_the_host_builds(busybox_store: Callable[[], Path], tmp_path: Path) -> None:
    busybox_store()
    for platform in ("linux/amd64", "linux", "amd64"):  # containerd's forms: an OS or an architecture alone too
        result = eng.build_image(eng.BuildRequest(context=str(_ctx(tmp_path)), platform=platform))
        assert result.config.architecture == "amd64" and result.config.os == "linux"


def test_progress_on_a_terminal_is_tty(busybox_store: Callable[[], Path], tmp_path: Path) -> None:
    import subprocess
    import sys

    busybox_store()
    ctx = _ctx(tmp_path)
    master, slave = os.openpty()
    try:
        r = subprocess.run([sys.executable, "-m", "minidock", "build", "-t", "tty:1", str(ctx)], stderr=slave,
                           stdout=subprocess.PIPE, timeout=120, check=False)
        os.close(slave)
        out = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
    finally:
        os.close(master)
    text = out.decode().replace("\r\n", "\n")
    assert r.returncode == 0 and r.stdout == b""
    assert " => [2/3] COPY a.txt /a.txt" in text and " => [3/3] RUN echo built > /b.txt" in text
    assert "[+] Building " in text and text.rstrip().endswith("FINISHED")
