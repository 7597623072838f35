"""remove_tree: the store's way to delete a tree (os.walk bottom-up, shutil only as a fallback)."""

from __future__ import annotations

from pathlib import Path


def test_remove_tree_removes_nested_files_links_and_unwritable_dirs(tmp_path: Path) -> None:
    from minidock.store.atomic import remove_tree

    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep").write_text("x")
    top = tmp_path / "tree"
    (top / "a" / "b").mkdir(parents=True)
    (top / "a" / "b" / "f").write_text("data")
    (top / "link-to-outside").symlink_to(outside)
    (top / "work").mkdir(mode=0)  # like overlay's work/work: mode 000
    remove_tree(top)
    assert not top.exists()
    assert (outside / "keep").read_text() == "x"  # a link is removed, never followed
    remove_tree(top)  # already gone: no error


def test_remove_tree_of_a_link_removes_only_the_link(tmp_path: Path) -> None:
    from minidock.store.atomic import remove_tree

    target = tmp_path / "target"
    target.mkdir()
    (target / "f").write_text("x")
    (tmp_path / "l").symlink_to(target)
    remove_tree(tmp_path / "l")
    assert not (tmp_path / "l").exists() and (target / "f").exists()
