"""Build context, COPY sources and the layered rootfs view (no root needed but for whiteouts)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from minidock.builder.context import (
    ContextTree,
    LayerTree,
    SourceItem,
    clean_source,
    expand_sources,
    file_digest,
    hash_items,
)
from minidock.builder.copy import absolute_dest, parse_chmod
from minidock.builder.rootfs import LayeredFS
from minidock.errors import BuildError


def _files(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)


@pytest.fixture
def ctx(tmp_path: Path) -> Path:
    root = tmp_path / "ctx"
    _files(root, {"a.txt": "a", "b.txt": "b", "c.md": "c", "src/x.py": "x", "src/y.pyc": "y",
                  "secret.key": "k", "Dockerfile": "FROM scratch\n"})
    return root


def test_clean_source_refuses_to_leave_the_context() -> None:
    assert clean_source("./a/../b", True) == "b"
    assert clean_source("/abs/path", True) == "abs/path"
    assert clean_source(".", True) == ""
    for bad in ("..", "../x", "a/../../x"):
        with pytest.raises(BuildError, match="outside the build context"):
            clean_source(bad, True)
    assert clean_source("../../etc", False) == "etc"  # inside a stage, / is the limit


def test_globs_and_missing_sources(ctx: Path) -> None:
    tree = ContextTree.open(ctx)
    assert [i.rel for i in expand_sources(tree, ("*.txt",), True)] == ["a.txt", "b.txt"]
    assert [i.rel for i in expand_sources(tree, ("src/*.py", "c.md"), True)] == ["src/x.py", "c.md"]
    assert [i.name for i in expand_sources(tree, ("src",), True)] == ["src"]
    with pytest.raises(BuildError, match=r"nope\.txt: no such file or directory in the build context"):
        expand_sources(tree, ("nope.txt",), True)
    with pytest.raises(BuildError, match="no such file"):
        expand_sources(tree, ("*.none",), True)


def test_dockerignore_hides_paths(ctx: Path) -> None:
    (ctx / ".dockerignore").write_text("*.key\nsrc/*.pyc\n")
    tree = ContextTree.open(ctx)
    assert tree.lstat("secret.key") is None and tree.lstat("a.txt") is not None
    assert tree.listdir("src") == ["x.py"]
    with pytest.raises(BuildError):
        expand_sources(tree, ("secret.key",), True)


def test_dockerfile_specific_ignore_file_wins(ctx: Path) -> None:
    (ctx / ".dockerignore").write_text("a.txt\n")
    (ctx / "Dockerfile.dockerignore").write_text("b.txt\n")
    tree = ContextTree.open(ctx, ctx / "Dockerfile")
    assert tree.lstat("a.txt") is not None and tree.lstat("b.txt") is None


def test_symlinks_in_the_source_path_stay_inside(ctx: Path) -> None:
    os.symlink("/etc", ctx / "escape")
    os.symlink("src", ctx / "alias")
    tree = ContextTree.open(ctx)
    assert [i.rel for i in expand_sources(tree, ("alias/x.py",), True)] == ["src/x.py"]
    with pytest.raises(BuildError, match="no such file"):
        expand_sources(tree, ("escape/passwd",), True)  # /etc inside the context, not the host's


def test_hash_changes_with_content_mode_and_names(ctx: Path) -> None:
    tree = ContextTree.open(ctx)
    items = [SourceItem("src", "src")]
    first = hash_items(tree, items)
    assert hash_items(tree, items) == first
    (ctx / "src/x.py").write_text("changed")
    second = hash_items(tree, items)
    assert second != first
    os.chmod(ctx / "src/x.py", 0o755)
    third = hash_items(tree, items)
    assert third != second
    (ctx / "src/new").write_text("")
    assert hash_items(tree, items) != third
    os.utime(ctx / "src/new", (0, 0))  # mtimes do not matter
    assert hash_items(tree, items) == hash_items(tree, items)


def test_layered_view_merges_layers(tmp_path: Path) -> None:
    lower, upper = tmp_path / "lower", tmp_path / "upper"
    _files(lower, {"etc/passwd": "root:x:0:0::/root:/bin/sh\n", "etc/old": "o", "data/a": "a"})
    _files(upper, {"etc/new": "n", "data/b": "b"})
    os.symlink("/data", lower / "link")
    view = LayeredFS([upper, lower])
    assert view.listdir("/etc") == ["new", "old", "passwd"]
    assert view.listdir("/link") == ["a", "b"]
    assert view.is_dir("/link") and view.canonical("/link/a") == "/data/a"
    assert view.read_text("/etc/passwd").startswith("root")
    assert view.resolve("/missing") is None
    tree = LayerTree(view)
    assert [i.rel for i in expand_sources(tree, ("/data/*",), False)] == ["data/a", "data/b"]


@pytest.mark.root
def test_layered_view_honours_whiteouts(tmp_path: Path) -> None:
    lower, upper = tmp_path / "lower", tmp_path / "upper"
    _files(lower, {"etc/gone": "g", "etc/kept": "k", "opq/old": "o"})
    (upper / "etc").mkdir(parents=True)
    os.mknod(upper / "etc/gone", 0o600 | 0o020000, os.makedev(0, 0))
    _files(upper, {"opq/new": "n"})
    os.setxattr(upper / "opq", "trusted.overlay.opaque", b"y")
    view = LayeredFS([upper, lower])
    assert view.listdir("/etc") == ["kept"]
    assert view.resolve("/etc/gone") is None
    assert view.listdir("/opq") == ["new"]


def test_dest_and_chmod_rules() -> None:
    assert absolute_dest("app/", "/srv") == "/srv/app/"
    assert absolute_dest(".", "/srv") == "/srv/"
    assert absolute_dest("/x/../y", "/") == "/y"
    assert absolute_dest("f", "") == "/f"
    assert parse_chmod("755") == 0o755 and parse_chmod("") is None
    with pytest.raises(BuildError):
        parse_chmod("u+x")


def test_file_digest_is_sha256(tmp_path: Path) -> None:
    data = os.urandom(100_000)
    want = hashlib.sha256(data).hexdigest()
    (tmp_path / "f").write_bytes(data)
    assert file_digest(str(tmp_path / "f")) == want
