"""runtime/crossns: a bind of a mount that lives in another process's mount namespace (--ipc container:)."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from minidock.runtime import crossns
from minidock.runtime import syscalls as sc


def test_split_source() -> None:
    assert crossns.split_source("/proc/42/root/dev/shm") == ("/proc/42/ns/mnt", "/dev/shm")
    for other in ("/dev/shm", "/proc/self/root/dev/shm", "/proc/42/cwd/x", "/proc/42/rootx/y", "/procs/1/root/x"):
        assert crossns.split_source(other) is None, other


@pytest.mark.root
def test_bind_from_shares_the_other_namespaces_mount(tmp_path: Path) -> None:
    shm, seen = tmp_path / "shm", tmp_path / "seen"
    shm.mkdir()
    seen.mkdir()
    owner = subprocess.Popen(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                              f"mount -t tmpfs tmpfs {shm} && echo theirs > {shm}/f && echo ok && exec sleep 60"],
                             stdout=subprocess.PIPE, text=True)
    try:
        assert owner.stdout is not None and owner.stdout.readline() == "ok\n"
        time.sleep(0.05)  # why: the exec of sleep after the echo (the same pid either way)
        assert not (shm / "f").exists()  # the tmpfs is in the owner's namespace only
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # why: setns and mounts change the process: a throwaway child does them
            try:
                os.close(r)
                sc.unshare(sc.CLONE_NEWNS)
                sc.mount(None, "/", None, sc.MS_REC | sc.MS_PRIVATE)
                done = crossns.bind_from(f"/proc/{owner.pid}/root{shm}", str(seen))
                (seen / "g").write_text("mine\n")
                os.write(w, f"{done} {(seen / 'f').read_text()}".encode())
            finally:
                os._exit(0)
        os.close(w)
        with os.fdopen(r) as f:
            assert f.read() == "True theirs\n"
        os.waitpid(pid, 0)
        out = subprocess.run(["nsenter", "-t", str(owner.pid), "-m", "cat", f"{shm}/g"], capture_output=True,
                             text=True, check=False)
        assert out.stdout == "mine\n"  # one file system: the owner sees what was written through the clone
        assert not (seen / "g").exists()  # and nothing leaked into our namespace
    finally:
        owner.kill()
        owner.wait()
