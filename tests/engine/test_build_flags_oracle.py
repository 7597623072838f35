"""Build flags against Docker 20.10 (BuildKit): -o trees, --iidfile, stdin contexts, --progress plain's shape,
unknown flags; and COPY --parents/--exclude and ADD <url> against what Docker builds for the same result
(Docker 20.10's builtin frontend predates --parents/--exclude, so its side spells them out)."""

from __future__ import annotations

import functools
import http.server
import io
import json
import os
import re
import subprocess
import sys
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.oracle import Oracle
from tests.oracle_compare import diff_trees, tree_from_tar

pytestmark = [pytest.mark.root, pytest.mark.slow]
IGNORE = ("proc", "sys")  # BuildKit's RUN leaves these mount points in the exported tree; minidock's does not

DOCKERFILE = """FROM busybox AS base
RUN mkdir -p /data/sub && echo one > /data/one && ln /data/one /data/hard && ln -s one /data/soft \\
 && chmod 4755 /data/one && chown 7:8 /data/sub && echo x > /gone && mkfifo /data/fifo
COPY --chown=1:2 files/ /copied/
FROM base
COPY a.txt /a.txt
RUN rm /gone && echo built > /built && chmod 600 /built
"""


def _md(env: dict[str, str], *args: str, input: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "minidock", *args], capture_output=True, env=env, input=input,
                          timeout=300, check=False)


def _md_ok(env: dict[str, str], *args: str, input: bytes | None = None) -> str:
    r = _md(env, *args, input=input)
    assert r.returncode == 0, f"minidock {' '.join(args)}: {r.stderr.decode()[-3000:]}"
    return r.stdout.decode()


def _context(tmp_path: Path, dockerfile: str = DOCKERFILE) -> Path:
    ctx = tmp_path / "ctx"
    (ctx / "files" / "deep").mkdir(parents=True)
    (ctx / "Dockerfile").write_text(dockerfile)
    (ctx / "a.txt").write_text("context file\n")
    (ctx / "files" / "f").write_text("f\n")
    (ctx / "files" / "deep" / "g").write_text("g\n")
    os.chmod(ctx / "files" / "f", 0o640)
    return ctx


def _dir_tree(path: Path) -> dict[str, object]:
    """A local export as a tree (tarred with tar(1), numeric owners, so both sides are read alike)."""
    data = subprocess.run(["tar", "-C", str(path), "--numeric-owner", "-cf", "-", "."], capture_output=True,
                          check=True).stdout
    return tree_from_tar(data)  # type: ignore[return-value]


def test_output_local_and_tar_trees_equal_dockers(oracle: Oracle, tmp_path: Path) -> None:
    ctx = _context(tmp_path)
    env = oracle.minidock_env(tmp_path / "root")
    oracle.build(ctx, "oracle-out:1", "-o", f"type=local,dest={tmp_path / 'docker-local'}")
    oracle.build(ctx, "oracle-out:1", "-o", f"type=tar,dest={tmp_path / 'docker.tar'}")
    _md_ok(env, "build", "-q", "-t", "oracle-out:1", "-o", f"type=local,dest={tmp_path / 'md-local'}", str(ctx))
    _md_ok(env, "build", "-q", "-o", f"type=tar,dest={tmp_path / 'md.tar'}", str(ctx))
    local_docker, local_md = _dir_tree(tmp_path / "docker-local"), _dir_tree(tmp_path / "md-local")
    assert "data/one" in local_md and "gone" not in local_md and "copied/deep/g" in local_md
    assert (d := diff_trees(local_docker, local_md, ignore=IGNORE)) == [], "\n".join(d)  # type: ignore[arg-type]
    tar_docker, tar_md = tree_from_tar(tmp_path / "docker.tar"), tree_from_tar(tmp_path / "md.tar")
    assert tar_md["data/one"].mode == 0o4755 and tar_md["data/sub"].uid == 7
    assert (d := diff_trees(tar_docker, tar_md, ignore=IGNORE)) == [], "\n".join(d)
    assert os.stat(tmp_path / "md-local").st_mode & 0o777 == os.stat(tmp_path / "docker-local").st_mode & 0o777
    # with -o neither engine names an image
    assert oracle.docker("image", "inspect", "oracle-out:1").returncode != 0
    assert _md(env, "inspect", "oracle-out:1").returncode != 0


