"""The runtime on the real kernel: create/run busybox containers and probe them from the inside."""

from __future__ import annotations

import fcntl
import io
import os
import signal
import struct
import tarfile
import termios
import threading
from pathlib import Path
from typing import Any

import pytest

from minidock.errors import CannotInvokeError, CommandNotFoundError, RuntimeSetupError
from minidock.oci.runtimespec import Linux, Mount, Namespace, Process, Rlimit, Root, Spec, User
from minidock.runtime import process
from minidock.runtime.explain import Tracer
from tests.fixtures import rootfs

pytestmark = pytest.mark.root

PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
CGROUP_ROOT = Path("/sys/fs/cgroup")
DEFAULT_MOUNTS = (
    Mount("/proc", "proc", "proc", ("nosuid", "noexec", "nodev")),
    Mount("/dev", "tmpfs", "tmpfs", ("nosuid", "strictatime", "mode=755", "size=65536k")),
    Mount("/dev/pts", "devpts", "devpts", ("nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5")),
    Mount("/sys", "sysfs", "sysfs", ("nosuid", "noexec", "nodev", "ro")),
    Mount("/dev/mqueue", "mqueue", "mqueue", ("nosuid", "noexec", "nodev")),
    Mount("/dev/shm", "tmpfs", "shm", ("nosuid", "noexec", "nodev", "mode=1777", "size=65536k")),
)


