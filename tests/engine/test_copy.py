"""`cp`, `diff` and `rename` on real containers (running and stopped), with Docker's rules for names."""

from __future__ import annotations

import io
import os
import subprocess
import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from minidock.engine.changes import walk_changes
from minidock.engine.copy import Endpoint, parse_endpoint
from tests.fixtures.cli import MD, md, ok


def test_endpoints() -> None:
    assert parse_endpoint("c1:/etc/hosts") == Endpoint("c1", "/etc/hosts")
    assert parse_endpoint("/abs:with:colons") == Endpoint("", "/abs:with:colons")
    assert parse_endpoint("./rel:x") == Endpoint("", "./rel:x")
    assert parse_endpoint("plain") == Endpoint("", "plain")
    assert parse_endpoint("c1:") == Endpoint("c1", "/")
    assert parse_endpoint("-") == Endpoint("", "-")


@pytest.fixture
def ctr(busybox_store: Callable[[], Path]) -> Iterator[str]:
    """A running container with /x/y/f (owned 5:6), a link /x/l -> /etc and an empty dir /x/e."""
    busybox_store()
    ok("run", "-d", "--name", "cpt", "--network", "none", "busybox", "sh", "-c",
       "mkdir -p /x/y /x/e && echo hi > /x/y/f && chown 5:6 /x/y/f && ln -s /etc /x/l && sleep 1000")
    assert ok("exec", "cpt", "cat", "/x/y/f") == "hi\n"
    yield "cpt"
    md("rm", "-f", "cpt")


def _tree(root: Path) -> list[tuple[str, str, int, int]]:
    out = []
    for p in sorted(root.rglob("*")):
        st = p.lstat()
        kind = "l" if p.is_symlink() else "d" if p.is_dir() else "f"
        out.append((str(p.relative_to(root)), kind, st.st_uid, st.st_gid))
    return out


@pytest.mark.root
@pytest.mark.parametrize("running", [True, False])
def test_copy_out_follows_dockers_rules(ctr: str, tmp_path: Path, running: bool) -> None:
    tmp_path = tmp_path / "out"
    tmp_path.mkdir()
    if not running:
        ok("stop", "-t", "0", ctr)
    ok("cp", f"{ctr}:/x", str(tmp_path))  # dir -> existing dir: copied into it
    assert _tree(tmp_path) == [("x", "d", 0, 0), ("x/e", "d", 0, 0), ("x/l", "l", 0, 0), ("x/y", "d", 0, 0),
                               ("x/y/f", "f", 0, 0)]  # the container's 5:6 is not kept, as with Docker's client
    assert os.readlink(tmp_path / "x/l") == "/etc"
    ok("cp", f"{ctr}:/x/y", str(tmp_path / "new"))  # dir -> missing path: becomes it
    assert (tmp_path / "new/f").read_text() == "hi\n"
    ok("cp", f"{ctr}:/x/y/.", str(tmp_path / "x/e"))  # dir/. -> existing dir: its content
    assert (tmp_path / "x/e/f").exists() and not (tmp_path / "x/e/y").exists()
    ok("cp", f"{ctr}:/x/y/f", str(tmp_path / "renamed"))  # file -> missing path
    ok("cp", "-L", f"{ctr}:/x/l/passwd", str(tmp_path / "renamed"))  # file -> file: replaced, link followed
    assert (tmp_path / "renamed").read_text().startswith("root:")
    for src, dest, msg in ((f"{ctr}:/nope", str(tmp_path), "no such container:path"),
                           (f"{ctr}:/x", str(tmp_path / "renamed"), "cannot copy a directory to a file"),
                           (f"{ctr}:/x/y/f", str(tmp_path / "missing") + "/", "does not exist"),
                           ("nosuchctr:/x", str(tmp_path), "no such container")):
        r = md("cp", src, dest)
        assert r.returncode == 1 and msg in r.stderr, r.stderr


