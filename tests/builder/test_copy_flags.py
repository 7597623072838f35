"""BuildKit's Dockerfile extras: COPY --parents/--exclude/--link, ADD <url> --checksum (mtime, mode, name,
cache), .dockerignore in context bind mounts, heredocs in ONBUILD triggers."""

from __future__ import annotations

import hashlib
import http.server
import os
import threading
from collections.abc import Iterator

import pytest

from minidock.errors import BuildError, DockerfileError
from tests.builder.conftest import Builder, run_image

pytestmark = pytest.mark.root

TREE = {"x/y/a.txt": "a", "x/y/b.md": "b", "z/c.txt": "c", "src/keep.txt": "k", "src/skip.log": "s",
        "src/sub/deep.log": "d", "src/sub/ok.txt": "o", "src/node_modules/m.js": "m", "home.txt": "h",
        "homer.md": "hm"}


def _find(image: str, *dirs: str) -> list[str]:
    code, out = run_image(image, "sh", "-c", f"find {' '.join(dirs)} | sort")
    assert code == 0, out
    return out.split()


def test_copy_parents_keeps_paths_and_pivots(builder: Builder) -> None:
    (builder.ctx / "x").mkdir(parents=True)
    builder("""FROM busybox
COPY --parents x/y/a.txt z/c.txt /p/
COPY --parents ./x/./y/*.txt /pivot/
COPY --parents x /whole/
COPY --parents */c.txt /glob/
""", files=TREE, tags=("parents:1",))
    os.chmod(builder.ctx / "x", 0o750)
    assert _find("parents:1", "/p", "/pivot", "/whole", "/glob") == [
        "/glob", "/glob/z", "/glob/z/c.txt",
        "/p", "/p/x", "/p/x/y", "/p/x/y/a.txt", "/p/z", "/p/z/c.txt",
        "/pivot", "/pivot/y", "/pivot/y/a.txt",
        "/whole", "/whole/x", "/whole/x/y", "/whole/x/y/a.txt", "/whole/x/y/b.md"]
    again = builder(tags=("parents:2",))
    assert again.cached == [False, False, False, False, False]  # x's mode changed: the first COPY (and all after)
    assert run_image("parents:2", "stat", "-c", "%a", "/p/x")[1] == "750\n"  # parents keep their metadata


def test_copy_parents_double_star(builder: Builder) -> None:
    builder("""FROM busybox
COPY --parents ./src/**/*.txt /dstar/
COPY --parents ./src/./**/*.txt /pivot/
""", files=TREE, tags=("parents:4",))
    assert _find("parents:4", "/dstar", "/pivot") == [
        "/dstar", "/dstar/src", "/dstar/src/keep.txt", "/dstar/src/sub", "/dstar/src/sub/ok.txt",
        "/pivot", "/pivot/keep.txt", "/pivot/sub", "/pivot/sub/ok.txt"]
    with pytest.raises(BuildError, match=r"src/\*\*/\*\.nope: no such file or directory in the build context"):
        builder("FROM busybox\nCOPY --parents src/**/*.nope /x/\n")


def test_copy_parents_from_a_stage(builder: Builder) -> None:
    builder("FROM busybox AS src\nRUN mkdir -p /a/b && echo 1 > /a/b/f\n"
            "FROM busybox\nCOPY --parents --from=src /a/b/f /out/\n", tags=("parents:3",))
    assert _find("parents:3", "/out") == ["/out", "/out/a", "/out/a/b", "/out/a/b/f"]


def test_copy_exclude(builder: Builder) -> None:
    builder("""FROM busybox
COPY --exclude=*.log --exclude=node_modules src /ex/
COPY --exclude=**/*.log --exclude=sub/ok.txt src /deep/
COPY --exclude=*.md hom* /wild/
COPY --exclude=*.md --exclude=!b.md x/y /reinclude/
""", files=TREE, tags=("exclude:1",))
    assert _find("exclude:1", "/ex", "/deep", "/wild", "/reinclude") == [
        "/deep", "/deep/keep.txt", "/deep/node_modules", "/deep/node_modules/m.js", "/deep/sub",
        "/ex", "/ex/keep.txt", "/ex/sub", "/ex/sub/deep.log", "/ex/sub/ok.txt",
        "/reinclude", "/reinclude/a.txt", "/reinclude/b.md",
        "/wild", "/wild/home.txt"]


def test_exclude_is_part_of_the_cache_key(builder: Builder) -> None:
    first = builder("FROM busybox\nCOPY --exclude=*.log src /s/\n", files=TREE)
    (builder.ctx / "src" / "skip.log").write_text("changed, but excluded")
    assert builder().cached == [False, True]
    assert first.result.image_id == builder().result.image_id
    other = builder("FROM busybox\nCOPY --exclude=*.txt src /s/\n")
    assert other.cached == [False, False]


def test_copy_link_gives_the_same_tree(builder: Builder) -> None:
    plain = builder("FROM busybox\nCOPY src /s/\n", files=TREE)
    linked = builder("FROM busybox\nCOPY --link src /s/\n")
    assert linked.result.config.diff_ids == plain.result.config.diff_ids
    with pytest.raises(DockerfileError, match="expecting boolean value for flag --link"):
        builder("FROM busybox\nCOPY --link=maybe src /s/\n")


