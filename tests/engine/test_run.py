"""`minidock run` end to end, probed from inside the container (crun's style)."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.fixtures.cli import MD, md, ok
from tests.fixtures.rootfs import HELLO_STDOUT
from tests.store.imagetools import add_image

pytestmark = pytest.mark.root


def probe(*args: str, flags: tuple[str, ...] = ()) -> str:
    """Run a command in a fresh busybox container and return its stdout (must exit 0)."""
    r = md("run", "--rm", "--network", "none", *flags, "busybox", *args)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_isolation_from_inside(busybox_store: Callable[[], Path]) -> None:
    busybox_store()
    out = probe("sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '; echo; ps -o pid | wc -l; hostname; "
                "grep CapEff /proc/self/status; awk '$2==\"/\"{print $3}' /proc/mounts; "
                "head -c1 /proc/kcore | wc -c; ip -o link | wc -l")
    lines = out.split("\n")
    assert lines[0].startswith("sh -c cat /proc/1/cmdline")
    assert int(lines[1]) <= 5  # header + sh + ps + wc: no host processes
    assert lines[2] != os.uname().nodename and len(lines[2]) == 12
    assert lines[3].split()[1] == "00000000a80425fb"
    assert lines[4] == "overlay"
    assert lines[5] == "0"  # /proc/kcore masked
    assert lines[6] == "1"  # --network none: only lo


def test_exit_codes_and_errors(busybox_store: Callable[[], Path]) -> None:
    busybox_store()
    assert md("run", "--rm", "--network", "none", "busybox", "sh", "-c", "exit 42").returncode == 42
    r = md("run", "--rm", "--network", "none", "busybox", "nope")
    assert r.returncode == 127 and 'exec: "nope": executable file not found in $PATH' in r.stderr
    r = md("run", "--rm", "--network", "none", "busybox", "/etc/passwd")
    assert r.returncode == 126, r.stderr
    r = md("run", "--rm", "nosuchimage-xyz")
    assert r.returncode == 125 and "nosuchimage-xyz" in r.stderr
    r = md("run", "--rm", "--memory", "lots", "busybox", "true")
    assert r.returncode == 125 and "lots" in r.stderr


def _container_pid(root: Path, command: bytes, timeout: float = 10) -> int:
    """The host pid of the process running `command` in the (only) container of store `root`."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        for cdir in (root / "containers").iterdir():
            procs = Path(f"/sys/fs/cgroup/pids/minidock/{cdir.name}/cgroup.procs")
            for pid in procs.read_text().split() if procs.exists() else ():
                try:
                    if Path(f"/proc/{pid}/cmdline").read_bytes().startswith(command):
                        return int(pid)
                except FileNotFoundError:
                    continue
        time.sleep(0.05)
    raise AssertionError("container did not start")


def test_killed_by_signal_is_128_plus_n(busybox_store: Callable[[], Path]) -> None:
    root = busybox_store()
    proc = subprocess.Popen([*MD, "run", "--rm", "--network", "none", "busybox", "sleep", "30"])
    os.kill(_container_pid(root, b"sleep\0"), 9)  # PID 1 ignores signals from inside; the host can kill it
    assert proc.wait(timeout=20) == 137


def test_read_only_rootfs_and_bind_mounts(busybox_store: Callable[[], Path], tmp_path: Path) -> None:
    busybox_store()
    (tmp_path / "vol").mkdir()
    (tmp_path / "vol" / "f").write_text("from host\n")
    r = md("run", "--rm", "--network", "none", "--read-only", "busybox", "touch", "/x")
    assert r.returncode != 0
    out = probe("sh", "-c", "cat /data/f; touch /data/g 2>/dev/null || echo ro-ok",
                flags=("-v", f"{tmp_path / 'vol'}:/data:ro"))
    assert out == "from host\nro-ok\n"
    out = probe("sh", "-c", "echo hi > /data/g && echo ok", flags=("-v", f"{tmp_path / 'vol'}:/data"))
    assert out == "ok\n" and (tmp_path / "vol" / "g").read_text() == "hi\n"