@pytest.mark.root
def test_copy_in_owner_archive_and_stdin_tar(ctr: str, tmp_path: Path) -> None:
    src = tmp_path / "in" / "d"
    (src / "sub").mkdir(parents=True)
    (src / "sub/file").write_text("in\n")
    os.chown(src / "sub/file", 7, 8)
    ok("cp", str(src), f"{ctr}:/x")
    ok("cp", "-a", str(src), f"{ctr}:/x/e")
    out = ok("exec", ctr, "stat", "-c", "%n %u:%g", "/x/d/sub/file", "/x/e/d/sub/file")
    assert out.split("\n")[:2] == ["/x/d/sub/file 0:0", "/x/e/d/sub/file 7:8"]
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        ti = tarfile.TarInfo("streamed.txt")
        ti.size = 3
        tf.addfile(ti, io.BytesIO(b"abc"))
    r = subprocess.run([*MD, "cp", "-", f"{ctr}:/x/e"], input=buf.getvalue(), capture_output=True, check=False)
    assert r.returncode == 0, r.stderr
    assert ok("exec", ctr, "cat", "/x/e/streamed.txt") == "abc"
    out_tar = subprocess.run([*MD, "cp", f"{ctr}:/x/y", "-"], capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(out_tar)) as tf:
        names = tf.getnames()
    assert names == ["y", "y/f"]


@pytest.mark.root
def test_copy_out_never_writes_through_a_containers_link(ctr: str, tmp_path: Path) -> None:
    """A hostile tar cannot be produced by cp itself, so check the receiving side directly."""
    from minidock.engine.copy import extract_tree
    from minidock.errors import CopyError

    outside = tmp_path / "outside"
    outside.mkdir()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        d = tarfile.TarInfo("root")
        d.type = tarfile.DIRTYPE
        tf.addfile(d)
        link = tarfile.TarInfo("root/esc")
        link.type, link.linkname = tarfile.SYMTYPE, str(outside)
        tf.addfile(link)
        f = tarfile.TarInfo("root/esc/pwned")
        f.size = 1
        tf.addfile(f, io.BytesIO(b"x"))
    r, w = os.pipe()
    os.write(w, buf.getvalue())
    os.close(w)
    with pytest.raises(CopyError, match="outside the destination"):
        extract_tree(r, str(tmp_path / "dest"), keep_owner=True)
    os.close(r)
    assert list(outside.iterdir()) == []


@pytest.mark.root
def test_diff_lists_changes_like_docker(ctr: str) -> None:
    ok("exec", ctr, "sh", "-c", "rm /bin/true && echo x >> /etc/group && mkdir /newdir && touch /newdir/a")
    lines = ok("diff", ctr).splitlines()
    for want in ("C /bin", "D /bin/true", "C /etc", "C /etc/group", "A /newdir", "A /newdir/a", "A /x"):
        assert want in lines
    assert not any(ln.endswith(("/etc/hosts", "/etc/hostname", "/etc/resolv.conf")) for ln in lines)


@pytest.mark.root
def test_walk_changes_opaque_and_unchanged_dirs(tmp_path: Path) -> None:
    lower, upper = tmp_path / "lower", tmp_path / "upper"
    for d in (lower / "keep", lower / "opq/old", upper / "keep", upper / "opq"):
        d.mkdir(parents=True)
    os.utime(upper / "keep", ns=(0, os.stat(lower / "keep").st_mtime_ns))
    os.setxattr(upper / "opq", "trusted.overlay.opaque", b"y")
    (upper / "opq/new").write_text("n")
    os.mknod(upper / "gone", 0o600 | 0o020000, 0)
    assert list(walk_changes(str(upper), [str(lower)])) == [("D", "/gone"), ("D", "/opq"), ("A", "/opq/new")]


@pytest.mark.root
def test_rename(ctr: str) -> None:
    ok("rename", ctr, "renamed")
    assert ok("ps", "--format", "json").count('"Names":"renamed"') == 1
    ok("run", "-d", "--name", "other", "--network", "none", "busybox", "sleep", "100")
    try:
        r = md("rename", "renamed", "other")
        assert r.returncode == 1 and "already in use" in r.stderr
        r = md("rename", "renamed", "renamed")
        assert r.returncode == 1
    finally:
        md("rm", "-f", "other")
        ok("rename", "renamed", ctr)


