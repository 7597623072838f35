"""`minidock run`/`create` flags: the argparse-free reader of plain command lines agrees with argparse."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from minidock.cli import runargs
from minidock.errors import UsageError

SIMPLE = [
    ["busybox"],
    ["busybox", "true"],
    ["--rm", "--network", "none", "busybox", "true"],
    ["--rm", "--network=none", "-e", "A=1", "--env", "B", "--env=C=3", "alpine", "sh", "-c", "echo $A"],
    ["-d", "--name", "web", "-p", "8080:80", "--publish=127.0.0.1:8081:80/tcp", "-P", "nginx"],
    ["-i", "-t", "--init", "--read-only", "--privileged", "-q", "--explain", "busybox", "sh"],
    ["-m", "32m", "--memory-swap", "64m", "--cpus", "0.5", "-c", "512", "--pids-limit=20", "busybox"],
    ["-v", "/a:/b:ro", "--volume=/c:/d", "--tmpfs", "/run", "--cap-add", "NET_ADMIN", "--cap-drop=ALL", "img"],
    ["-u", "1000:1000", "-w", "/tmp", "-h", "box", "--entrypoint", "", "busybox", "id"],
    ["--add-host", "db:10.0.0.2", "--dns", "1.1.1.1", "--restart", "on-failure:2", "--log-opt", "max-size=1m",
     "--cidfile", "/tmp/cid", "--pull", "never", "--platform", "linux/amd64", "--net", "host", "busybox"],
    ["-v", "name:/data", "-v", "/anon", "--mount", "type=volume,target=/m", "--volumes-from", "c:ro", "img"],
    ["-l", "a=b", "--label=c", "--label-file", "f", "--stop-signal", "USR1", "--stop-timeout", "3", "img"],
    ["--expose", "80", "--log-driver", "none", "--health-cmd", "true", "--health-interval=1s",
     "--health-timeout", "2s", "--health-start-period", "3s", "--health-retries", "4", "--no-healthcheck", "img"],
    ["--ulimit", "nofile=1:2", "--shm-size", "1g", "--sysctl", "net.ipv4.ip_forward=1", "-a", "stdout", "img"],
    ["--pid", "host", "--ipc=container:x", "--uts", "host", "--cgroupns=private", "--userns", "host",
     "--group-add", "10", "--group-add=wheel", "img"],
    ["--cpuset-cpus", "0-1", "--cpuset-mems=0", "--cpu-quota", "50000", "--cpu-period=100000", "--oom-kill-disable",
     "--memory-reservation", "32m", "--memory-swappiness", "10", "--oom-score-adj", "500", "--blkio-weight", "300",
     "--cpu-rt-period", "1000000", "--cpu-rt-runtime", "0", "img"],
    ["busybox", "--rm", "-e", "X"],  # after IMAGE everything is the command's
    ["busybox", "-it", "--", "x"],
    ["--name=", "--entrypoint=-x", "img"],
    [""],
]
ARGPARSE_ONLY = [
    [], ["--rm"], ["-it", "busybox"], ["-dit", "busybox"], ["--help"], ["--", "busybox"], ["--rm=1", "x"],
    ["-e"], ["-e", "-x", "busybox"], ["--memory-swap", "-1", "busybox"], ["-c", "x", "busybox"],
    ["--pids-limit=1.5", "busybox"], ["--unknown", "busybox"], ["--net=none", "--netw", "x", "busybox"],
    ["-eA=1", "busybox"], ["-e=A", "busybox"], ["--name"],
]


def _argparse(argv: list[str]) -> dict[str, object]:
    return vars(runargs.parser("run").parse_args(argv))


@pytest.mark.parametrize("argv", SIMPLE)
def test_simple_command_lines_read_as_argparse_reads_them(argv: list[str]) -> None:
    assert runargs._simple(argv) == _argparse(argv)


@pytest.mark.parametrize("argv", ARGPARSE_ONLY)
def test_other_command_lines_are_left_to_argparse(argv: list[str]) -> None:
    assert runargs._simple(argv) is None


def test_parse_gives_the_same_request_either_way() -> None:
    req = runargs.parse("run", ["--rm", "-e", "A=1", "-c", "5", "busybox", "echo", "hi"])
    assert (req.rm, req.env, req.cpu_shares, req.image, req.args) == (True, ("A=1",), 5, "busybox", ("echo", "hi"))
    assert runargs.parse("run", ["-it", "busybox"]) == req._replace(
        rm=False, env=(), cpu_shares=0, args=(), interactive=True, tty=True)
    for command, argv, want in (
            ("run", ["-c", "x", "busybox"],
             'invalid argument "x" for "-c, --cpu-shares" flag: strconv.ParseInt: parsing "x": invalid syntax'),
            ("create", ["--rm"], '"minidock create" requires at least 1 argument.'),
            ("run", ["--bogus", "busybox"], "unknown flag: --bogus")):
        with pytest.raises(UsageError) as e:
            runargs.parse(command, argv)
        assert str(e.value) == f"{want}\nSee 'minidock {command} --help'."


def test_resource_flags_are_typed_as_dockers_client_types_them() -> None:
    req = runargs.parse("run", ["--cpu-quota", "-1", "--memory-swappiness", "0", "--oom-score-adj=-5", "--blkio-weight",
                                "0300", "--oom-kill-disable", "--memory-reservation", "1.5g", "busybox"])
    assert (req.cpu_quota, req.memory_swappiness, req.oom_score_adj, req.blkio_weight, req.oom_kill_disable,
            req.memory_reservation) == (-1, 0, -5, 300, True, "1.5g")
    assert runargs.parse("run", ["busybox"]).memory_swappiness == -1  # not given
    for command, argv, want in (
            ("run", ["--blkio-weight", "x"], 'invalid argument "x" for "--blkio-weight" flag: strconv.ParseUint: '
                                             'parsing "x": invalid syntax'),
            ("create", ["--blkio-weight=-1"], 'invalid argument "-1" for "--blkio-weight" flag: strconv.ParseUint: '
                                              'parsing "-1": invalid syntax'),
            ("run", ["--blkio-weight", "65536"], 'invalid argument "65536" for "--blkio-weight" flag: '
                                                 'strconv.ParseUint: parsing "65536": value out of range'),
            ("run", ["--memory-swappiness", "1.5"], 'invalid argument "1.5" for "--memory-swappiness" flag: '
                                                    'strconv.ParseInt: parsing "1.5": invalid syntax'),
            ("run", ["--memory-reservation", "-1"], 'invalid argument "-1" for "--memory-reservation" flag: '
                                                    "invalid size: '-1'"),
            ("run", ["--oom-score-adj", "x"], 'invalid argument "x" for "--oom-score-adj" flag: strconv.ParseInt: '
                                              'parsing "x": invalid syntax')):
        with pytest.raises(UsageError) as e:
            runargs.parse(command, [*argv, "busybox"])
        assert str(e.value) == f"{want}\nSee 'minidock {command} --help'."
    with pytest.raises(UsageError, match=r"^invalid value: 101\. Valid memory swappiness range is 0-100$"):
        runargs.parse("run", ["--memory-swappiness", "101", "busybox"])


def test_a_value_that_starts_with_a_dash_is_the_flags_as_pflag_reads_it() -> None:
    """Docker's pflag takes the word after a value flag whatever it looks like; argparse alone would
    say `flag needs an argument`. After IMAGE every word is the command's, dashes or not."""
    req = runargs.parse("run", ["-e", "-X=1", "--entrypoint", "-x", "-de", "-Y", "--name", "-", "--memory-swap", "-1",
                                "busybox", "-e", "-Z"])
    assert (req.env, req.entrypoint, req.detach, req.name, req.memory_swap, req.image, req.args) == (
        ("-X=1", "-Y"), "-x", True, "-", "-1", "busybox", ("-e", "-Z"))
    for argv in (["-e"], ["-e", "--", "busybox"]):  # pflag takes `--` as the value: argparse cannot
        with pytest.raises(UsageError, match=r"^flag needs an argument: --env"):
            runargs.parse("run", argv)