def test_dockerignore_hides_paths_in_context_bind_mounts(builder: Builder) -> None:
    builder("""FROM busybox
RUN --mount=type=bind,target=/c find /c -type f | sort > /ro
RUN --mount=type=bind,source=src,target=/c,rw find /c | sort > /rw && echo new > /c/new
""", files={**TREE, ".dockerignore": "src/skip.log\n**/*.md\nsrc/node_modules\n"}, tags=("ignore:1",))
    code, out = run_image("ignore:1", "cat", "/ro", "/rw")
    assert code == 0 and out.split() == [
        "/c/.dockerignore", "/c/Dockerfile", "/c/home.txt", "/c/src/keep.txt", "/c/src/sub/deep.log",
        "/c/src/sub/ok.txt", "/c/x/y/a.txt", "/c/z/c.txt",
        "/c", "/c/keep.txt", "/c/sub", "/c/sub/deep.log", "/c/sub/ok.txt"]
    assert not (builder.ctx / "src" / "new").exists()
    assert (builder.ctx / "src" / "keep.txt").read_text() == "k"


def test_onbuild_heredocs_run_in_the_child(builder: Builder) -> None:
    parent = builder("""FROM busybox
ONBUILD RUN <<EOF
echo child > /child
echo $((1+2)) >> /child
EOF
ONBUILD COPY <<A <<-B /d/
aaa
A
\tbbb
\tB
""", tags=("onbuild-parent:1",))
    assert parent.result.config.config.onbuild == (
        "RUN <<EOF\necho child > /child\necho $((1+2)) >> /child\nEOF", "COPY <<A <<-B /d/\naaa\nA\n\tbbb\nB")
    builder("FROM onbuild-parent:1\n", tags=("onbuild-child:1",))
    assert run_image("onbuild-child:1", "cat", "/child", "/d/A", "/d/B")[1] == "child\n3\naaa\nbbb\n"


class _Files(http.server.BaseHTTPRequestHandler):
    """Serves `bodies`; `/dated/...` with a Last-Modified header; counts GETs per path."""

    bodies: dict[str, bytes] = {}
    hits: dict[str, int] = {}

    def do_GET(self) -> None:
        body = self.bodies.get(self.path.split("?")[0])
        self.hits[self.path] = self.hits.get(self.path, 0) + 1
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        if self.path.startswith("/dated/"):
            self.send_header("Last-Modified", "Thu, 02 Jan 2020 03:04:05 GMT")
        self.send_header("Content-Disposition", 'attachment; filename="ignored.bin"')
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    _Files.bodies = {"/dated/f.txt": b"dated\n", "/plain/g.txt": b"plain\n", "/dir/": b"index\n"}
    _Files.hits = {}
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Files)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}"
    finally:
        srv.shutdown()
        srv.server_close()


def test_add_url_mtime_mode_and_name(builder: Builder, server: str) -> None:
    builder(f"""FROM busybox
ADD {server}/dated/f.txt /d/
ADD {server}/plain/g.txt?x=1 /d/
ADD {server}/dir/ /d/
ADD {server}/dated/f.txt /named
""", tags=("url:2",))
    out = run_image("url:2", "stat", "-c", "%n %a %u %Y", "/d/f.txt", "/d/g.txt", "/d/dir", "/named")[1]
    assert out.splitlines() == ["/d/f.txt 600 0 1577934245", "/d/g.txt 600 0 0", "/d/dir 600 0 0",
                                "/named 600 0 1577934245"]


def test_add_checksum(builder: Builder, server: str) -> None:
    good = "sha256:" + hashlib.sha256(b"dated\n").hexdigest()
    df = f"FROM busybox\nADD --checksum={good} {server}/dated/f.txt /f\n"
    builder(df, tags=("sum:1",))
    assert run_image("sum:1", "cat", "/f")[1] == "dated\n"
    hits = dict(_Files.hits)
    assert builder(df).cached == [False, True]
    assert _Files.hits == hits  # with --checksum the key is the checksum: a cached step downloads nothing
    bad = "sha256:" + "0" * 64
    with pytest.raises(BuildError) as e:
        builder(f"FROM busybox\nADD --checksum={bad} {server}/plain/g.txt /g\n")
    got = hashlib.sha256(b"plain\n").hexdigest()
    assert str(e.value).endswith(f"checksum mismatch: want {bad}, got sha256:{got}")
    assert "\n" not in str(e.value)
    with pytest.raises(BuildError, match="invalid checksum digest format"):
        builder(f"FROM busybox\nADD --checksum=md5:abc {server}/plain/g.txt /g\n")
    with pytest.raises(BuildError, match="checksum can't be specified for non-HTTP"):
        builder(f"FROM busybox\nADD --checksum={good} local.txt /g\n", files={"local.txt": "x"})


def test_add_url_without_checksum_is_cached_by_content(builder: Builder, server: str) -> None:
    df = f"FROM busybox\nADD {server}/plain/g.txt /g\n"
    first = builder(df)
    assert builder(df).cached == [False, True]
    _Files.bodies["/plain/g.txt"] = b"changed\n"
    changed = builder(df)
    assert changed.cached == [False, False] and changed.result.image_id != first.result.image_id
