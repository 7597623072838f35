"""The store-only image commands through the real CLI entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from minidock.cli.main import main
from minidock.paths import Paths
from minidock.store.store import Store
from tests.store.imagetools import add_image


@pytest.fixture
def store(store_root: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    monkeypatch.setenv("MINIDOCK_ROOT", str(store_root))
    return Store.open(Paths(store_root))


def test_images_tag_inspect_rmi(store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rec = add_image(store, "docker.io/library/alpine:latest", [{"f": b"x" * 2000}], tmp_path)
    image_id = store.images.image_id(rec)
    assert main(["tag", "alpine", "me/alpine:2"]) == 0
    assert main(["images"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"]
    assert lines[1].split()[:3] == ["alpine", "latest", image_id.short] and lines[1].endswith("2kB")
    assert lines[2].split()[:2] == ["me/alpine", "2"]
    assert main(["images", "-q"]) == 0
    assert capsys.readouterr().out.split() == [image_id.short] * 2
    assert main(["images", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[0])["ID"] == image_id.short
    assert main(["inspect", "me/alpine:2"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["RepoTags"] == ["alpine:latest", "me/alpine:2"]
    assert main(["rmi", "me/alpine:2", "alpine"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == f"Deleted: {image_id}"
    assert main(["inspect", "alpine"]) == 125
    assert "no such object: alpine" in capsys.readouterr().err  # Docker's words: containers and images
    assert main(["image", "inspect", "alpine"]) == 125
    assert "no such image: alpine" in capsys.readouterr().err


def test_system_check_exits_1_on_problems(store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    add_image(store, "a:1", [{"f": b"1"}], tmp_path)
    assert main(["system", "check"]) == 0
    (store.paths.tmp / "extract-leftover").mkdir()
    assert main(["system", "check"]) == 1
    assert "tmp leftover extract-leftover" in capsys.readouterr().out
    assert main(["system", "check", "--repair"]) == 0
    assert main(["system", "df"]) == 0
    assert capsys.readouterr().out.splitlines()[-4].split()[:3] == ["Images", "1", "0"]
