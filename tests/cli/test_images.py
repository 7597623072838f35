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
    out = capsys.readouterr().out.splitlines()
    assert f"Deleted: {image_id}" in out and out[-1].startswith("Deleted: sha256:")  # then the freed layers
    assert main(["inspect", "alpine"]) == 1
    assert capsys.readouterr().err == "Error: No such object: alpine\n"  # Docker's words: containers and images
    assert main(["image", "inspect", "alpine"]) == 1
    assert capsys.readouterr().err == "Error: No such image: alpine\n"


def test_system_check_exits_1_on_problems(store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    add_image(store, "a:1", [{"f": b"1"}], tmp_path)
    assert main(["system", "check"]) == 0
    Path(store.paths.tmp, "extract-leftover").mkdir()
    assert main(["system", "check"]) == 1
    assert "tmp leftover extract-leftover" in capsys.readouterr().out
    assert main(["system", "check", "--repair"]) == 0
    assert main(["system", "df"]) == 0
    assert capsys.readouterr().out.splitlines()[-4].split()[:3] == ["Images", "1", "0"]


def test_image_prune_asks_first_and_a_removes_every_unused_image(
        store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Docker's prompt and output: no (or EOF) keeps everything; dangling only without -a; -a takes every
    image no container uses, names first (`untagged:`), then the image id and its layers (`deleted:`)."""
    import io

    from minidock.store.containers import ContainerRecord, ContainerStore

    kept = add_image(store, "docker.io/library/used:1", [{"u": b"u"}], tmp_path)
    tagged = add_image(store, "docker.io/library/alpine:latest", [{"f": b"x" * 2000}], tmp_path)
    dangling = add_image(store, "x:1", [{"d": b"d"}], tmp_path)
    dangling_id = store.images.image_id(dangling)
    store.images.remove(dangling.name)
    store.images.put(dangling._replace(name=f"<none>@{dangling.target.digest}"))
    cs = ContainerStore(store.paths)
    cs.create(ContainerRecord(id=cs.new_id(), name="cc", image="used:1", image_id=str(store.images.image_id(kept)),
                              created="2024-01-01T00:00:00Z"))
    monkeypatch.setattr("sys.stdin", io.StringIO("n\n"))
    assert main(["image", "prune", "-a"]) == 0
    assert capsys.readouterr().out == ("WARNING! This will remove all images without at least one container "
                                       "associated to them.\nAre you sure you want to continue? [y/N] "
                                       "Total reclaimed space: 0B\n")
    assert len(store.images.list()) == 3
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))
    assert main(["image", "prune"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("WARNING! This will remove all dangling images.\nAre you sure you want to continue? "
                          "[y/N] Deleted Images:\n") and f"deleted: {dangling_id}\n" in out
    assert [r.name for r in store.images.list()] == [tagged.name, kept.name]
    assert main(["image", "prune", "-a", "-f"]) == 0
    lines = capsys.readouterr().out.splitlines()
    image_id = store.images.image_id(kept)
    assert lines[:4] == ["Deleted Images:", "untagged: alpine:latest", f"untagged: alpine@{tagged.target.digest}",
                         f"deleted: {lines[3].split()[1]}"]
    assert lines[4].startswith("deleted: sha256:") and lines[-2] == "" and lines[-1].endswith("kB")
    assert [r.name for r in store.images.list()] == [kept.name] and store.images.image_id(kept) == image_id
    assert main(["system", "check"]) == 0


def test_system_prune_a_prompt(store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                               monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    add_image(store, "docker.io/library/alpine:latest", [{"f": b"x"}], tmp_path)
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert main(["system", "prune", "-a"]) == 0
    assert capsys.readouterr().out == (
        "WARNING! This will remove:\n  - all stopped containers\n  - all networks not used by at least one "
        "container\n  - all images without at least one container associated to them\n  - all build cache\n\n"
        "Are you sure you want to continue? [y/N] ")
    assert len(store.images.list()) == 1
    assert main(["system", "prune", "-a", "-f"]) == 0
    out = capsys.readouterr().out
    assert "Deleted Images:\nuntagged: alpine:latest\n" in out and "\n\nTotal reclaimed space: " in out
    assert store.images.list() == []


def test_the_quick_image_list_is_the_engines(store: Store, tmp_path: Path) -> None:
    from minidock.engine import imageglance
    from minidock.engine.images import list_images, tag_image

    add_image(store, "docker.io/library/alpine:latest", [{"f": b"x" * 2000}, {"g": b"y"}], tmp_path)
    add_image(store, "docker.io/me/app:1", [{"h": b"z" * 10}], tmp_path)
    tag_image(store, "alpine", "localhost:5000/team/alpine:2")

    def rows(views: list) -> list[tuple]:  # type: ignore[type-arg]
        return [(v.repository, v.tag, str(v.image_id), str(v.digest), v.created, v.size) for v in views]
    engine = rows(list_images(store))  # measures and keeps the snapshot sizes the quick reader uses
    assert rows(imageglance.images(str(store.paths.root)) or []) == engine and len(engine) == 3
    (store.paths.root / "images.journal").write_bytes(b"")  # a stale index: the quick reader steps aside
    assert imageglance.images(str(store.paths.root)) is None


def test_the_quick_images_repository_is_the_engines(store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    from minidock.cli.listing import images
    from minidock.engine import imageglance
    from minidock.engine.images import list_images, tag_image

    add_image(store, "docker.io/library/alpine:latest", [{"f": b"x" * 2000}], tmp_path)
    add_image(store, "docker.io/me/app:1", [{"h": b"z" * 10}], tmp_path)
    tag_image(store, "alpine", "localhost:5000/team/alpine:2")
    tag_image(store, "alpine", "alpine:3")
    list_images(store)  # measures and keeps the snapshot sizes the quick reader uses
    for repo in ("alpine", "alpine:3", "me/app:1", "me/app:2", "localhost:5000/team/alpine", "app", "<none>"):
        images(repository=repo)
        quick = capsys.readouterr().out
        with monkeypatch.context() as m:
            m.setattr(imageglance, "images", lambda store=None: None)
            images(repository=repo)
        assert quick == capsys.readouterr().out, repo
        assert len(quick.splitlines()) == {"alpine": 3, "alpine:3": 2, "me/app:1": 2}.get(repo, 1 + (repo[0] == "l"))