@pytest.fixture(scope="session")
def busybox_lower(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A busybox root file system (Debian's busybox-static, tests/fixtures/rootfs.py) used as lowerdir."""
    lower = tmp_path_factory.mktemp("busybox") / "lower"
    lower.mkdir()
    with tarfile.open(fileobj=io.BytesIO(rootfs.busybox_rootfs_tar()), mode="r:") as tf:
        trusted = {"filter": "fully_trusted"} if hasattr(tarfile, "fully_trusted_filter") else {}  # 3.11.4+
        tf.extractall(lower, **trusted)  # type: ignore[arg-type]
    return lower


class Runner:
    """Makes a fresh overlay-rooted spec per container and runs it, capturing stdout/stderr."""

    def __init__(self, lower: Path, tmp: Path) -> None:
        self.lower, self.tmp, self.n = lower, tmp, 0

    def spec(self, *args: str, **kw: Any) -> Spec:
        self.n += 1
        d = self.tmp / f"c{self.n}"
        for sub in ("upper", "work", "root"):
            (d / sub).mkdir(parents=True)
        ov = Mount("/", "overlay", "overlay",
                   (f"lowerdir={self.lower}", f"upperdir={d}/upper", f"workdir={d}/work"))
        proc = Process(args=args, env=(PATH_ENV, *kw.pop("env", ())), cwd=kw.pop("cwd", "/"),
                       user=kw.pop("user", User()), terminal=kw.pop("terminal", False),
                       rlimits=kw.pop("rlimits", ()))
        linux = Linux(cgroups_path=f"minidock/test-{os.getpid()}-{self.n}", namespaces=kw.pop("namespaces",
                      Linux().namespaces))
        mounts = (*DEFAULT_MOUNTS, *kw.pop("mounts", ()))
        return Spec(process=proc, root=Root(str(d / "root"), kw.pop("readonly", False)), hostname="box",
                    mounts=mounts, linux=linux, rootfs_mounts=(ov,), **kw)

    def run(self, spec: Spec, cgroup: bool = False,
            tracer: Tracer | None = None) -> tuple[process.ExitStatus, str, str]:
        out, err = self.tmp / f"out{self.n}", self.tmp / f"err{self.n}"
        with open(out, "w+b") as fo, open(err, "w+b") as fe, open(os.devnull, "rb") as fi:
            opts = process.RunOptions(cgroup_root=CGROUP_ROOT if cgroup else None, stdin=fi.fileno(),
                                      stdout=fo.fileno(), stderr=fe.fileno())
            if tracer is not None:
                opts.tracer = tracer
            st = process.run(spec, opts)
        return st, out.read_text(), err.read_text()

    def sh(self, script: str, **kw: Any) -> tuple[process.ExitStatus, str, str]:
        return self.run(self.spec("sh", "-c", script, **kw))


@pytest.fixture
def box(busybox_lower: Path, tmp_path: Path) -> Runner:
    return Runner(busybox_lower, tmp_path)


def test_pid1_is_the_command_and_host_is_invisible(box: Runner) -> None:
    st, out, _ = box.run(box.spec("cat", "/proc/1/cmdline"))
    assert st == process.ExitStatus(0) and out == "cat\0/proc/1/cmdline\0"
    st, out, _ = box.run(box.spec("ps", "-o", "pid,comm"))
    assert out.split() == ["PID", "COMMAND", "1", "ps"]


def test_hostname_mounts_masks_and_caps(box: Runner) -> None:
    assert Path("/proc/timer_list").read_text() and os.listdir("/proc/acpi") is not None
    st, out, err = box.sh("hostname; grep -E '^overlay / overlay ' /proc/self/mounts | wc -l; "
                          "wc -c < /proc/timer_list; ls /proc/acpi | wc -l; grep CapEff /proc/self/status; "
                          "echo x > /proc/sys/kernel/domainname && echo WROTE; "
                          "cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d ' '")
    assert st.code == 0, err
    lines = out.splitlines()
    assert lines[0] == "box"
    assert lines[1] == "1"  # the root is the overlay, mounted inside the container
    assert lines[2:4] == ["0", "0"]  # masked: /dev/null over files, an empty tmpfs over directories
    assert lines[4].split() == ["CapEff:", "00000000a80425fb"]  # Docker's default 14
    assert "WROTE" not in out and "Read-only file system" in err
    assert lines[5:] == ["lo"]  # own network namespace: only loopback


def test_read_only_root_and_bind_mounts(box: Runner, tmp_path: Path) -> None:
    host = tmp_path / "vol"
    host.mkdir()
    (host / "hello.txt").write_text("from host\n")
    mounts = (Mount("/data", "bind", str(host), ("rbind", "ro")),)
    st, out, err = box.sh("cat /data/hello.txt; touch /data/new || echo DATA-RO; touch /x || echo ROOT-RO; "
                          "touch /dev/shm/ok && echo SHM-RW", mounts=mounts, readonly=True)
    assert st.code == 0, err
    assert out.splitlines() == ["from host", "DATA-RO", "ROOT-RO", "SHM-RW"]
    assert not (host / "new").exists()


def test_exit_codes(box: Runner) -> None:
    assert box.sh("exit 42")[0] == process.ExitStatus(42)
    # the kernel shields a PID namespace's init from SIGKILL sent inside it (Docker: exit 0 too)
    assert box.sh("kill -9 $$")[0] == process.ExitStatus(0)
    no_pid_ns = tuple(n for n in Linux().namespaces if n.type != "pid")
    st, _, _ = box.run(box.spec("sh", "-c", "kill -9 $$", namespaces=no_pid_ns), cgroup=True)
    assert st == process.ExitStatus(137, signal.SIGKILL)


def test_missing_command_is_127(box: Runner) -> None:
    with pytest.raises(CommandNotFoundError, match=r'exec: "nope": executable file not found in \$PATH') as ei:
        box.run(box.spec("nope"))
    assert ei.value.exit_code == 127 and ei.value.stage == "exec"


def test_not_executable_is_126(box: Runner) -> None:
    with pytest.raises(CannotInvokeError, match="exec /etc/passwd: permission denied") as ei:
        box.run(box.spec("/etc/passwd"))
    assert ei.value.exit_code == 126


def test_crlf_shebang_names_the_interpreter(box: Runner, tmp_path: Path) -> None:
    app = tmp_path / "app"
    app.mkdir()
    (app / "run.sh").write_bytes(b"#!/bin/sh\r\necho hi\r\n")
    (app / "run.sh").chmod(0o755)
    spec = box.spec("/app/run.sh", mounts=(Mount("/app", "bind", str(app), ("rbind", "ro")),))
    with pytest.raises(CommandNotFoundError) as ei:
        box.run(spec)
    assert str(ei.value) == r'exec /app/run.sh: interpreter "/bin/sh\r" not found (CRLF line endings?)'


def test_users_from_the_images_passwd(box: Runner) -> None:
    _, out, _ = box.run(box.spec("id", user=User(name="nobody")))  # Docker prints the same
    assert out.strip() == "uid=65534(nobody) gid=65534(nobody) groups=65534(nobody)"
    for user in (User(name="root"), User()):  # named, and Docker's default
        _, out, _ = box.run(box.spec("id", user=user))
        assert out.strip() == "uid=0(root) gid=0(root) groups=0(root),10(wheel)"
    _, out, _ = box.sh("grep -E 'Cap(Eff|Prm)' /proc/self/status", user=User(1234, 5678))
    assert out.split() == ["CapPrm:", "0000000000000000", "CapEff:", "0000000000000000"]
    with pytest.raises(RuntimeSetupError, match="unable to find user ghost") as ei:
        box.run(box.spec("id", user=User(name="ghost")))
    assert ei.value.stage == "user"


def test_env_cwd_and_rlimits(box: Runner) -> None:
    _, out, _ = box.sh('pwd; echo "$FOO"; echo "$HOME"; ulimit -n', env=("FOO=bar baz",), cwd="/work/sub",
                        rlimits=(Rlimit("RLIMIT_NOFILE", 100, 200),))
    assert out.splitlines() == ["/work/sub", "bar baz", "/root", "100"]


def test_setup_failure_names_the_stage_and_leaves_nothing(box: Runner, tmp_path: Path) -> None:
    before = Path("/proc/self/mountinfo").read_text().count("\n")
    spec = box.spec("true", mounts=(Mount("/data", "bind", str(tmp_path / "missing"), ("rbind",)),))
    with pytest.raises(RuntimeSetupError) as ei:
        box.run(spec, cgroup=True)
    assert ei.value.stage == "rootfs" and "missing" in str(ei.value)
    assert Path("/proc/self/mountinfo").read_text().count("\n") == before
    assert not (CGROUP_ROOT / "pids" / spec.linux.cgroups_path).exists()


def test_explain_gets_one_ordered_list(box: Runner) -> None:
    tracer = Tracer()
    box.run(box.spec("true"), cgroup=True, tracer=tracer)
    titles = [(s.where, s.title) for s in tracer.steps]
    where = [w for w, _ in titles]
    first_init = where.index("init")
    assert "parent" in where[:first_init] and "child" not in where  # no intermediate process any more
    assert any(t.startswith("pivot_root") for _, t in titles)
    # the parent makes the PID namespace for its one fork; PID 1 makes the others itself
    assert [(s.where, s.shell) for s in tracer.steps if s.shell.startswith("unshare")] == [
        ("parent", "unshare --pid --fork"), ("init", "unshare --net --ipc --uts --mount"),
        ("init", "unshare --cgroup")]
    assert titles[-1][1].startswith("cgroup") or titles[-1][1].startswith("execve")


def test_hook_sees_the_new_network_namespace(box: Runner) -> None:
    seen: list[str] = []
    spec = box.spec("true")
    opts = process.RunOptions(on_namespaces=lambda pid: seen.append(os.readlink(f"/proc/{pid}/ns/net")))
    c = process.create(spec, opts)
    try:
        assert c.wait().code == 0
    finally:
        c.cleanup()
    assert seen and seen[0] != os.readlink("/proc/self/ns/net")


def test_joining_the_host_network(box: Runner) -> None:
    me = f"/proc/{os.getpid()}/ns/net"
    nss = (*(n for n in Linux().namespaces if n.type != "network"), Namespace("network", me))
    _, out, _ = box.sh("cat /proc/net/dev | tail -n +3 | wc -l", namespaces=nss)
    host = Path("/proc/self/net/dev").read_text().count("\n") - 2
    assert int(out) == host


def test_signals_are_forwarded(box: Runner) -> None:
    spec = box.spec("sh", "-c", "trap 'exit 7' TERM; echo up; while :; do sleep 0.01; done")
    timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGTERM))
    timer.start()
    try:
        st, out, _ = box.run(spec)
    finally:
        timer.cancel()
    assert st == process.ExitStatus(7) and out == "up\n"


