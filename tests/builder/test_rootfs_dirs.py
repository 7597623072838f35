"""LayeredFS.dirs_of: the layer directories that make up one directory of a view (overlay lowers)."""

from __future__ import annotations

from pathlib import Path

from minidock.builder.rootfs import LayeredFS


def test_dirs_of_lists_each_layer_holding_the_directory_until_one_hides_the_rest(tmp_path: Path) -> None:
    top, mid, low = (tmp_path / n for n in ("top", "mid", "low"))
    (top / "a" / "b").mkdir(parents=True)
    (mid / "a").mkdir(parents=True)
    (mid / "a" / "c").write_text("file hides b below")
    (low / "a" / "b").mkdir(parents=True)
    view = LayeredFS([top, mid, low])
    assert view.dirs_of("/a") == [str(top / "a"), str(mid / "a"), str(low / "a")]
    assert view.dirs_of("/a/b") == [str(top / "a" / "b"), str(low / "a" / "b")]
    (mid / "a" / "b").write_text("a file")
    assert view.dirs_of("/a/b") == [str(top / "a" / "b")]
    assert view.dirs_of("/a/c") == [] and view.dirs_of("/nope") == []
