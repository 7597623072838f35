"""Mount stubs: which paths a mount creates, and removing them (and bare copy-ups) from an upper."""

from __future__ import annotations

import os
from pathlib import Path

from minidock.builder.rootfs import LayeredFS
from minidock.builder.stubs import find_stubs, remove_stubs


def _tree(root: Path, dirs: list[str], files: list[str]) -> Path:
    for d in dirs:
        (root / d).mkdir(parents=True, exist_ok=True)
    for f in files:
        (root / f).parent.mkdir(parents=True, exist_ok=True)
        (root / f).write_text("x")
    return root


def test_find_stubs_lists_missing_components_and_their_existing_parent(tmp_path: Path) -> None:
    lower = _tree(tmp_path / "lower", ["etc", "usr"], ["etc/passwd"])
    os.symlink("usr", lower / "lnk")
    stubs = find_stubs(LayeredFS([lower]), ["/etc/hosts", "/etc/passwd", "/run/secrets/a", "/lnk/x/y"])
    assert stubs.created == ("/etc/hosts", "/run", "/run/secrets", "/run/secrets/a", "/usr/x", "/usr/x/y")
    assert stubs.parents == ("/etc", "/usr")


def test_remove_stubs_keeps_what_the_command_wrote(tmp_path: Path) -> None:
    lower = _tree(tmp_path / "lower", ["etc", "var"], ["etc/passwd"])
    view = LayeredFS([lower])
    stubs = find_stubs(view, ["/etc/hosts", "/run/secrets/a", "/var/cache/x"])
    upper = _tree(tmp_path / "upper", ["etc", "run/secrets/a", "var/cache/x"], ["var/cache/kept"])
    (upper / "etc" / "hosts").touch()
    os.chmod(upper / "etc", os.stat(lower / "etc").st_mode)
    remove_stubs(upper, view, stubs)
    assert sorted(str(p.relative_to(upper)) for p in upper.rglob("*")) == ["var", "var/cache", "var/cache/kept"]


def test_remove_stubs_keeps_a_non_empty_stub_and_a_changed_parent(tmp_path: Path) -> None:
    lower = _tree(tmp_path / "lower", ["etc"], [])
    view = LayeredFS([lower])
    stubs = find_stubs(view, ["/etc/hosts", "/data"])
    upper = _tree(tmp_path / "upper", ["etc", "data"], ["data/f"])
    (upper / "etc" / "hosts").touch()
    os.chmod(upper / "etc", 0o700)
    os.chmod(lower / "etc", 0o755)
    remove_stubs(upper, view, stubs)
    assert sorted(str(p.relative_to(upper)) for p in upper.rglob("*")) == ["data", "data/f", "etc"]
