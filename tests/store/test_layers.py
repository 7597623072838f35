"""apply_layer / write_layer against real layers, umoci, hand-built tars and hostile members."""

from __future__ import annotations

import gzip
import io
import os
import stat
import subprocess
import tarfile
import zlib
from pathlib import Path

import pytest

from minidock.errors import ArchiveError
from minidock.oci.digest import Digest
from minidock.store import compression
from minidock.store.layers import apply_layer, write_layer
from tests.fixtures.busybox import BusyboxLayout, busybox_image, write_layout
from tests.store.layertools import describe, make_tar, member


def apply_bytes(data: bytes, compression: str, dest: Path) -> Digest:
    dest.mkdir(exist_ok=True)
    src = io.BytesIO(data)
    res = apply_layer(src, compression, dest)
    assert src.read() == b"", "the stream must be read to EOF"
    return res.diff_id


@pytest.fixture(scope="module")
def busybox_hardlinked(tmp_path_factory: pytest.TempPathFactory) -> BusyboxLayout:
    """busybox with its applets as hard links of bin/busybox (as Docker Hub's layer), as an OCI layout."""
    return write_layout(busybox_image(hardlinks=True), tmp_path_factory.mktemp("busybox-hl") / "oci-layout")


@pytest.mark.root
def test_busybox_matches_umoci(busybox_hardlinked: BusyboxLayout, tmp_path: Path) -> None:
    layout = busybox_hardlinked
    mine = tmp_path / "mine"
    mine.mkdir()
    with open(layout.blob(layout.layer), "rb") as f:
        res = apply_layer(f, "gzip", mine)
    assert str(res.diff_id) == layout.diff_id
    assert res.size == layout.layer_size
    subprocess.run(["umoci", "unpack", "--image", f"{layout.path}:{layout.ref_name}",
                    str(tmp_path / "bundle")], check=True, capture_output=True)
    theirs = describe(tmp_path / "bundle" / "rootfs")
    ours = describe(mine)
    assert ours == theirs
    assert any(v[7] > 1 for v in ours.values()), "busybox's layer has hard links"


def test_plain_and_zstd_give_the_same_tree_and_diff_id(tmp_path: Path) -> None:
    members = [member("etc", "dir"), member("etc/hostname", data=b"box\n"), member("bin", "dir"),
               member("bin/sh", data=b"#!x", mode=0o755), member("bin/ash", "sym", linkname="sh"),
               member("bin/hush", "link", linkname="bin/sh")]
    trees, ids = [], []
    for comp in ("", "gzip", "zstd"):
        d = tmp_path / (comp or "plain")
        ids.append(apply_bytes(make_tar(members, comp), comp, d))
        trees.append(describe(d))
    assert ids[0] == ids[1] == ids[2] == Digest.of_bytes(make_tar(members))
    assert trees[0] == trees[1] == trees[2]
    t = trees[0]
    assert t["bin/ash"][8] == "sh" and t["bin/sh"][7] == 2 and t["bin/hush"][7] == 2
    assert t["etc/hostname"][5] == 1_600_000_000 * 10**9


def test_dir_mtimes_owner_modes_and_fifo(tmp_path: Path) -> None:
    members = [member("d", "dir", mtime=1_500_000_000), member("d/f", data=b"x", mode=0o4755),
               member("d/sticky", "dir", mode=0o1777), member("d/p", "fifo")]
    apply_bytes(make_tar(members), "", tmp_path / "x")
    d = tmp_path / "x" / "d"
    assert d.stat().st_mtime == 1_500_000_000  # set after its children were created
    assert stat.S_IMODE((d / "f").stat().st_mode) == 0o4755
    assert stat.S_IMODE((d / "sticky").stat().st_mode) == 0o1777
    assert stat.S_ISFIFO((d / "p").lstat().st_mode)


