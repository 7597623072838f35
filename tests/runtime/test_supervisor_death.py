"""A container's PID 1 dies with the process that created it (its supervisor), even after setuid."""

from __future__ import annotations

import contextlib
import os
import select
import signal
from pathlib import Path

import pytest

from minidock.oci.runtimespec import User
from minidock.runtime import process
from tests.runtime.test_container import Runner, busybox_lower  # noqa: F401 - the fixture

pytestmark = pytest.mark.root


@pytest.fixture
def box(busybox_lower: Path, tmp_path: Path) -> Runner:  # noqa: F811 - the imported fixture
    return Runner(busybox_lower, tmp_path)


def _supervise(box: Runner, user: User) -> tuple[int, int]:
    """Fork a supervisor that creates a `sleep 60` container and then just waits; (supervisor, PID 1)."""
    spec = box.spec("sleep", "60", user=user)
    r, w = os.pipe()
    sup = os.fork()
    if sup == 0:  # pragma: no cover - the supervisor ends in os._exit
        try:
            os.close(r)
            null = os.open(os.devnull, os.O_RDWR)
            c = process.create(spec, process.RunOptions(cgroup_root=None, stdin=null, stdout=null, stderr=null))
            os.write(w, str(c.pid).encode())
            os.close(w)
            signal.pause()
        finally:
            os._exit(0)
    os.close(w)
    with os.fdopen(r) as f:
        text = f.read()
    if not text:
        os.waitpid(sup, 0)
        pytest.fail("the supervisor could not create the container")
    return sup, int(text)


@pytest.mark.parametrize("user", [User(), User(65534, 65534)], ids=["root", "nobody"])
def test_pid1_is_killed_when_its_supervisor_is(box: Runner, user: User) -> None:
    sup, pid = _supervise(box, user)
    pidfd = os.pidfd_open(pid)
    try:
        assert Path(f"/proc/{pid}/cmdline").read_bytes() == b"sleep\x0060\x00"
        assert not select.select([pidfd], [], [], 0.3)[0]  # it lives while its supervisor does
        os.kill(sup, signal.SIGKILL)
        os.waitpid(sup, 0)
        assert select.select([pidfd], [], [], 5)[0], "PID 1 outlived its supervisor"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        os.close(pidfd)
        with contextlib.suppress(ChildProcessError):  # we reap it when we are the nearest subreaper
            os.waitpid(pid, 0)