@pytest.mark.skipif(shutil.which("docker") is None, reason="docker CLI not installed")
@pytest.mark.parametrize("argv", [["-e", "-X=1"], ["--entrypoint", "-x"], ["-de", "-Y"], ["--label", "--x"],
                                  ["--health-interval", "-1s"], ["--health-retries", "-1"], ["--health-timeout", "1"]])
def test_the_docker_client_and_minidock_agree_on_dashed_values(argv: list[str], tmp_path: Path) -> None:
    """docker/cli parses and checks its flags before it asks a daemon: with none listening, a line it
    accepts ends at `Cannot connect`. minidock (an empty store: no image) accepts the same lines and
    refuses the others before it looks for the image, with docker's words."""
    sock = f"unix://{tmp_path}/none.sock"
    docker = subprocess.run(["docker", "-H", sock, "run", *argv, "md-no-such-image"], capture_output=True,
                            text=True, check=False, timeout=30)
    ours = subprocess.run([sys.executable, "-m", "minidock", "run", *argv, "md-no-such-image"], capture_output=True,
                          text=True, check=False, timeout=30, env={**os.environ, "MINIDOCK_ROOT": str(tmp_path / "s")})
    accepted = "Cannot connect to the Docker daemon" in docker.stderr
    assert ("md-no-such-image" in ours.stderr) == accepted, (docker.stderr, ours.stderr)
    if not accepted:
        said = docker.stderr.splitlines()[0].removeprefix("docker: ")
        assert (ours.returncode, ours.stderr.splitlines()[0]) == (125, f"minidock: {said}"), ours.stderr