def test_iidfile_and_stdin_contexts_like_docker(oracle: Oracle, tmp_path: Path) -> None:
    ctx = _context(tmp_path)
    env = oracle.minidock_env(tmp_path / "root")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        tf.add(ctx, arcname=".")
    data = buf.getvalue()
    docker = oracle.docker("build", "--network", "host", "-q", "-t", "oracle-stdin:1", "--iidfile",
                           str(tmp_path / "docker.iid"), "-", input=data)
    assert docker.returncode == 0, docker.stderr
    _md_ok(env, "build", "-q", "-t", "oracle-stdin:1", "--iidfile", str(tmp_path / "md.iid"), "-", input=data)
    docker_iid, md_iid = (tmp_path / "docker.iid").read_text(), (tmp_path / "md.iid").read_text()
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", docker_iid) and re.fullmatch(r"sha256:[0-9a-f]{64}", md_iid)
    assert json.loads(oracle.docker_ok("image", "inspect", "oracle-stdin:1"))[0]["Id"] == docker_iid
    assert json.loads(_md_ok(env, "inspect", "oracle-stdin:1"))[0]["Id"] == md_iid
    cmd = ("cat", "/a.txt", "/built", "/copied/deep/g")
    assert _md_ok(env, "run", "--rm", "--network", "none", "oracle-stdin:1", *cmd) == \
        oracle.docker_ok("run", "--rm", "--network", "none", "oracle-stdin:1", *cmd)
    # a Dockerfile on stdin: no context
    df = b"FROM busybox\nRUN echo piped > /p\n"
    oracle.docker_ok("build", "--network", "host", "-q", "-t", "oracle-stdin:2", "-", input=df)
    _md_ok(env, "build", "-q", "-t", "oracle-stdin:2", "-", input=df)
    assert _md_ok(env, "run", "--rm", "--network", "none", "oracle-stdin:2", "cat", "/p") == "piped\n"
    assert oracle.docker_ok("run", "--rm", "--network", "none", "oracle-stdin:2", "cat", "/p") == "piped\n"


def _titles(stderr: str) -> list[str]:
    """The step lines but FROM's: BuildKit shows a base image's step only when it has work to do for it
    (not when an earlier build in the session resolved it), so Docker's FROM lines come and go."""
    return [m.group(1) for m in re.finditer(r"^#\d+ (\[(?!internal).*)$", stderr, re.M)
            if "] FROM " not in m.group(1)]


def _statuses(stderr: str) -> set[str]:
    return {m.group(1) for m in re.finditer(r"^#\d+ (DONE|CACHED)\b", stderr, re.M)}


def test_progress_plain_has_dockers_shape(oracle: Oracle, tmp_path: Path) -> None:
    ctx = _context(tmp_path)
    env = oracle.minidock_env(tmp_path / "root")
    docker = oracle.docker("build", "--network", "host", "--progress", "plain", "-t", "oracle-plain:1", str(ctx))
    md = _md(env, "build", "--progress", "plain", "-t", "oracle-plain:1", str(ctx))
    assert docker.returncode == 0 and md.returncode == 0, md.stderr
    md_err = md.stderr.decode()
    assert md.stdout == b""
    assert sorted(_titles(md_err)) == sorted(_titles(docker.stderr))  # BuildKit may start steps out of order
    internal = re.compile(r"^#\d+ (\[internal\] .*)$", re.M)
    assert set(internal.findall(md_err)) <= set(internal.findall(docker.stderr))  # no "load build context" yet
    assert internal.findall(md_err)[:3] == ["[internal] load build definition from Dockerfile",
                                            "[internal] load .dockerignore",
                                            "[internal] load metadata for docker.io/library/busybox:latest"]
    assert re.search(r"^#\d+ writing image sha256:[0-9a-f]{64} done$", md_err, re.M)
    assert "DONE" in _statuses(md_err) and "DONE" in _statuses(docker.stderr)
    again_docker = oracle.docker("build", "--network", "host", "--progress", "plain", "-t", "oracle-plain:1",
                                 str(ctx))
    again_md = _md(env, "build", "--progress", "plain", "-t", "oracle-plain:1", str(ctx)).stderr.decode()
    assert "CACHED" in _statuses(again_docker.stderr) and "CACHED" in _statuses(again_md)
    df = ("FROM busybox\nARG WHO=world\nENV E=env\nRUN echo \"hello $WHO\" \"$E\" '$E' ${E:-x} > /g\n"
          'RUN ["echo", "$E"]\nFROM scratch AS last\nCOPY --from=0 /g /g\n')
    docker = oracle.docker("build", "--network", "host", "--progress", "plain", "-f", "-", str(ctx), input=df)
    md = _md(env, "build", "--progress", "plain", "-f", "-", str(ctx), input=df.encode())
    assert sorted(_titles(md.stderr.decode())) == sorted(_titles(docker.stderr)) == [
        '[last 1/1] COPY --from=0 /g /g', """[stage-0 2/3] RUN echo "hello world" "env" '$E' env > /g""",
        '[stage-0 3/3] RUN ["echo", "env"]']
    assert "#4 [stage-0 1/3] FROM docker.io/library/busybox\n" in md.stderr.decode()


