"""Run flags that shape the container's Config: labels, stop signal/timeout, --expose, health checks, log driver."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from minidock.engine.ctrconfig import container_config
from minidock.engine.health import SECOND, HealthFlags, effective, judge, parse_duration, probe_command
from minidock.engine.request import RunRequest
from minidock.errors import UsageError
from minidock.oci.imageconfig import ContainerConfig
from tests.fixtures.cli import md, ok, until


def test_go_durations() -> None:
    assert parse_duration("1m30s", "f") == 90 * SECOND
    assert parse_duration("500ms", "f") == SECOND // 2
    assert parse_duration("1.5h", "f") == 5400 * SECOND
    assert parse_duration("0", "f") == 0
    for bad, said in (("", 'invalid duration ""'), ("10", 'missing unit in duration "10"'),
                      ("1x", 'unknown unit "x" in duration "1x"'), ("s", 'invalid duration "s"'),
                      ("1s2", 'missing unit in duration "1s2"')):  # Docker 20.10's words, each checked
        with pytest.raises(UsageError) as e:
            parse_duration(bad, "--health-interval")
        assert str(e.value) == f'invalid argument "{bad}" for "--health-interval" flag: time: {said}'
    assert parse_duration("-1s", "f") == -SECOND


def test_effective_healthcheck_merges_flags_over_the_image() -> None:
    image = {"Test": ["CMD", "true"], "Interval": 5 * SECOND, "Retries": 7}
    assert effective(image, HealthFlags()) == image
    merged = effective(image, HealthFlags(cmd="curl -f x", timeout="2s"))
    assert merged == {"Test": ["CMD-SHELL", "curl -f x"], "Interval": 5 * SECOND, "Retries": 7, "Timeout": 2 * SECOND}
    assert effective(image, HealthFlags(disabled=True)) is None
    assert effective({"Test": ["NONE"]}, HealthFlags()) is None
    with pytest.raises(UsageError):
        effective(None, HealthFlags(cmd="x", disabled=True))
    assert probe_command(["CMD-SHELL", "a && b"]) == ("/bin/sh", "-c", "a && b")
    assert probe_command(["CMD", "a", "b"]) == ("a", "b")


def test_health_state_machine() -> None:
    assert judge("starting", 0, 1, in_start_period=True, retries=3) == ("starting", 0)
    assert judge("starting", 2, 1, in_start_period=False, retries=3) == ("unhealthy", 3)
    assert judge("unhealthy", 3, 0, in_start_period=False, retries=3) == ("healthy", 0)
    assert judge("healthy", 0, 1, in_start_period=True, retries=1) == ("unhealthy", 1)  # the start period is over


def test_container_config() -> None:
    image = ContainerConfig(labels={"a": "1"}, exposed_ports=("80/tcp",), stop_signal="SIGQUIT")
    req = RunRequest(image="x", labels=("b=2", "a=3"), expose=("81", "90-91/udp"), stop_timeout=3)
    cfg = container_config(req, image)
    assert cfg["Labels"] == {"a": "3", "b": "2"}
    assert list(cfg["ExposedPorts"]) == ["80/tcp", "81/tcp", "90/udp", "91/udp"]
    assert (cfg["StopSignal"], cfg["StopTimeout"]) == ("SIGQUIT", 3)
    for bad in (RunRequest(image="x", stop_signal="NOPE"), RunRequest(image="x", expose=("http",)),
                RunRequest(image="x", log_driver="syslog"), RunRequest(image="x", health_interval="5")):
        with pytest.raises(UsageError):
            container_config(bad, ContainerConfig())


@pytest.fixture
def root(busybox_store: Callable[[], Path]) -> Iterator[Path]:
    r = busybox_store()
    yield r
    for cid in ok("ps", "-aq").split():
        md("rm", "-f", cid)


def _state(name: str) -> dict[str, object]:
    cid = ok("ps", "-aq", "--no-trunc", "--filter", f"name=^{name}$").strip()
    return json.loads((Path(_root()) / "containers" / cid / "state.json").read_text())


def _root() -> str:
    import os

    return os.environ["MINIDOCK_ROOT"]


@pytest.mark.root
def test_labels_filter_and_stop_signal(root: Path) -> None:
    ok("run", "-d", "--name", "lab", "--network", "none", "-l", "team=a", "--label", "tier",
       "--stop-signal", "SIGUSR1", "busybox", "sh", "-c", "trap 'exit 42' USR1; while :; do sleep 0.1; done")
    ok("run", "-d", "--name", "other", "--network", "none", "busybox", "sleep", "100")
    assert ok("ps", "-q", "--filter", "label=team=a") == ok("ps", "-q", "--filter", "label=tier")
    assert len(ok("ps", "-q", "--filter", "label=team").split()) == 1
    assert ok("ps", "-q", "--filter", "label=team=b") == ""
    start = time.monotonic()
    ok("stop", "lab")
    assert time.monotonic() - start < 5  # the trap ran: USR1 was sent, not SIGTERM then a 10 s wait
    assert _state("lab")["exit_code"] == 42


@pytest.mark.root
def test_stop_timeout_from_run(root: Path) -> None:
    ok("run", "-d", "--name", "st", "--network", "none", "--stop-timeout", "1", "busybox", "sleep", "100")
    start = time.monotonic()
    ok("stop", "st")  # sleep as PID 1 ignores SIGTERM: killed after 1 s, not 10
    assert 0.9 < time.monotonic() - start < 5


@pytest.mark.root
def test_health_check_runs_in_the_monitor(root: Path) -> None:
    ok("run", "-d", "--name", "hc", "--network", "none", "--health-cmd", "test -e /tmp/ok && echo fine",
       "--health-interval", "200ms", "--health-retries", "2", "busybox", "sleep", "100")
    assert "(health: starting)" in ok("ps")
    assert until(lambda: "(unhealthy)" in ok("ps"), timeout=10)
    assert ok("ps", "-q", "--filter", "health=unhealthy") != ""
    ok("exec", "hc", "sh", "-c", "echo > /tmp/ok")
    assert until(lambda: "(healthy)" in ok("ps"), timeout=10)
    health = _state("hc")["health"]
    assert isinstance(health, dict) and health["Status"] == "healthy" and health["FailingStreak"] == 0
    assert health["Log"][-1]["ExitCode"] == 0 and health["Log"][-1]["Output"] == "fine\n"
    assert len(health["Log"]) <= 5


@pytest.mark.root
def test_no_healthcheck_and_log_driver_none(root: Path, tmp_path: Path) -> None:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM busybox\nHEALTHCHECK --interval=1s CMD false\n")
    ok("build", "-q", "-t", "hcimg", str(ctx))
    ok("run", "-d", "--name", "nohc", "--network", "none", "--no-healthcheck", "--log-driver", "none",
       "hcimg", "sh", "-c", "echo hi; sleep 100")
    time.sleep(1.5)
    assert "health" not in ok("ps") and _state("nohc")["health"] == {}
    r = md("logs", "nohc")
    assert r.returncode == 1 and "does not support reading" in r.stderr


def test_ulimit_shm_sysctl_parsing() -> None:
    from minidock.engine.limits import UNLIMITED, parse_ulimit, sysctls, ulimits, with_shm_size
    from minidock.oci.runtimespec import Mount, Rlimit

    assert parse_ulimit("nofile=1024:2048") == Rlimit("RLIMIT_NOFILE", 1024, 2048)
    assert parse_ulimit("core=-1") == Rlimit("RLIMIT_CORE", UNLIMITED, UNLIMITED)
    assert ulimits(("nproc=5", "nproc=7")) == (Rlimit("RLIMIT_NPROC", 7, 7),)
    for bad in ("nofile", "bogus=1", "nofile=a", "nofile=10:5", "nofile=-5"):
        with pytest.raises(UsageError):
            parse_ulimit(bad)
    shm = with_shm_size((Mount("/dev/shm", "tmpfs", "shm", ("nosuid", "size=65536k")),), "16m")
    assert shm[0].options == ("nosuid", f"size={16 << 20}")
    assert sysctls(("net.ipv4.ip_forward=1", "kernel.shmmax=5", "fs.mqueue.msg_max=20"), "bridge") == \
        {"net.ipv4.ip_forward": "1", "kernel.shmmax": "5", "fs.mqueue.msg_max": "20"}
    for bad, network in (("kernel.hostname=x", "bridge"), ("net.ipv4.ip_forward=1", "host"), ("novalue", "none")):
        with pytest.raises(UsageError):
            sysctls((bad,), network)


def test_update_changes_limits_and_policy(root: Path) -> None:
    from minidock.engine.update import UpdateRequest, changes, merged
    from minidock.oci.runtimespec import Resources

    assert changes(UpdateRequest(memory="32m", cpus="0.5")) == {"memory_limit": 32 << 20, "cpu_quota": 50000,
                                                                "cpu_period": 100000}
    with pytest.raises(UsageError, match="memoryswap"):
        merged(Resources(memory_limit=10, memory_swap=20), {"memory_limit": 30})
    ok("run", "-d", "--name", "up", "--network", "none", "-m", "64m", "busybox", "sleep", "100")
    assert ok("update", "-m", "32m", "--memory-swap", "64m", "--pids-limit", "50", "--restart", "on-failure:2",
              "up") == "up\n"
    out = ok("exec", "up", "cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/pids/pids.max")
    assert out.split() == [str(32 << 20), "50"]
    assert _state("up")["host_config"]["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 2}
    r = md("update", "up")
    assert r.returncode == 1 and "one or more flags" in r.stderr  # Docker: exit 1


def test_attach_picks_the_streams(root: Path) -> None:
    r = md("run", "--rm", "--network", "none", "-a", "stdout", "busybox", "sh", "-c", "echo out; echo err >&2")
    assert (r.returncode, r.stdout, r.stderr) == (0, "out\n", "")
    r = md("run", "--rm", "--network", "none", "-a", "STDERR", "busybox", "sh", "-c", "echo out; echo err >&2")
    assert (r.stdout, r.stderr) == ("", "err\n")
    for bad in (["-d", "-a", "stdout"], ["-a", "stdweird"]):
        r = md("run", "--rm", "--network", "none", *bad, "busybox", "true")
        assert r.returncode == 125 and len(r.stderr.splitlines()) == 1, r.stderr


def test_foreground_run_is_logged_and_kept_across_starts(root: Path) -> None:
    r = md("run", "--name", "fg", "--network", "none", "busybox", "sh", "-c", "echo out; echo err >&2")
    assert (r.returncode, r.stdout, r.stderr) == (0, "out\n", "err\n")
    logs = md("logs", "fg")
    assert (logs.stdout, logs.stderr) == ("out\n", "err\n")
    ok("start", "fg")
    assert until(lambda: md("logs", "fg").stdout == "out\nout\n", timeout=10)
    r = md("run", "--name", "piped", "--network", "none", "busybox", "sh", "-c", "seq 1 20000; echo done >&2")
    assert r.returncode == 0 and md("logs", "piped").stdout.endswith("20000\n")


def test_rm_containers_start_attached_and_restart(root: Path) -> None:
    """create --rm + start -a prints the output and exits with the container's code (its record is
    gone by then: the journal keeps the code); restart keeps an --rm container, stop removes it."""
    ok("create", "--rm", "--network", "none", "--name", "crm", "busybox", "sh", "-c", "echo hi; exit 3")
    r = md("start", "-a", "crm")
    assert (r.returncode, r.stdout) == (3, "hi\n") and ok("ps", "-aq", "--filter", "name=crm") == ""
    ok("run", "-d", "--rm", "--network", "none", "--name", "rr", "busybox", "sleep", "100")
    ok("restart", "-t", "0", "rr")
    assert ok("ps", "--filter", "name=rr", "--format", "{{.State}}") == "running\n"
    ok("stop", "-t", "0", "rr")
    assert until(lambda: ok("ps", "-aq", "--filter", "name=rr") == "", timeout=10)
