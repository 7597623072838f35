"""COPY and ADD on the real kernel: destination rules, globs, --chown/--chmod, archives, URLs."""

from __future__ import annotations

import bz2
import functools
import http.server
import io
import lzma
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import zstandard

from minidock.errors import BuildError
from tests.builder.conftest import Builder, run_image

pytestmark = pytest.mark.root


def _tar(files: dict[str, bytes], uid: int = 0) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for name, data in files.items():
            ti = tarfile.TarInfo(name)
            ti.size, ti.mode, ti.uid, ti.gid = len(data), 0o640, uid, uid
            tf.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def test_destination_rules(builder: Builder) -> None:
    builder("""FROM busybox
WORKDIR /w
COPY one.txt renamed.txt
COPY one.txt dir/
COPY src /tree
COPY src/*.txt /globbed/
COPY one.txt two.txt /multi/
COPY one.txt /etc
CMD ["sh"]
""", files={"one.txt": "1", "two.txt": "2", "src/a.txt": "a", "src/b.md": "b", "src/sub/c.txt": "c"},
        tags=("dest:1",))
    script = "cat /w/renamed.txt /w/dir/one.txt; echo; find /tree /globbed /multi -type f | sort; cat /etc/one.txt"
    out = run_image("dest:1", "sh", "-c", script)
    assert out[1].split() == ["11", "/globbed/a.txt", "/multi/one.txt", "/multi/two.txt", "/tree/a.txt",
                              "/tree/b.md", "/tree/sub/c.txt", "1"]


def test_several_sources_need_a_directory(builder: Builder) -> None:
    with pytest.raises(BuildError, match="must be a directory and end with a /"):
        builder("FROM busybox\nCOPY a b /notadir\n", files={"a": "", "b": ""})


def test_chown_names_numbers_and_chmod(builder: Builder) -> None:
    builder("""FROM busybox
COPY --chown=nobody:nobody f /by-name
COPY --chown=1234 f /by-number
COPY --chmod=0751 f /mode
COPY --chown=5:6 d /dir
""", files={"f": "x", "d/inner": "y"}, tags=("chown:1",))
    _, out = run_image("chown:1", "stat", "-c", "%n %u %g %a", "/by-name", "/by-number", "/mode",
                          "/dir/inner")
    assert out.splitlines() == ["/by-name 65534 65534 644", "/by-number 1234 1234 644", "/mode 0 0 751",
                                "/dir/inner 5 6 644"]
    with pytest.raises(BuildError, match="unable to find user nosuchuser"):
        builder("FROM busybox\nCOPY --chown=nosuchuser f /f\n")


def test_dockerignore_hides_files_from_copy(builder: Builder) -> None:
    builder("FROM busybox\nCOPY . /ctx/\n", files={".dockerignore": "*.log\nbuild/\n!build/keep\n", "a.log": "",
                                                  "app.py": "", "build/x": "", "build/keep": ""}, tags=("ign:1",))
    assert sorted(run_image("ign:1", "find", "/ctx", "-type", "f")[1].split()) == [
        "/ctx/.dockerignore", "/ctx/Dockerfile", "/ctx/app.py", "/ctx/build/keep"]


@pytest.mark.parametrize("kind", ["tar", "gz", "bz2", "xz", "zst"])
def test_add_unpacks_local_archives(builder: Builder, kind: str) -> None:
    raw = _tar({"pkg/file.txt": b"inside\n"}, uid=42)
    data = {"tar": raw, "gz": __import__("gzip").compress(raw), "bz2": bz2.compress(raw), "xz": lzma.compress(raw),
            "zst": zstandard.ZstdCompressor().compress(raw)}[kind]
    builder(f"FROM busybox\nADD a.{kind} /opt/\nCOPY a.{kind} /copied/\n", files={f"a.{kind}": data},
            tags=("add:1",))
    out = run_image("add:1", "sh", "-c", "stat -c '%u %a' /opt/pkg/file.txt; cat /opt/pkg/file.txt; ls /copied")
    assert out == (0, f"42 640\ninside\na.{kind}\n")


@pytest.fixture
def http_dir(tmp_path: Path) -> Iterator[str]:
    root = tmp_path / "www"
    root.mkdir()
    (root / "remote.txt").write_text("fetched over http\n")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_add_fetches_urls(builder: Builder, http_dir: str) -> None:
    built = builder(f"FROM busybox\nADD {http_dir}/remote.txt /dl/\nADD {http_dir}/remote.txt /named.txt\n",
                    tags=("url:1",))
    assert run_image("url:1", "sh", "-c", "cat /dl/remote.txt /named.txt; stat -c %a /named.txt")[1] == (
        "fetched over http\nfetched over http\n600\n")
    again = builder(tags=("url:1",))
    assert all(again.cached[1:]) and again.result.image_id == built.result.image_id
    with pytest.raises(BuildError, match="HTTP 404"):
        builder(f"FROM busybox\nADD {http_dir}/missing.txt /x\n")


def test_copy_from_scratch_image_and_symlinks(builder: Builder) -> None:
    (builder.ctx).mkdir(parents=True, exist_ok=True)
    builder.write({"real.txt": "real\n"})
    (builder.ctx / "link.txt").symlink_to("real.txt")
    builder("FROM busybox\nCOPY link.txt /followed.txt\nCOPY . /all/\n", tags=("ln:1",))
    out = run_image("ln:1", "sh", "-c", "cat /followed.txt; readlink /all/link.txt")
    assert out == (0, "real\nreal.txt\n")