def test_terminal(box: Runner) -> None:
    m, s = os.openpty()
    try:
        fcntl.ioctl(s, termios.TIOCSWINSZ, struct.pack("HHHH", 33, 101, 0, 0))
        spec = box.spec("sh", "-c", "test -t 0 && echo tty; tty; ls -l /dev/console | cut -c1; stty size",
                        terminal=True)
        st = process.run(spec, process.RunOptions(stdin=s, stdout=s, stderr=s))
        assert st.code == 0
        os.set_blocking(m, False)
        out = os.read(m, 65536).decode().replace("\r", "").splitlines()
    finally:
        os.close(m)
        os.close(s)
    assert out == ["tty", "/dev/pts/0", "c", "33 101"]


def _leftovers(tmp: Path) -> tuple[int, list[str]]:
    mounts = sum(str(tmp) in line for line in Path("/proc/self/mountinfo").read_text().splitlines())
    groups = [str(p) for p in CGROUP_ROOT.glob(f"*/minidock/test-{os.getpid()}-*")]
    return mounts, groups


def _container_children() -> list[str]:
    """Our children (we are a subreaper) that came from containers: anything but fixture servers."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)
        except OSError:
            continue
        comm, rest = fields[0].split("(", 1)[1], fields[1].split()
        if int(rest[1]) == os.getpid() and (rest[0] == "Z" or comm in ("sh", "sleep", "true", "busybox")):
            out.append(f"{stat.parent.name} {comm} {rest[0]}")
    return out


def test_orphans_without_a_pid_namespace_are_reaped(box: Runner) -> None:
    before = set(_container_children())
    no_pid_ns = tuple(n for n in Linux().namespaces if n.type != "pid")
    st, _, _ = box.run(box.spec("sh", "-c", "sleep 30 & sleep 30 & exit 3", namespaces=no_pid_ns), cgroup=True)
    assert st.code == 3
    assert set(_container_children()) <= before  # both sleeps were killed with the cgroup and reaped


def test_many_runs_leave_nothing_behind(box: Runner) -> None:
    mounts, _ = _leftovers(box.tmp)
    before = set(_container_children())
    for _ in range(50):
        assert box.run(box.spec("true"), cgroup=True)[0].code == 0
    assert _leftovers(box.tmp) == (mounts, [])
    assert set(_container_children()) <= before


def test_cgroup_namespace_root_is_the_container_group(box: Runner) -> None:
    st, out, _ = box.run(box.spec("cat", "/proc/self/cgroup"), cgroup=True)
    assert st.code == 0
    lines = {ln.split(":")[1]: ln.split(":")[2] for ln in out.splitlines()}
    assert lines["pids"] == "/" and lines["memory"] == "/"


def test_create_is_separable_from_waiting(box: Runner) -> None:
    c = process.create(box.spec("sleep", "10"), process.RunOptions(cgroup_root=CGROUP_ROOT))
    try:
        assert Path(f"/proc/{c.pid}/cmdline").read_bytes() == b"sleep\x0010\x00"
        assert c.cgroup is not None and c.pid in c.cgroup.procs()
        c.kill(signal.SIGKILL)
        assert c.wait() == process.ExitStatus(137, signal.SIGKILL)
    finally:
        c.cleanup()
    c.cleanup()  # idempotent