@pytest.mark.root
@pytest.mark.parametrize("umask", [0o022, 0o077, 0])
def test_owners_and_modes_come_out_right_whatever_the_umask_and_setgid_dirs(tmp_path: Path, umask: int) -> None:
    """Entries owned by 0:0 with plain modes are created with their final mode (no chown/chmod): the umask
    and a setgid directory (whose group new entries inherit) must not show through."""
    members = [member("g", "dir", mode=0o2775, gid=50), member("g/f", data=b"x", mode=0o666),
               member("g/sub", "dir", mode=0o755), member("g/sub/f", data=b"y", mode=0o644),
               member("g/l", "sym", linkname="f"), member("g/made/f2", data=b"z", mode=0o600),
               member("p", "dir", mode=0o777), member("p/f", data=b"w", mode=0o777),
               member("p/o", data=b"v", mode=0o640, uid=1, gid=2), member("p/s", data=b"", mode=0o4755)]
    old = os.umask(umask)
    try:
        apply_bytes(make_tar(members), "", tmp_path / "x")
    finally:
        os.umask(old)
    got = {p: (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) for p in
           ("g", "g/f", "g/sub", "g/sub/f", "g/made", "g/made/f2", "p", "p/f", "p/o", "p/s")
           for st in [(tmp_path / "x" / p).lstat()]}
    assert got == {"g": (0o2775, 0, 50), "g/f": (0o666, 0, 0), "g/sub": (0o755, 0, 0), "g/sub/f": (0o644, 0, 0),
                   "g/made": (0o2755, 0, 50), "g/made/f2": (0o600, 0, 0), "p": (0o777, 0, 0),
                   "p/f": (0o777, 0, 0), "p/o": (0o640, 1, 2), "p/s": (0o4755, 0, 0)}
    link = (tmp_path / "x" / "g/l").lstat()
    assert (link.st_uid, link.st_gid) == (0, 0)


def test_duplicate_members_overwrite_and_leading_slash_is_stripped(tmp_path: Path) -> None:
    members = [member("/a", data=b"one"), member("./a", data=b"two"), member("b", "dir"),
               member("b/x", data=b"x"), member("b", data=b"now a file"), member("c", "sym", linkname="/etc"),
               member("c", "dir")]
    apply_bytes(make_tar(members), "", tmp_path / "x")
    assert (tmp_path / "x" / "a").read_bytes() == b"two"
    assert (tmp_path / "x" / "b").read_bytes() == b"now a file"
    assert (tmp_path / "x" / "c").is_dir() and not (tmp_path / "x" / "c").is_symlink()


def test_trailing_bytes_are_drained_and_hashed(tmp_path: Path) -> None:
    tar = make_tar([member("f", data=b"hello")]) + b"\0" * 10240
    gz = gzip.compress(tar) + b"\0" * 100  # some producers pad after the gzip end
    diff_id = apply_bytes(gz, "gzip", tmp_path / "x")
    assert diff_id == Digest.of_bytes(tar)


