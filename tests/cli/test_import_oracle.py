"""`import` as Docker 20.10 has it: REPOSITORY optional (an untagged image), --platform checked by its
daemon and then not used (the image is the host's platform), and `image inspect`'s Variant left out of
the JSON when empty but "" to a template."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from tests.fixtures.oracle import Both, Oracle

pytestmark = [pytest.mark.root, pytest.mark.registry]


@pytest.fixture
def both(oracle: Oracle, tmp_path: Path) -> Both:
    return Both(oracle, tmp_path / "root")


def _rootfs(tmp_path: Path) -> Path:
    path = tmp_path / "rootfs.tar"
    with tarfile.open(path, "w") as tar:
        data = b"imported\n"
        info = tarfile.TarInfo("hello.txt")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return path


def test_import_like_docker(both: Both, tmp_path: Path) -> None:
    tar = str(_rootfs(tmp_path))
    d, m = both.both("import", tar)
    assert d.returncode == m.returncode == 0 and m.stdout.startswith("sha256:") and len(m.stdout.strip()) == 71
    listed = both.md("images", "-a", "--no-trunc", "--format", "{{.Repository}} {{.Tag}} {{.ID}}").stdout
    assert f"<none> <none> {m.stdout.strip()}" in listed.splitlines()
    tag = "minidock-test/imported:arm"
    try:
        d, m = both.both("import", "--platform", "linux/arm64", tar, tag)
        assert d.returncode == m.returncode == 0, (d.stderr, m.stderr)
        both.same("image", "inspect", "-f", "{{.Os}}/{{.Architecture}}/{{.Variant}}", tag)  # linux/amd64/
        dj = json.loads(both.oracle.docker_ok("image", "inspect", tag))[0]
        mj = json.loads(both.md("image", "inspect", tag).stdout)[0]
        assert "Variant" not in dj and "Variant" not in mj
        for bad in ("bogus", "windows/amd64"):
            d, m = both.both("import", "--platform", bad, tar, tag)
            assert (m.returncode, m.stderr.removeprefix("minidock: ")) == \
                (d.returncode, d.stderr.removeprefix("Error response from daemon: ")), bad
    finally:
        both.oracle.docker("rmi", tag)
