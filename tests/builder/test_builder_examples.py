"""The example Dockerfiles in Dockerfiles/ build and their images run and print what they say."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from minidock.builder.builder import BuildOptions, build
from minidock.store.store import Store
from tests.builder.conftest import EXAMPLES, run_image
from tests.fixtures.rootfs import HELLO_STDOUT

pytestmark = pytest.mark.root


def _build(store: Store, name: str, tmp_path: Path, **opts: object) -> None:
    ctx = tmp_path / name
    shutil.copytree(EXAMPLES / name, ctx, symlinks=True)
    build(store, BuildOptions(context=ctx, tags=(f"ex-{name}:1",), **opts))  # type: ignore[arg-type]


def test_hello_from_scratch(bstore: Store, tmp_path: Path, hello_binary: Path) -> None:
    binary = hello_binary
    ctx = tmp_path / "hello"
    shutil.copytree(EXAMPLES / "hello", ctx)
    shutil.copy(binary, ctx / "hello")
    (ctx / "junk.txt").write_text("ignored")
    result = build(bstore, BuildOptions(context=ctx, tags=("ex-hello:1",)))
    assert len(result.config.diff_ids) == 1
    assert run_image("ex-hello:1") == (0, HELLO_STDOUT)


def test_httpd(bstore: Store, tmp_path: Path) -> None:
    _build(bstore, "httpd", tmp_path)
    code, out = run_image("ex-httpd:1", "sh", "-c", "id -un; stat -c '%U' /www/index.html; pwd; cat index.html")
    assert code == 0
    assert out.splitlines()[:4] == ["www", "www", "/www", "<!doctype html>"]


def test_multistage(bstore: Store, tmp_path: Path) -> None:
    _build(bstore, "multistage", tmp_path)
    assert run_image("ex-multistage:1") == (0, "hello world from multistage\n")
    assert run_image("ex-multistage:1", "you") == (0, "hello you from multistage\n")


def test_heredoc(bstore: Store, tmp_path: Path) -> None:
    _build(bstore, "heredoc", tmp_path, build_args=(("GREETING", "hey"),))
    assert run_image("ex-heredoc:1") == (0, "built by a heredoc\nsecond line\ngreeting=hey\nkept as $GREETING\n")


def test_args_and_dockerignore(bstore: Store, tmp_path: Path) -> None:
    _build(bstore, "args", tmp_path, build_args=(("VERSION", "2.5"),))
    code, out = run_image("ex-args:1")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "version 2.5 in /opt/app"
    assert "keep.secret" in lines and "app.txt" in lines
    assert "password.secret" not in lines and "tmp" not in lines