@pytest.fixture(params=["isal", "zlib"])
def inflater(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """gzip through ISA-L (the default when installed) and through zlib (the fallback without it)."""
    if request.param == "zlib":
        monkeypatch.setattr(compression, "_inflater", lambda: (zlib.decompressobj, zlib.error))
    elif compression._inflater()[0] is zlib.decompressobj:
        pytest.skip("isal is not installed in this venv (a dependency: make venv)")
    else:
        assert compression._inflater()[0].__module__.startswith("isal")
    return str(request.param)


def test_multi_member_gzip(tmp_path: Path, inflater: str) -> None:
    tar = make_tar([member("f", data=b"hello" * 1000)])
    gz = gzip.compress(tar[:3000]) + gzip.compress(tar[3000:])
    assert apply_bytes(gz + b"\0" * 1024, "gzip", tmp_path / "x") == Digest.of_bytes(tar)
    assert (tmp_path / "x" / "f").read_bytes() == b"hello" * 1000


def test_a_big_gzip_layer_is_inflated_the_same_either_way(tmp_path: Path, inflater: str) -> None:
    files = [member(f"d{i}/f", data=os.urandom(50_000) + bytes(200_000)) for i in range(12)]
    tar = make_tar(files)
    assert apply_bytes(gzip.compress(tar, mtime=0), "gzip", tmp_path / "x") == Digest.of_bytes(tar)
    assert (tmp_path / "x" / "d7" / "f").read_bytes() == files[7][1]


@pytest.mark.parametrize(("members", "why"), [
    ([member("../evil", data=b"x")], "escapes"),
    ([member("a/../../evil", data=b"x")], "escapes"),
    ([member("a", "sym", linkname="/etc"), member("a/passwd", data=b"x")], "symlink"),
    ([member("a", "sym", linkname=".."), member("a/x", data=b"x")], "symlink"),
    ([member("a", "sym", linkname="/tmp"), member("a/b/c", "dir")], "symlink"),
    ([member("a", "dir"), member("a", "sym", linkname="/etc"), member("a/passwd", data=b"x")], "symlink"),
    ([member("l", "link", linkname="../../etc/passwd")], "escapes"),
    ([member("a", "sym", linkname="/etc"), member("l", "link", linkname="a/passwd")], "non-directory"),
    ([member("l", "link", linkname="nothere")], "does not exist"),
    ([member("dev/null", "chr", devmajor=1, devminor=3)], "device"),
    ([member("dev/sda", "blk", devmajor=8, devminor=0)], "device"),
    ([member("f", data=b"x", pax_headers={"SCHILY.xattr.trusted.overlay.redirect": "/x"})], "xattr"),
    ([member("d/.wh.", data=b"")], "whiteout"),
])
def test_unsafe_members_are_refused(tmp_path: Path, members: list[tuple[tarfile.TarInfo, bytes]],
                                    why: str) -> None:
    dest = tmp_path / "inner" / "dest"
    dest.mkdir(parents=True)
    with pytest.raises(ArchiveError, match=why) as ei:
        apply_layer(io.BytesIO(make_tar(members)), "", dest)
    assert f"member {members[-1][0].name!r}" in str(ei.value)
    assert sorted(os.listdir(tmp_path)) == ["inner"] and sorted(os.listdir(tmp_path / "inner")) == ["dest"]
    assert not Path("/etc/passwd").read_bytes().startswith(b"x")


@pytest.mark.parametrize(("data", "comp"), [
    (b"not gzip at all", "gzip"), (b"\x28\xb5\x2f\xfdgarbage", "zstd"),
])
def test_corrupt_streams_are_archive_errors(tmp_path: Path, data: bytes, comp: str, inflater: str) -> None:
    with pytest.raises(ArchiveError, match="corrupt"):
        apply_layer(io.BytesIO(data), comp, tmp_path)


def test_truncated_gzip_is_an_archive_error(tmp_path: Path, inflater: str) -> None:
    gz = make_tar([member("f", data=os.urandom(100_000))], "gzip")
    with pytest.raises(ArchiveError):
        apply_layer(io.BytesIO(gz[: len(gz) // 2]), "gzip", tmp_path)
    gz = bytearray(gz)
    gz[len(gz) // 2] ^= 0xFF  # a flipped byte: a bad block or a CRC mismatch
    (tmp_path / "y").mkdir()
    with pytest.raises(ArchiveError, match="corrupt"):
        apply_layer(io.BytesIO(bytes(gz)), "gzip", tmp_path / "y")


@pytest.mark.root
def test_whiteouts_and_opaque_dirs_become_overlay_form(tmp_path: Path) -> None:
    members = [member("etc", "dir"), member("etc/.wh.motd"), member("var", "dir"),
               member("var/.wh..wh..opq"), member("var/keep", data=b"k"), member(".wh.old-dir")]
    apply_bytes(make_tar(members, "gzip"), "gzip", tmp_path / "x")
    wh = (tmp_path / "x" / "etc" / "motd").lstat()
    assert stat.S_ISCHR(wh.st_mode) and wh.st_rdev == 0
    assert stat.S_ISCHR((tmp_path / "x" / "old-dir").lstat().st_mode)
    assert os.getxattr(tmp_path / "x" / "var", "trusted.overlay.opaque") == b"y"
    assert sorted(os.listdir(tmp_path / "x" / "var")) == ["keep"]
    assert not any(n.startswith(".wh.") for n in os.listdir(tmp_path / "x" / "etc"))


def tar_members(data: bytes) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        return {m.name: m for m in tf}


def _layer(upper: Path, comp: str = "gzip", mtime: int | None = None) -> tuple[bytes, tuple[Digest, Digest, int]]:
    out = io.BytesIO()
    res = write_layer(upper, out, comp, mtime)
    return out.getvalue(), res


def test_write_layer_is_deterministic_and_reports_digests(tmp_path: Path) -> None:
    members = [member("etc", "dir"), member("etc/a", data=b"a"), member("etc/b", "link", linkname="etc/a"),
               member("z", "sym", linkname="etc/a"), member("f", data=b"x", pax_headers={"SCHILY.xattr.user.k": "v"})]
    apply_bytes(make_tar(members), "", tmp_path / "up")
    for comp in ("gzip", "zstd", ""):
        one, (digest, diff_id, size) = _layer(tmp_path / "up", comp)
        two, again = _layer(tmp_path / "up", comp)
        assert one == two and again == (digest, diff_id, size)
        assert digest == Digest.of_bytes(one) and size == len(one)
    plain, (d, diff_id, _) = _layer(tmp_path / "up", "")
    assert d == diff_id
    tf = tar_members(plain)
    assert list(tf) == ["etc", "etc/a", "etc/b", "f", "z"]
    assert tf["etc/b"].islnk() and tf["etc/b"].linkname == "etc/a"
    assert tf["f"].pax_headers["SCHILY.xattr.user.k"] == "v"
    assert all(m.uname == "" and m.gname == "" for m in tf.values())


def test_write_layer_clamps_mtime(tmp_path: Path) -> None:
    (tmp_path / "up").mkdir()
    (tmp_path / "up" / "f").write_text("x")
    plain, _ = _layer(tmp_path / "up", "", mtime=1000)
    assert tar_members(plain)["f"].mtime == 1000


@pytest.mark.root
def test_write_layer_round_trips_busybox(busybox_hardlinked: BusyboxLayout, tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    with open(busybox_hardlinked.blob(busybox_hardlinked.layer), "rb") as f:
        apply_layer(f, "gzip", tmp_path / "a")
    data, (_, diff_id, _) = _layer(tmp_path / "a")
    assert apply_bytes(data, "gzip", tmp_path / "b") == diff_id
    assert describe(tmp_path / "a") == describe(tmp_path / "b")


@pytest.mark.root
def test_write_layer_converts_overlay_whiteouts_back(tmp_path: Path) -> None:
    members = [member("etc", "dir"), member("etc/.wh.motd"), member("var", "dir"), member("var/.wh..wh..opq"),
               member("var/keep", data=b"k")]
    apply_bytes(make_tar(members), "", tmp_path / "up")
    plain, _ = _layer(tmp_path / "up", "")
    assert list(tar_members(plain)) == ["etc", "etc/.wh.motd", "var", "var/.wh..wh..opq", "var/keep"]
    apply_bytes(plain, "", tmp_path / "again")
    assert describe(tmp_path / "up") == describe(tmp_path / "again")


def test_write_tar_gives_tarfile_stream_bytes(tmp_path: Path) -> None:
    """write_tar copies file data itself; its bytes are exactly tarfile's "w|" PAX stream of the same members."""
    from minidock.store.layertar import add_member, read_xattrs, tar_info, write_tar

    upper = tmp_path / "upper"
    (upper / "d" / "sub").mkdir(parents=True)
    (upper / "d" / "a").write_bytes(b"hi\n")
    os.link(upper / "d" / "a", upper / "d" / "hl")
    os.symlink("../d/a", upper / "d" / "sym")
    os.mkfifo(upper / "d" / "fifo")
    (upper / "d" / ("ü" * 60)).write_bytes(b"x" * 700)
    (upper / "d" / ("L" * 200)).write_bytes(os.urandom(3 << 20) + b"tail")  # more than one copy buffer
    os.chmod(upper / "d" / "a", 0o4755)
    os.utime(upper / "d" / "a", (978307200, 978307200))
    want = io.BytesIO()
    with tarfile.open(fileobj=want, mode="w|", format=tarfile.PAX_FORMAT) as tf:
        inodes: dict[tuple[int, int], str] = {}
        for rel in ["d", "d/" + "L" * 200, "d/a", "d/fifo", "d/hl", "d/sub", "d/sym", "d/" + "ü" * 60]:
            path = upper / rel
            st = os.lstat(path)
            add_member(tf, tar_info(rel, st, read_xattrs(path), 1_000_000_000), path, st, inodes)
    got = io.BytesIO()
    write_tar(upper, got, 1_000_000_000)
    assert got.getvalue() == want.getvalue()
