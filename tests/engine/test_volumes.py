"""Volumes: -v/--mount parsing (pure), and named/anonymous volumes, VOLUME copy-up, rm -v, prune (kernel)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from minidock.engine.volumes import MountSpec, parse_mount, parse_v
from minidock.errors import UsageError
from tests.fixtures.cli import md, ok


def test_parse_v_kinds(tmp_path: Path) -> None:
    assert parse_v(f"{tmp_path}:/data:ro") == MountSpec("bind", str(tmp_path), "/data", read_only=True)
    assert parse_v("cache:/var/cache/") == MountSpec("volume", "cache", "/var/cache")
    assert parse_v("/data") == MountSpec("volume", "", "/data")
    assert parse_v("/data:ro") == MountSpec("volume", "", "/data", read_only=True)
    assert parse_v("v1:/d:ro,nocopy").nocopy
    assert parse_v(f"{tmp_path}:/d:rshared").propagation == "rshared"


@pytest.mark.parametrize("bad", ["", "a:b:c:d", "rel/path:/x", "v:relative", "v:/x:zz", "v:/", "/a:/x:nocopy",
                                 "::/x", "x$:/d"])
def test_parse_v_refuses(bad: str) -> None:
    with pytest.raises(UsageError):
        parse_v(bad)


def test_parse_mount(tmp_path: Path) -> None:
    assert parse_mount(f"type=bind,source={tmp_path},target=/x,readonly") == \
        MountSpec("bind", str(tmp_path), "/x", read_only=True)
    v = parse_mount("type=volume,src=data,dst=/d,volume-nocopy,volume-label=a=b")
    assert (v.type, v.source, v.destination, v.nocopy, dict(v.labels)) == ("volume", "data", "/d", True, {"a": "b"})
    assert parse_mount("target=/anon") == MountSpec("volume", "", "/anon")
    t = parse_mount("type=tmpfs,destination=/t,tmpfs-size=1m,tmpfs-mode=1770")
    assert t.tmpfs_options == ("size=1m", "mode=1770")
    for bad in ("type=bind,target=/x", "type=bind,source=/nonexistent-xyz,target=/x", "type=nfs,target=/x",
                "type=volume", "type=volume,target=/x,bogus=1", "type=volume,target=/x,readonly=maybe",
                "type=tmpfs,source=x,target=/t", "notapair,target=/x"):
        with pytest.raises(UsageError):
            parse_mount(bad)


@pytest.fixture
def root(busybox_store: Callable[[], Path], tmp_path: Path) -> Iterator[Path]:
    """A store with busybox and an image `vimg` whose VOLUME /data holds a file owned 1:2 in a 0751 dir."""
    r = busybox_store()
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM busybox\nRUN mkdir -p /data && echo hello > /data/f && chown 1:2 /data/f "
                                    "&& chmod 0751 /data\nVOLUME /data\n")
    ok("build", "-q", "-t", "vimg", str(ctx))
    yield r
    for cid in ok("ps", "-aq").split():
        md("rm", "-f", cid)




def _volumes() -> list[str]:
    return ok("volume", "ls", "-q").split()


@pytest.mark.root
def test_image_volume_is_anonymous_filled_from_the_image_and_removed_with_run_rm(root: Path) -> None:
    out = ok("run", "--rm", "--network", "none", "vimg", "sh", "-c", "stat -c '%a %u:%g' /data /data/f; cat /data/f")
    assert out.split("\n")[:3] == ["751 0:0", "644 1:2", "hello"]
    assert _volumes() == []  # --rm removes anonymous volumes


@pytest.mark.root
def test_named_volume_survives_rm_and_is_shared(root: Path) -> None:
    ok("run", "--name", "wr", "--network", "none", "-v", "shared:/data", "vimg", "sh", "-c", "echo more >> /data/f")
    out = ok("run", "--rm", "--network", "none", "-v", "shared:/other", "busybox", "cat", "/other/f")
    assert out == "hello\nmore\n"
    ok("rm", "-v", "wr")  # -v removes anonymous volumes only
    assert _volumes() == ["shared"]
    info = json.loads(ok("volume", "inspect", "shared"))[0]
    assert (info["Name"], info["Driver"], info["Scope"]) == ("shared", "local", "local")
    assert info["Mountpoint"] == str(root / "volumes" / "shared" / "_data")


@pytest.mark.root
def test_nocopy_volume_stays_empty_and_ro_mount_is_read_only(root: Path) -> None:
    out = ok("run", "--rm", "--network", "none", "--mount", "type=volume,source=empty,target=/data,volume-nocopy",
             "vimg", "ls", "-A", "/data")
    assert out == ""
    r = md("run", "--rm", "--network", "none", "-v", "ro1:/data:ro", "vimg", "touch", "/data/x")
    assert r.returncode != 0 and "Read-only file system" in r.stderr


@pytest.mark.root
def test_volume_in_use_is_kept_and_rm_v_and_prune(root: Path) -> None:
    ok("run", "--name", "holder", "--network", "none", "-v", "kept:/k", "vimg", "true")
    anon = [v for v in _volumes() if v != "kept"]
    assert len(anon) == 1 and len(anon[0]) == 64  # the image's VOLUME /data
    r = md("volume", "rm", "kept")
    assert r.returncode == 1 and "volume is in use" in r.stderr
    assert ok("volume", "prune", "-f").startswith("Total reclaimed space")  # both are in use
    assert sorted(_volumes()) == sorted(["kept", *anon])
    ok("rm", "-v", "holder")
    assert _volumes() == ["kept"]
    assert "kept" in ok("volume", "prune", "-f")  # Docker 20.10 prunes unused named volumes too
    assert _volumes() == []


@pytest.mark.root
def test_volumes_from_and_bind_created_and_df(root: Path, tmp_path: Path) -> None:
    host = tmp_path / "made-by-run"
    ok("run", "--name", "src", "--network", "none", "-v", "vf:/data", "-v", f"{host}:/h", "vimg",
       "sh", "-c", "echo from-src > /h/x")
    assert (host / "x").read_text() == "from-src\n"  # -v creates a missing host directory, like Docker
    out = ok("run", "--rm", "--network", "none", "--volumes-from", "src:ro", "busybox", "sh", "-c",
             "cat /data/f /h/x; touch /data/y 2>&1 || true")
    assert out.startswith("hello\nfrom-src\n") and "Read-only" in out
    df = {ln.split()[0] + ln.split()[1]: ln.split() for ln in ok("system", "df").splitlines()[1:]}
    assert df["LocalVolumes"][2:4] == ["1", "1"]  # total, active


@pytest.mark.root
def test_duplicate_mount_point_and_bad_flags_fail_before_anything_is_written(root: Path) -> None:
    for args in (["-v", "a:/d", "-v", "b:/d"], ["--mount", "type=volume,target=/d,bogus=1"], ["-v", "x$:/d"]):
        r = md("run", "--rm", "--network", "none", *args, "busybox", "true")
        assert r.returncode == 125, r.stderr
        assert len(r.stderr.strip().splitlines()) == 1
    assert _volumes() == [] and ok("ps", "-aq") == ""