def test_user_env_workdir(busybox_store: Callable[[], Path]) -> None:
    busybox_store()
    out = probe("sh", "-c", "id -u; echo $FOO; pwd; grep CapEff /proc/self/status",
                flags=("-u", "nobody", "-e", "FOO=bar", "-w", "/made/here"))
    assert out.split("\n")[:3] == ["65534", "bar", "/made/here"]
    assert out.split("\n")[3].split()[1] == "0000000000000000"


def test_oom_kill_is_137_and_reported(busybox_store: Callable[[], Path]) -> None:
    busybox_store()
    r = md("run", "--rm", "--network", "none", "--memory", "32m", "busybox",
           "dd", "if=/dev/zero", "of=/dev/null", "bs=128M", "count=1")
    assert r.returncode == 137
    assert "OOM" in r.stderr


def test_pids_limit_contains_a_fork_loop(busybox_store: Callable[[], Path]) -> None:
    busybox_store()
    r = md("run", "--rm", "--network", "none", "--pids-limit", "20", "busybox", "sh", "-c",
           "i=0; while [ $i -lt 60 ]; do (sleep 2 &) 2>/dev/null; i=$((i+1)); done; "
           "n=0; for p in /proc/[0-9]*; do n=$((n+1)); done; echo $n")  # builtins only: forks fail here
    assert r.returncode == 0, r.stderr
    assert 10 <= int(r.stdout.split()[0]) <= 20  # the loop filled the limit and no more
    assert md("run", "--rm", "--network", "none", "busybox", "true").returncode == 0  # the host is fine


