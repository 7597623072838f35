"""ADD's archive unpacking: kept like `tar -x` as root, never written outside its directory."""

from __future__ import annotations

import io
import os
import stat
import tarfile
from pathlib import Path

import pytest

from minidock.builder.add import extract_archive
from minidock.errors import BuildError


def _archive(path: Path, members: list[tuple[tarfile.TarInfo, bytes]]) -> str:
    with tarfile.open(path, "w") as tf:
        for info, data in members:
            info.size = len(data) if info.isreg() else 0
            tf.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return str(path)


def _file(name: str, mode: int = 0o644) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.mode = mode
    return info, b"data"


def _link(name: str, target: str, kind: bytes, mode: int = 0o777) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.mode = kind, target, mode
    return info, b""


def test_modes_setuid_and_leading_slashes_are_kept_like_tar(tmp_path: Path) -> None:
    dest = tmp_path / "out"
    dest.mkdir()
    src = _archive(tmp_path / "a.tar", [_file("/abs.txt"), _file("bin/su", 0o4755),
                                        _link("bin/sh", "/bin/busybox", tarfile.SYMTYPE),
                                        _link("bin/su2", "bin/su", tarfile.LNKTYPE, 0o4755)])
    extract_archive(src, "tar", dest)
    assert (dest / "abs.txt").read_bytes() == b"data"  # "/abs.txt" lands inside, like tar -x
    assert stat.S_IMODE(os.stat(dest / "bin/su").st_mode) == 0o4755
    assert os.readlink(dest / "bin/sh") == "/bin/busybox"  # an absolute symlink is fine in a rootfs
    assert os.stat(dest / "bin/su2").st_ino == os.stat(dest / "bin/su").st_ino


@pytest.mark.parametrize("members", [
    [_file("../evil")],
    [_file("a/../../evil")],
    [_link("etc", "/etc", tarfile.SYMTYPE), _file("etc/minidock-test-evil")],  # through a symlink it made
    [_link("up", "..", tarfile.SYMTYPE), _file("up/evil")],
    [_link("pw", "../../../../etc/passwd", tarfile.LNKTYPE)],  # a hard link to a file outside
])
def test_members_leaving_the_directory_are_refused(tmp_path: Path,
                                                   members: list[tuple[tarfile.TarInfo, bytes]]) -> None:
    dest = tmp_path / "out"
    dest.mkdir()
    src = _archive(tmp_path / "bad.tar", members)
    with pytest.raises(BuildError, match=r"ADD bad.tar: member .* would be written outside the destination"):
        extract_archive(src, "tar", dest)
    assert not (tmp_path / "evil").exists() and not Path("/etc/minidock-test-evil").exists()
