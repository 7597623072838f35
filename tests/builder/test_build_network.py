"""The network of RUN steps (issue 12): the default bridge as Docker, --network, RUN --network, --add-host,
the failure line of a step whose network is unreachable, and nothing left after a build, a failed one or a
killed one."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from minidock.builder.buildnet import NONE, NetTarget, step_target
from minidock.builder.runstep import looks_like_network_failure
from minidock.engine.build import BuildRequest, build_image
from minidock.errors import BuildError, UsageError
from minidock.paths import Paths
from tests.fixtures.cli import until

pytestmark = pytest.mark.root


def test_step_target() -> None:
    bridge = NetTarget("bridge", "bridge", "minidock0", "10.88.0.0/16")
    assert step_target(bridge, "") is bridge and step_target(bridge, "default") is bridge
    assert step_target(bridge, "none") == NONE and step_target(NONE, "host").kind == "host"
    assert bridge.label == "default" and NetTarget("bridge", "mynet").label == "mynet" and NONE.label == "none"
    with pytest.raises(BuildError, match="invalid RUN --network=bridge"):
        step_target(bridge, "bridge")


def test_network_failure_markers() -> None:
    assert looks_like_network_failure(b"W: Temporary failure resolving 'deb.debian.org'\n")
    assert looks_like_network_failure(b"wget: bad address 'deb.debian.org'\n")
    assert not looks_like_network_failure(b"E: Unable to locate package nope\n")


def _build(ctx: Path, dockerfile: str, root: Path, **req: object) -> tuple[str, object]:
    (ctx / "Dockerfile").write_text(dockerfile)
    events: list[object] = []
    result = build_image(BuildRequest(context=str(ctx), **req), events.append, Paths(root))  # type: ignore[arg-type]
    out = b"".join(getattr(e, "data", b"") for e in events).decode()
    return out, result


def _ifindexes() -> set[int]:
    out = set()
    for p in Path("/sys/class/net").iterdir():
        try:
            out.add(int((p / "ifindex").read_text()))
        except OSError:
            continue  # another test's link, gone meanwhile
    return out


def _host_ends(out: str) -> set[int]:
    """The host ends of the RUN containers' veths (each step printed `iflink=N`; other helpers' differ)."""
    return {int(n) for n in re.findall(r"iflink=(\d+)", out)}


def _leases(root: Path) -> dict[str, str]:
    """The leases store `root` holds on minidock0 (the lease file is host-wide: other stores' are there too)."""
    from minidock.runtime.net import ipam

    return {cid: ip for cid, (ip, owner) in ipam.owned(ipam.HOST_DIR, "minidock0").items() if owner == str(root)}


def _build_rules() -> list[str]:
    save = subprocess.run(["iptables-save"], capture_output=True, text=True, check=True).stdout
    return [ln for ln in save.splitlines() if "minidock:" in ln and "minidock:net:" not in ln and ".build-" in ln]


def test_run_has_the_default_bridge(busybox_store: Callable[[], Path], tmp_path: Path) -> None:
    root, ctx = busybox_store(), tmp_path / "ctx"
    ctx.mkdir()
    df = ("FROM busybox\nRUN ls /sys/class/net; cat /etc/resolv.conf /etc/hosts; hostname; ip route\n"
          "RUN echo iflink=$(cat /sys/class/net/eth0/iflink)\n"
          "RUN --network=none ls /sys/class/net\nRUN --network=default ls /sys/class/net\n")
    out, _ = _build(ctx, df, root, add_hosts=("db.example:10.1.2.3",))
    assert out.count("eth0") >= 2 and "\nlo\n" in out  # default: the bridge; --network=none: loopback only
    assert "default via 10." in out and "buildkitsandbox" in out and "10.1.2.3\tdb.example" in out
    assert "nameserver 127." not in out and "nameserver" in out
    assert len(_host_ends(out)) == 1 and not _host_ends(out) & _ifindexes()
    assert not _leases(root) and not _build_rules()
    assert not list((root / "tmp").iterdir())
    # the network is in the cache key: the same RUN on --network none is a different step
    none_out, _ = _build(ctx, "FROM busybox\nRUN ls /sys/class/net\n", root, network="none")
    assert none_out.split() == ["lo"]
    host_out, _ = _build(ctx, "FROM busybox\nRUN ls /sys/class/net\n", root, network="host")
    assert {"lo", "eth0", "minidock0"} <= set(host_out.split())  # the host's (other tests' veths come and go)


def test_network_none_fails_to_resolve(busybox_store: Callable[[], Path], tmp_path: Path) -> None:
    root, ctx = busybox_store(), tmp_path / "ctx"
    ctx.mkdir()
    with pytest.raises(BuildError) as e:
        _build(ctx, "FROM busybox\nRUN wget -q -O /dev/null http://deb.debian.org/debian/\n", root, network="none")
    assert "step 2/2 RUN wget" in str(e.value) and "exit code 1" in str(e.value)
    assert "network unreachable or DNS failed; the step had network none" in str(e.value)
    with pytest.raises(BuildError, match="the step had network none"):
        _build(ctx, "FROM busybox\nRUN --network=none wget -q -O /dev/null http://deb.debian.org/debian/\n", root)
    assert not _leases(root) and not list((root / "tmp").iterdir())
    with pytest.raises(UsageError, match="a build cannot join a container's network"):
        _build(ctx, "FROM busybox\n", root, network="container:x")
    with pytest.raises(UsageError, match="invalid add-host"):
        _build(ctx, "FROM busybox\n", root, add_hosts=("nope",))


def _cli(root: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "MINIDOCK_ROOT": str(root)}
    return subprocess.Popen([sys.executable, "-m", "minidock", *args], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _cgroups_of(pid: int) -> list[Path]:
    return [p for p in Path("/sys/fs/cgroup").glob(f"*/minidock/build-p{pid}.*") if p.is_dir()]


@pytest.mark.parametrize("cleaner", ["next build", "check --repair"])
def test_killed_build_leaves_nothing(cleaner: str, busybox_store: Callable[[], Path], tmp_path: Path) -> None:
    root, ctx = busybox_store(), tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM busybox\nRUN echo iflink=$(cat /sys/class/net/eth0/iflink); sleep 60\n")
    proc = _cli(root, "build", "-t", "killed", str(ctx))
    try:
        assert proc.stdout is not None
        lines: list[str] = []
        while not re.search(r"iflink=\d", line := proc.stdout.readline()):
            assert line, "".join(lines)
            lines.append(line)
        host_end = _host_ends(line)
        assert _leases(root) and host_end <= _ifindexes() and _cgroups_of(proc.pid)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    # the container died with its build, and with its netns the kernel took the veth
    assert until(lambda: not host_end & _ifindexes(), timeout=10)
    # ...but the lease is the next command's to reclaim (or any build's on the host: one may have run since)
    if cleaner == "check --repair":
        subprocess.run([sys.executable, "-m", "minidock", "system", "check", "--repair"], capture_output=True,
                       env={**os.environ, "MINIDOCK_ROOT": str(root)}, check=False)
        assert not _leases(root) and not _cgroups_of(proc.pid)
    (ctx / "Dockerfile").write_text("FROM busybox\n")
    nxt = _cli(root, "build", "-q", str(ctx))
    assert nxt.wait(timeout=60) == 0, nxt.stdout.read() if nxt.stdout else ""
    assert not _leases(root) and not _build_rules() and not _cgroups_of(proc.pid)
    check = subprocess.run([sys.executable, "-m", "minidock", "system", "check"], capture_output=True, text=True,
                           env={**os.environ, "MINIDOCK_ROOT": str(root)}, check=False)
    assert check.returncode == 0, check.stdout + check.stderr
    mounts = Path("/proc/self/mountinfo").read_text()
    assert str(root) not in mounts


def test_interrupted_build_cleans_up_itself(busybox_store: Callable[[], Path], tmp_path: Path) -> None:
    """Ctrl-C (SIGINT): the build undoes its step on the way out (exit 130), no next command needed."""
    root, ctx = busybox_store(), tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM busybox\nRUN echo iflink=$(cat /sys/class/net/eth0/iflink); sleep 60\n")
    proc = _cli(root, "build", str(ctx))
    try:
        assert proc.stdout is not None
        while not re.search(r"iflink=\d", line := proc.stdout.readline()):
            assert line
        host_end = _host_ends(line)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 130
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert not _leases(root) and not _cgroups_of(proc.pid) and not host_end & _ifindexes()
    assert not list((root / "tmp").iterdir()) and not list((root / "snapshots").glob("build-*"))
    assert str(root) not in Path("/proc/self/mountinfo").read_text()


def test_system_check_reports_and_repairs_a_killed_builds_lease(tmp_path: Path) -> None:
    from minidock.builder.buildnet import dead_build_problems, repair_dead_build
    from minidock.runtime.net import ipam

    bridge, owner = f"mdtest{os.getpid()}", str(tmp_path / "store")
    lease = "0123456789ab.build-p1.1"  # pid 1 did not start at tick 1: a dead owner
    cgroups = tmp_path / "cgroup"
    for ctl in ("pids", "memory"):
        (cgroups / ctl / "minidock" / "build-p1.1.0123456789ab").mkdir(parents=True)
    try:
        ipam.allocate(ipam.HOST_DIR, bridge, "10.250.0.0/24", lease, owner)
        found = dead_build_problems(owner)
        assert [(p.kind, p.target) for p in found] == [("build-lease", f"{bridge}/{lease}")]
        assert dead_build_problems(str(tmp_path / "other")) == []  # another store's lease is not its problem
        repair_dead_build(found[0].target, cgroups)
        assert dead_build_problems(owner) == [] and not ipam.leases(ipam.HOST_DIR, bridge)
        assert not list(cgroups.glob("*/minidock/build-*"))  # dead builds' cgroups went with it
    finally:
        import shutil

        shutil.rmtree(f"{ipam.HOST_DIR}/{bridge}", ignore_errors=True)


def test_host_resolv_text_reads_a_stub_resolver_file(tmp_path: Path) -> None:
    from minidock.builder.runstep import host_resolv_text

    stub = tmp_path / "resolv.conf"
    stub.write_text("nameserver 127.0.0.53\noptions edns0\n")  # systemd-resolved's; not /etc's: kept as it is
    assert host_resolv_text(stub) == "nameserver 127.0.0.53\noptions edns0\n"
    assert host_resolv_text(tmp_path / "absent") == ""