def test_cpus_writes_the_quota(busybox_store: Callable[[], Path]) -> None:
    root = busybox_store()
    proc = subprocess.Popen([*MD, "run", "--name", "cpu", "--network", "none", "--cpus", "0.5",
                             "busybox", "sleep", "3"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _container_pid(root, b"sleep\0")
        cid = next((root / "containers").iterdir()).name
        d = Path(f"/sys/fs/cgroup/cpu/minidock/{cid}")
        assert (d / "cpu.cfs_quota_us").read_text().strip() == "50000"
        assert (d / "cpu.cfs_period_us").read_text().strip() == "100000"
    finally:
        proc.kill()
        proc.wait()
        md("rm", "-f", "cpu")


def test_hello_world(busybox_store: Callable[[], Path], hello_binary: Path, tmp_path: Path) -> None:
    hello = hello_binary
    root = busybox_store()
    from minidock.paths import Paths
    from minidock.store.store import Store

    add_image(Store.open(Paths(root)), "docker.io/library/hello-world:latest", [{"hello": hello.read_bytes()}],
              tmp_path)
    os.chmod(next(Path(root, "snapshots").glob("*/fs/hello")), 0o755)
    r = md("run", "--rm", "--network", "none", "hello-world", "/hello")
    assert r.returncode == 0, r.stderr
    assert r.stdout == HELLO_STDOUT


def _read_pty(fd: int, deadline: float) -> bytes:
    """Everything the pty's master gives until it hangs up (or `deadline` passes)."""
    out = b""
    while time.time() < deadline:
        r, _, _ = select.select([fd], [], [], 0.5)
        if r:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
    return out


def test_interactive_shell_through_a_pty(busybox_store: Callable[[], Path]) -> None:
    busybox_store()
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(sys.executable, [*MD, "run", "--rm", "-it", "--network", "none", "busybox", "sh"])
    os.write(fd, b"echo $((6*7)); tty; exit 3\r")  # typed ahead: must survive the switch to raw mode
    deadline = time.time() + 20
    out = _read_pty(fd, deadline)
    done, status = 0, 0
    while not done and time.time() < deadline + 10:  # the pty closes before the CLI finishes its cleanup
        done, status = os.waitpid(pid, os.WNOHANG)
        time.sleep(0.02)
    if not done:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        pytest.fail(f"interactive run did not end: {out!r}")
    assert b"42" in out and b"/dev/pts/0" in out, out
    assert os.waitstatus_to_exitcode(status) == 3


def _cgroups(ids: set[str]) -> list[str]:
    return [str(p) for p in Path("/sys/fs/cgroup").glob("*/minidock/*") if p.name in ids]


def _leftovers(root: Path) -> dict[str, list[str]]:
    mounts = [line for line in Path("/proc/self/mountinfo").read_text().splitlines() if str(root) in line]
    containers = [p.name for p in (root / "containers").iterdir()]
    active = [p.name for p in (root / "snapshots").iterdir()
              if '"active"' in ((p / "meta.json").read_text() if (p / "meta.json").exists() else '"active"')]
    return {"mounts": mounts, "containers": containers, "active": active}


@pytest.mark.slow
def test_many_sequential_runs_leave_nothing(busybox_store: Callable[[], Path], tmp_path: Path) -> None:
    root = busybox_store()
    ids = tmp_path / "ids"
    ids.mkdir()
    run = f"{sys.executable} -m minidock run --rm --network none --cidfile {ids}/$i busybox true"
    before_procs = set(os.listdir("/proc"))
    r = subprocess.run(["sh", "-c", f"for i in $(seq 200); do {run} || exit 1; done"], check=False,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    created = {f.read_text() for f in ids.iterdir()}
    assert len(created) == 200
    assert _leftovers(root) == {"mounts": [], "containers": [], "active": []}
    assert _cgroups(created) == []
    mine = (str(ids).encode(), f"MINIDOCK_ROOT={root}\0".encode())  # other suites may run minidock meanwhile
    for p in set(os.listdir("/proc")) - before_procs:  # nothing of ours still runs
        try:
            seen = Path(f"/proc/{p}/cmdline").read_bytes() + b"\0" + Path(f"/proc/{p}/environ").read_bytes()
        except (FileNotFoundError, NotADirectoryError, ProcessLookupError):
            continue
        assert not any(m in seen for m in mine), seen


def test_exec_it_gets_a_pty_of_the_containers_devpts(busybox_store: Callable[[], Path]) -> None:
    """`exec -it`: `tty` inside names a device that exists there, TERM is xterm (Docker's exec -t)."""
    busybox_store()
    ok("run", "-d", "--name", "ex", "--network", "none", "busybox", "sleep", "100")
    try:
        pid, fd = pty.fork()
        if pid == 0:
            os.execv(sys.executable, [*MD, "exec", "-it", "ex", "sh", "-c", "tty; echo TERM=$TERM; exit 4"])
        out = _read_pty(fd, time.time() + 20)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 4
        lines = out.decode().replace("\r", "").splitlines()
        assert lines[0].startswith("/dev/pts/") and "TERM=xterm" in lines
    finally:
        md("rm", "-f", "ex")


def test_a_foreground_run_leaves_a_complete_record(busybox_store: Callable[[], Path], tmp_path: Path) -> None:
    """The foreground run writes config.json, the running record, the cidfile and the create/start
    events while the container's PID 1 builds its file system (Created.finish): what is left after it
    is what the writes-first order left - for a normal exit, for a logged run (relay) and for a
    command that cannot start."""
    busybox_store()
    cid = tmp_path / "cid"
    r = md("run", "--name", "fg1", "--network", "none", "--cidfile", str(cid), "busybox", "sh", "-c",
           "echo out; exit 3")
    assert (r.returncode, r.stdout) == (3, "out\n")
    assert ok("inspect", "-f", "{{.Id}} {{.State.Status}} {{.State.ExitCode}}", "fg1").split() == [
        cid.read_text(), "exited", "3"]
    assert ok("logs", "fg1") == "out\n"
    events = ok("events", "--since", "1m", "--until", "0s", "--filter", "container=fg1", "--format", "{{.Action}}")
    assert events.split() == ["create", "start", "die"]
    r = md("run", "--name", "fg2", "--network", "none", "busybox", "nosuchcmd")
    assert r.returncode == 127
    assert ok("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "fg2").split() == ["exited", "127"]
    ok("rm", "fg1", "fg2")
