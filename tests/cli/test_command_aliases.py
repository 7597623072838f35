"""Docker's second names of commands: `system info`, `system events`, `builder build` (Docker 20.10 has all
three), and no lean-path shortcut for a verb its group does not have (`image run` is not `run`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.fixtures.cli import md, ok

pytestmark = pytest.mark.root


def test_system_info_and_events_are_info_and_events(busybox_store: Callable[[], Path]) -> None:
    busybox_store()
    ok("run", "--rm", "--network", "none", "busybox", "true")
    fmt = "{{.Containers}} {{.Images}} {{.Driver}}"
    assert ok("system", "info", "-f", fmt) == ok("info", "-f", fmt)
    window = ("--since", "1h", "--until", "0s", "--format", "{{.Type}} {{.Action}}")
    events = ok("system", "events", *window)
    assert events == ok("events", *window) and "container die" in events


def test_builder_build_is_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MINIDOCK_ROOT", str(tmp_path / "root"))
    (tmp_path / "f.txt").write_text("hello\n")
    (tmp_path / "Dockerfile").write_text("FROM scratch\nCOPY f.txt /\n")
    image = ok("builder", "build", "-q", "-t", "aliased:1", str(tmp_path)).strip()
    assert image.startswith("sha256:") and ok("build", "-q", str(tmp_path)).strip() == image


@pytest.mark.parametrize("args", [("image", "run", "x"), ("builder", "run", "x"), ("container", "build", "x")])
def test_a_verb_outside_its_group_runs_nothing(args: tuple[str, ...], tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MINIDOCK_ROOT", str(tmp_path / "root"))
    r = md(*args)
    assert r.returncode != 0 and f"'{args[1]}' is not a minidock command" in r.stderr
    assert "Unable to find image" not in r.stdout + r.stderr