def test_bad_flags_exit_codes_and_messages(oracle: Oracle, tmp_path: Path) -> None:
    env = oracle.minidock_env(tmp_path / "root")
    (tmp_path / "Dockerfile").write_text("FROM busybox\n")
    docker = oracle.docker("build", "--bogus", str(tmp_path))
    md = _md(env, "build", "--bogus", str(tmp_path))
    assert docker.returncode == md.returncode == 125
    assert md.stderr.decode() == docker.stderr.replace("docker", "minidock") == (
        "unknown flag: --bogus\nSee 'minidock build --help'.\n")
    for bad in (["--progress", "fancy"], ["-o", "type=foo"], ["-o", "type=tar"]):
        docker = oracle.docker("build", "--network", "host", *bad, str(tmp_path))
        md = _md(env, "build", *bad, str(tmp_path))
        assert docker.returncode == md.returncode == 1, (bad, md.stderr)
        assert md.stderr.decode().count("\n") == 1 and bad[1] in md.stderr.decode()
    assert not (tmp_path / "root" / "images.json").exists()


PARENTS = """FROM busybox
COPY --parents x/y/a.txt z/c.txt /p/
COPY --parents ./x/./y/*.txt /pivot/
COPY --exclude=*.log --exclude=**/node_modules src /ex/
"""
SPELLED_OUT = """FROM busybox
COPY x/y/a.txt /p/x/y/
COPY z/c.txt /p/z/
COPY x/y/*.txt /pivot/y/
COPY src /ex/
"""


def test_copy_parents_and_exclude_equal_dockers_spelled_out_copies(oracle: Oracle, tmp_path: Path) -> None:
    env = oracle.minidock_env(tmp_path / "root")
    files = {"x/y/a.txt": "a", "x/y/b.md": "b", "z/c.txt": "c", "src/keep.txt": "k", "src/skip.log": "s",
             "src/sub/deep.log": "d", "src/sub/node_modules/m.js": "m", "src/node_modules/n.js": "n"}
    for name, body in (("md", PARENTS), ("docker", SPELLED_OUT)):
        ctx = tmp_path / name
        for rel, text in files.items():
            (ctx / rel).parent.mkdir(parents=True, exist_ok=True)
            (ctx / rel).write_text(text)
        (ctx / "Dockerfile").write_text(body)
    (tmp_path / "docker" / ".dockerignore").write_text("src/*.log\nsrc/**/node_modules\n")
    oracle.build(tmp_path / "docker", "oracle-parents:1", "-o", f"type=tar,dest={tmp_path / 'docker.tar'}")
    _md_ok(env, "build", "-q", "-o", f"type=tar,dest={tmp_path / 'md.tar'}", str(tmp_path / "md"))
    docker_tree, md_tree = tree_from_tar(tmp_path / "docker.tar"), tree_from_tar(tmp_path / "md.tar")
    assert {"p/x/y/a.txt", "pivot/y/a.txt", "ex/sub/deep.log"} <= set(md_tree)
    assert not {"ex/skip.log", "ex/node_modules", "ex/sub/node_modules", "pivot/x"} & set(md_tree)
    assert diff_trees(docker_tree, md_tree, ignore=()) == []


