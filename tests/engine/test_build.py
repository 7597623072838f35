"""Engine and CLI for build, history and commit, against a store holding busybox (no registry)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

from minidock.engine import build as eng
from minidock.engine.containers import RunIO, run_foreground
from minidock.engine.request import RunRequest
from minidock.errors import UsageError
from tests.fixtures.cli import ok

pytestmark = pytest.mark.root

DOCKERFILE = """FROM busybox
ARG WHO=world
RUN echo "hello $WHO" > /greeting
COPY note.txt /note.txt
CMD ["cat", "/greeting", "/note.txt"]
"""


def _ctx(tmp_path: Path) -> Path:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(DOCKERFILE)
    (ctx / "note.txt").write_text("a note\n")
    return ctx


def _cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "minidock.cli.main", *args], input=stdin, capture_output=True,
                          text=True, env=dict(os.environ), timeout=120, check=False)


def _run(image: str, *args: str) -> str:
    with tempfile.TemporaryFile() as out:
        run_foreground(RunRequest(image=image, args=args, rm=True, network="none"),
                       RunIO(stdout=out.fileno(), stderr=out.fileno()))
        out.seek(0)
        return out.read().decode()


def test_build_request_options(tmp_path: Path) -> None:
    req = eng.BuildRequest(context=str(tmp_path), file="x/Dockerfile", build_args=("A=1", "HOME", "UNSET"),
                           labels=("l=v",))
    opts = eng.options_of(req, {"HOME": "/root", "SOURCE_DATE_EPOCH": "42"})
    assert opts.build_args == (("A", "1"), ("HOME", "/root"))
    assert opts.labels == (("l", "v"),) and opts.source_date_epoch == 42
    assert opts.dockerfile == Path("x/Dockerfile")
    with pytest.raises(UsageError, match="SOURCE_DATE_EPOCH"):
        eng.options_of(req, {"SOURCE_DATE_EPOCH": "yesterday"})


def test_build_history_and_labels(busybox_store: Callable[[], Path], tmp_path: Path) -> None:
    busybox_store()
    result = eng.build_image(eng.BuildRequest(context=str(_ctx(tmp_path)), tags=("app:1", "app:latest"),
                                              build_args=("WHO=engine",), labels=("team=build",)))
    assert result.names == ("docker.io/library/app:1", "docker.io/library/app:latest")
    assert result.config.config.labels == {"team": "build"}
    assert _run("app:1") == "hello engine\na note\n"
    rows = eng.image_history("app:1")
    assert rows[0].image == str(result.image_id)
    assert [r.created_by for r in rows[:4]] == [
        'CMD ["cat","/greeting","/note.txt"]', "COPY note.txt /note.txt # buildkit",
        'RUN |1 WHO=engine /bin/sh -c echo "hello $WHO" > /greeting # buildkit', "ARG WHO=world"]
    assert rows[1].size == len("a note\n") and rows[2].size == len("hello engine\n")
    assert rows[0].empty_layer and rows[0].size == 0
    assert rows[-1].image == "<missing>" and rows[-1].size > 1_000_000


def test_verify_reproducible(busybox_store: Callable[[], Path], tmp_path: Path) -> None:
    busybox_store()
    notes: list[str] = []
    result = eng.build_image(eng.BuildRequest(context=str(_ctx(tmp_path)), tags=("repro:1",),
                                              verify_reproducible=True),
                             lambda e: notes.append(e.text) if isinstance(e, eng.BuildNote) else None)
    assert f"reproducible: {result.manifest.digest}" in notes
    assert result.config.created == "1970-01-01T00:00:00Z"


def test_commit_container_changes(busybox_store: Callable[[], Path], tmp_path: Path) -> None:
    busybox_store()
    with tempfile.TemporaryFile() as out:
        run_foreground(RunRequest(image="busybox", args=("sh", "-c", "echo committed > /state; rm /bin/vi"),
                                  name="tocommit", network="none", env=("RUNENV=1",)),
                       RunIO(stdout=out.fileno(), stderr=out.fileno()))
    from minidock.engine.commit import commit_container

    image_id = commit_container("tocommit", "snap:1", comment="saved", changes=("LABEL team=x", "EXPOSE 80"))
    cfg = json.loads(ok("image", "inspect", "snap:1"))[0]["Config"]
    assert cfg["Cmd"] == ["sh", "-c", "echo committed > /state; rm /bin/vi"]  # Docker: the container's command
    assert "RUNENV=1" in cfg["Env"] and cfg["Labels"] == {"team": "x"} and "80/tcp" in cfg["ExposedPorts"]
    assert _run("snap:1", "sh", "-c", "cat /state; ls /bin/vi 2>&1 | wc -l") == "committed\n1\n"
    rows = eng.image_history("snap:1")
    assert rows[0].image == str(image_id) and rows[0].comment == "saved"
    assert rows[0].created_by == "sh -c echo committed > /state; rm /bin/vi"


def test_cli_build_history_and_errors(busybox_store: Callable[[], Path], tmp_path: Path) -> None:
    busybox_store()
    ctx = _ctx(tmp_path)
    first = _cli("build", "-t", "cli:1", str(ctx))
    assert first.returncode == 0, first.stderr
    assert first.stdout == ""  # BuildKit's progress goes to stderr (plain when it is not a terminal)
    assert "#5 [2/3] RUN echo \"hello world\" > /greeting\n" in first.stderr  # shown as BuildKit: ARGs expanded
    assert first.stderr.startswith("#1 [internal] load build definition from Dockerfile\n")
    assert "#3 [internal] load metadata for docker.io/library/busybox:latest\n" in first.stderr
    assert "#7 naming to docker.io/library/cli:1 done\n" in first.stderr
    again = _cli("build", "-q", "-t", "cli:1", str(ctx))
    assert again.returncode == 0 and again.stdout.strip().startswith("sha256:") and again.stderr == ""
    cached = _cli("build", "-t", "cli:1", str(ctx))
    assert cached.stderr.count("CACHED") == 2
    hist = _cli("history", "cli:1")
    assert hist.returncode == 0 and hist.stdout.splitlines()[0].split() == [
        "IMAGE", "CREATED", "CREATED", "BY", "SIZE", "COMMENT"]
    quiet = _cli("build", "-q", "-f", "-", str(ctx), stdin="FROM busybox\nRUN echo said && exit 5\n")
    assert quiet.returncode == 1 and quiet.stdout == ""  # -q shows the progress only when the build fails
    assert "#5 [2/2] RUN echo said && exit 5\n" in quiet.stderr and re.search(r"^#5 [0-9.]+ said$", quiet.stderr, re.M)
    assert quiet.stderr.endswith("\nminidock: build: step 2/2 RUN echo said && exit 5: exit code 5\n")
    stdin = _cli("build", "-f", "-", "-t", "cli:2", str(ctx), stdin="FROM busybox\nRUN exit 4\n")
    assert stdin.returncode != 0
    assert stdin.stderr.strip().splitlines()[-1] == "minidock: build: step 2/2 RUN exit 4: exit code 4"
    assert "#5 ERROR: build: step 2/2 RUN exit 4: exit code 4\n" in stdin.stderr
    bad = _cli("build", "-f", "-", str(ctx), stdin="FROM busybox\nNOPE x\n")
    assert bad.returncode == 1 and bad.stderr.strip() == "minidock: Dockerfile:2: unknown instruction: NOPE"


def test_parse_secret(tmp_path: Path) -> None:
    f = tmp_path / "tok"
    f.write_text("v")
    assert eng.parse_secret(f"id=a,src={f}", {}) == eng.Secret("a", src=str(f))
    assert eng.parse_secret("id=b,env=TOKEN", {}) == eng.Secret("b", env="TOKEN")
    assert eng.parse_secret("id=TOKEN", {"TOKEN": "x"}) == eng.Secret("TOKEN", env="TOKEN")
    with pytest.raises(UsageError, match="no such file"):
        eng.parse_secret(f"id=a,src={tmp_path / 'missing'}", {})
    with pytest.raises(UsageError, match="want id=ID"):
        eng.parse_secret("id=a,file=x", {})


def test_untagged_build_is_listed_runnable_by_id_and_tag_drops_the_placeholder(
        busybox_store: Callable[[], Path], tmp_path: Path) -> None:
    from minidock.engine.images import inspect_image, list_images, tag_image
    from minidock.engine.lookup import open_store

    busybox_store()
    ctx = _ctx(tmp_path)
    result = eng.build_image(eng.BuildRequest(context=str(ctx)))
    store = open_store()
    rows = [r for r in list_images(store) if r.image_id == result.image_id]
    assert [(r.repository, r.tag) for r in rows] == [("<none>", "<none>")]
    assert inspect_image(store, result.image_id.hex[:12]).repo_tags == ()
    assert _run(result.image_id.hex[:12]) == "hello world\na note\n"
    tag_image(store, result.image_id.hex[:12], "named:1")
    assert not [r for r in store.images.list() if r.name.startswith("<none>@")]
    eng.build_image(eng.BuildRequest(context=str(ctx)))  # the same image again: it already has a name
    assert not [r for r in store.images.list() if r.name.startswith("<none>@")]


def test_builder_prune_and_system_prune(busybox_store: Callable[[], Path], tmp_path: Path) -> None:
    from minidock.builder.runmounts import cache_dir
    from minidock.engine.lookup import open_store

    busybox_store()
    store = open_store()
    ctx = _ctx(tmp_path)
    (ctx / "Dockerfile").write_text("FROM busybox\nRUN --mount=type=cache,target=/c echo x > /c/f; echo > /kept\n")
    eng.build_image(eng.BuildRequest(context=str(ctx), tags=("keep:1",)))
    (ctx / "Dockerfile").write_text("FROM busybox\nRUN echo > /dangling\n")
    dangling = eng.build_image(eng.BuildRequest(context=str(ctx)))
    (ctx / "Dockerfile").write_text("FROM busybox\nRUN echo > /a\nRUN echo > /b\n")
    eng.build_image(eng.BuildRequest(context=str(ctx), tags=("gone:1",)))
    from minidock.engine.images import remove_images

    remove_images(store, ["gone:1"])
    with tempfile.TemporaryFile() as out:
        run_foreground(RunRequest(image="busybox", args=("true",), name="stopped", network="none"),
                       RunIO(stdout=out.fileno(), stderr=out.fileno()))
    from minidock.engine.sysprune import system_prune

    report = system_prune()
    assert len(report.containers) == 1 and report.images == [dangling.image_id]
    assert report.cache.entries >= 3 and len(report.cache.gc.snapshots) == 3  # /dangling, /a and /b
    assert _run("keep:1", "cat", "/c/f", "/kept") == "cat: can't open '/c/f': No such file or directory\n\n"
    assert cache_dir(store.paths.root, "/c").joinpath("f").read_text() == "x\n"
    cli = _cli("builder", "prune", "-f", "--all")
    assert cli.returncode == 0 and cli.stdout.endswith("B\n") and "Total reclaimed space: " in cli.stdout, cli.stderr
    assert not cache_dir(store.paths.root, "/c").exists()
    assert _run("keep:1", "cat", "/kept") == "\n"


def test_cli_build_with_a_secret(busybox_store: Callable[[], Path], tmp_path: Path) -> None:
    busybox_store()
    secret = tmp_path / "s"
    secret.write_text("hidden\n")
    df = "FROM busybox\nRUN --mount=type=secret,id=s,required=true cat /run/secrets/s\n"
    ok = _cli("build", "-f", "-", "--secret", f"id=s,src={secret}", str(_ctx(tmp_path)), stdin=df)
    assert ok.returncode == 0 and "hidden\n" in ok.stderr, ok.stderr
    bad = _cli("build", "--no-cache", "-f", "-", str(tmp_path / "ctx"), stdin=df)
    assert bad.returncode != 0 and "secret s: not provided" in bad.stderr


def test_build_arg_values_stay_out_of_arg_history_and_the_cache_file(busybox_store: Callable[[], Path],
                                                                      tmp_path: Path) -> None:
    """BuildKit records `ARG NAME[=dockerfile default]` and keeps values only in RUN's `|N K=V` prefix;
    the cache file holds no value in clear and is 0600."""
    root = busybox_store()
    ctx = _ctx(tmp_path)
    (ctx / "Dockerfile").write_text("FROM busybox\nARG TOKEN\nARG WHO=world\nRUN echo $TOKEN $WHO > /x\n")
    eng.build_image(eng.BuildRequest(context=str(ctx), tags=("argh:1",), build_args=("TOKEN=s3cr3t-v4lue", "WHO=me")))
    by = [r.created_by for r in eng.image_history("argh:1")[:3]]
    assert by == ["RUN |2 TOKEN=s3cr3t-v4lue WHO=me /bin/sh -c echo $TOKEN $WHO > /x # buildkit",
                  "ARG WHO=world", "ARG TOKEN"]
    cache = root / "build-cache.json"
    assert "s3cr3t" not in cache.read_text() and (cache.stat().st_mode & 0o777) == 0o600
