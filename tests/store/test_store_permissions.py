"""The store is closed to other local users (Docker's answer to CVE-2021-41091).

The root is 0711, the directories in it 0700, a container's config.json (its -e values) and the
build cache 0600; an older store is narrowed by the next command (Store.open) and reported and
fixed by `system check [--repair]`. The root tests run as a local user made with useradd for the
module (removed at its end) and prove it cannot read a config, list containers/ or run a setuid
file from the store, while the same file in an ordinary 0755 directory does give it euid 0.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from minidock.paths import Paths
from minidock.store.check import check, repair
from minidock.store.store import Store
from tests.store.imagetools import add_image


def _mode(p: str | Path) -> int:
    return stat.S_IMODE(os.stat(p).st_mode)


def test_a_new_store_is_closed(tmp_path: Path) -> None:
    root = tmp_path / "new" / "store"
    Store.open(Paths(root))
    assert _mode(root) == 0o711
    for d in ("blobs", "ingest", "snapshots", "l", "containers", "networks", "locks", "tmp"):
        assert _mode(root / d) == 0o700, d


def test_an_older_store_is_reported_repaired_and_narrowed_on_open(store_root: Path, tmp_path: Path) -> None:
    store = Store.open(Paths(store_root))
    add_image(store, "a:1", [{"f": b"1"}], tmp_path)
    cdir = Path(store.paths.containers) / "abc"
    cdir.mkdir()
    (cdir / "config.json").write_text("{}")
    Path(store.paths.build_cache).write_text("{}")
    for p in (store_root, store.paths.snapshots, store.paths.containers, store.paths.tmp):
        os.chmod(p, 0o755)
    os.chmod(cdir / "config.json", 0o644)
    os.chmod(store.paths.build_cache, 0o644)
    found = [p for p in check(store) if p.kind == "mode"]
    assert len(found) == 6 and all(p.repairable for p in found)
    assert any("config.json: mode 0644 lets other users in (want 0600" in p.message for p in found)
    assert {p.kind for p in repair(store)} == {"mode"}
    assert check(store) == []
    assert (_mode(store_root), _mode(store.paths.snapshots), _mode(cdir / "config.json")) == (0o711, 0o700, 0o600)
    os.chmod(store.paths.snapshots, 0o755)
    Store.open(Paths(store_root))  # the next command narrows directories by itself
    assert _mode(store.paths.snapshots) == 0o700


# ---- as an unprivileged local user --------------------------------------------------------------

USER = f"mdsec{os.getpid() % 100000}"


@pytest.fixture(scope="module")
def local_user() -> Iterator[str]:
    if os.geteuid() != 0 or shutil.which("useradd") is None or shutil.which("runuser") is None:
        pytest.skip("needs root and useradd")
    subprocess.run(["useradd", "--no-create-home", "--shell", "/bin/sh", USER], check=True)
    try:
        yield USER
    finally:
        subprocess.run(["userdel", USER], check=False)


def _as_user(user: str, *argv: str) -> subprocess.CompletedProcess[str]:
    # why runuser, not setpriv: setpriv execs with the capabilities it still holds, so path checks pass
    return subprocess.run(["runuser", "-u", user, "--", *argv],
                          capture_output=True, text=True, timeout=30, check=False, cwd="/")


def _setuid_copy(dest: Path) -> Path:
    """A setuid-root `id` at `dest` (what a hostile layer or a container's upper dir could hold)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy("/usr/bin/id", dest)
    os.chown(dest, 0, 0)
    os.chmod(dest, 0o4755)
    return dest


@pytest.mark.root
def test_another_user_cannot_read_configs_list_containers_or_run_setuid_files(
        local_user: str, busybox_store: Callable[[], Path], tmp_path: Path) -> None:
    root = busybox_store()
    r = subprocess.run([sys.executable, "-m", "minidock", "create", "-e", "SECRET=hunter2", "busybox", "true"],
                       capture_output=True, text=True, timeout=60, check=False)
    assert r.returncode == 0, r.stderr
    cid = r.stdout.strip()
    paths = Paths(root)
    config = Path(paths.container(cid)) / "config.json"
    assert "hunter2" in config.read_text() and _mode(config) == 0o600
    upper = Path(paths.snapshot(cid)) / "fs"
    assert upper.is_dir()
    in_layer = _setuid_copy(next(p for p in Path(paths.snapshots).iterdir() if p.name != cid) / "fs" / "bin" / "euid")
    in_upper = _setuid_copy(upper / "euid")

    # the control: the same file, reachable, does run as root (so the probe below would notice)
    open_dir = Path(f"/var/tmp/minidock-secdev-{os.getpid()}")
    try:
        open_dir.mkdir(mode=0o755)
        os.chmod(open_dir, 0o755)
        control = _as_user(local_user, str(_setuid_copy(open_dir / "euid")), "-u")
        assert control.stdout.strip() == "0", control
    finally:
        shutil.rmtree(open_dir, ignore_errors=True)

    for argv in (["cat", str(config)], ["ls", str(paths.containers)], [str(in_layer), "-u"],
                 [str(in_upper), "-u"], ["ls", str(paths.snapshots)]):
        got = _as_user(local_user, *argv)
        assert got.returncode != 0 and "Permission denied" in got.stderr, (argv, got)
    assert _as_user(local_user, "ls", str(root)).returncode != 0  # 0711: pass through, not list
    subprocess.run([sys.executable, "-m", "minidock", "rm", cid], capture_output=True, timeout=60, check=False)


@pytest.mark.root
def test_a_build_with_a_cache_mount_keeps_the_store_closed(busybox_store: Callable[[], Path], tmp_path: Path) -> None:
    root = busybox_store()
    (tmp_path / "Dockerfile").write_text("FROM busybox\nRUN --mount=type=cache,target=/c touch /c/x\n")
    r = subprocess.run([sys.executable, "-m", "minidock", "build", "-q", "-t", "cm", str(tmp_path)],
                       capture_output=True, text=True, timeout=120, check=False)
    assert r.returncode == 0, r.stderr
    assert _mode(root / "build-mounts") == 0o700 and _mode(root / "build-mounts" / "cache") == 0o700
    assert _mode(root / "build-cache.json") == 0o600
    assert [p for p in check(Store.open(Paths(root))) if p.kind == "mode"] == []