@pytest.fixture
def http_root(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    root = tmp_path / "www"
    (root / "sub").mkdir(parents=True)
    (root / "f.txt").write_text("served\n")
    os.utime(root / "f.txt", (1_577_934_245, 1_577_934_245))
    (root / "sub" / "index.html").write_text("index\n")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a: None  # type: ignore[method-assign,assignment]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", root
    finally:
        server.shutdown()
        server.server_close()


def test_add_url_equals_dockers(oracle: Oracle, tmp_path: Path, http_root: tuple[str, Path]) -> None:
    url, _ = http_root
    env = oracle.minidock_env(tmp_path / "root")
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(f"FROM busybox\nADD {url}/f.txt /d/\nADD {url}/f.txt?q=1 /e/\n"
                                    f"ADD {url}/sub/ /g/\nADD {url}/f.txt /named\n")
    oracle.build(ctx, "oracle-add:1", "-o", f"type=tar,dest={tmp_path / 'docker.tar'}")
    _md_ok(env, "build", "-q", "-o", f"type=tar,dest={tmp_path / 'md.tar'}", str(ctx))
    docker_tree, md_tree = tree_from_tar(tmp_path / "docker.tar"), tree_from_tar(tmp_path / "md.tar")
    assert md_tree["d/f.txt"].mode == 0o600 and "e/f.txt" in md_tree and "g/sub" in md_tree
    assert diff_trees(docker_tree, md_tree, ignore=()) == []
    with tarfile.open(tmp_path / "docker.tar") as d, tarfile.open(tmp_path / "md.tar") as m:
        for name in ("d/f.txt", "named", "g/sub"):
            assert m.getmember(name).mtime == d.getmember(name).mtime, name


def test_pull_pulls_a_stored_base_again(oracle: Oracle, tmp_path: Path) -> None:
    env = oracle.minidock_env(tmp_path / "root")
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM busybox\nRUN echo pulled > /p\n")
    first = _md(env, "build", "--progress", "plain", "-t", "pull:1", str(ctx))
    assert first.returncode == 0 and "pulling busybox" in first.stderr.decode()  # not in the store yet
    again = _md(env, "build", "--progress", "plain", "-t", "pull:1", str(ctx))
    assert again.returncode == 0 and "pulling" not in again.stderr.decode()
    forced = _md(env, "build", "--progress", "plain", "--pull", "-t", "pull:1", str(ctx))
    err = forced.stderr.decode()
    assert forced.returncode == 0 and err.count("pulling busybox") == 1
    assert re.search(r"^#\d+ CACHED$", err, re.M)  # the same image: the steps stay cached


@pytest.mark.parametrize("example", ["args", "multistage", "heredoc"])
def test_progress_titles_of_the_examples_equal_dockers(oracle: Oracle, tmp_path: Path, example: str) -> None:
    """WORKDIR/COPY/RUN shown with their variables expanded; a base image shared by stages shown once."""
    ctx = Path(__file__).resolve().parents[2] / "Dockerfiles" / example
    if not (ctx / "Dockerfile").is_file():
        pytest.skip(f"no Dockerfiles/{example}")
    env = oracle.minidock_env(tmp_path / "root")
    docker = oracle.docker("build", "--network", "host", "--progress", "plain", str(ctx))
    md = _md(env, "build", "--network", "host", "--progress", "plain", str(ctx))
    if "heredoc" in example and docker.returncode != 0:
        pytest.skip("Docker 20.10's frontend has no heredocs")
    assert docker.returncode == 0 and md.returncode == 0, md.stderr.decode()[-2000:]
    assert sorted(_titles(md.stderr.decode())) == sorted(_titles(docker.stderr))


IGNORED_FLAGS = ["-m", "100m", "--memory-swap", "-1", "--shm-size", "128m", "-c", "512", "--cpu-quota", "50000",
                 "--cpu-period", "100000", "--cpuset-cpus", "0", "--cpuset-mems", "0", "--cgroup-parent", "mdk-x",
                 "--ulimit", "nofile=100:200", "--isolation", "default", "--cache-from", "busybox", "--compress",
                 "--force-rm", "--rm=false", "--disable-content-trust=true", "--no-cache=false"]
REFUSED = [["--memory", "bogus"], ["--memory", "-5"], ["--memory-swap", "x"], ["-c", "x"], ["--cpu-period", "1.5"],
           ["--shm-size", "x"], ["--ulimit", "x"], ["--ulimit", "nofile=a"], ["--ulimit", "foo=1"],
           ["--ulimit", "nofile=2:1"], ["--rm=maybe"], ["--squash"], ["--squash=false"], ["--isolation", "process"],
           ["--security-opt", "seccomp=unconfined"]]


def test_flags_buildkit_ignores_or_refuses_like_docker(oracle: Oracle, tmp_path: Path) -> None:
    """Docker 20.10 + BuildKit accepts the classic builder's flags and ignores them (the same image), checks
    their values with its client's words (exit 125) and refuses --squash, --security-opt and an isolation."""
    env = oracle.minidock_env(tmp_path / "root")
    (tmp_path / "Dockerfile").write_text("FROM busybox\nRUN echo built > /built\n")
    plain = _md_ok(env, "build", "-q", str(tmp_path)).strip()
    assert oracle.docker("build", "-q", "--network", "host", *IGNORED_FLAGS, str(tmp_path)).returncode == 0
    assert _md_ok(env, "build", "-q", *IGNORED_FLAGS, str(tmp_path)).strip() == plain  # nothing changed, cached
    for bad in REFUSED:
        docker = oracle.docker("build", "-q", "--network", "host", *bad, str(tmp_path))
        md = _md(env, "build", "-q", *bad, str(tmp_path))
        want = docker.stderr.replace("Error response from daemon: ", "minidock: ").replace("docker", "minidock")
        assert (md.returncode, md.stderr.decode()) == (docker.returncode, want), bad
