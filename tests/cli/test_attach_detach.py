"""Detach keys, --sig-proxy, start -i, attach --no-stdin, and the flags Docker 20.10 accepts that
minidock only checks (--runtime, --isolation, --kernel-memory, --storage-opt, --volume-driver,
--gpus, --link, --disable-content-trust), judged by Docker: the same command lines on a real pty
(python's pty module, every wait bounded) under the private dockerd and minidock, comparing exit
codes, what is printed and whether the container runs on.
"""

from __future__ import annotations

import os
import pty
import re
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from minidock.runtime.detachkeys import Scanner, to_bytes
from tests.fixtures.oracle import DOCKER, Both, Oracle, busybox_both, said

CTRL_P_Q = b"\x10\x11"


# ---- pure: docker/cli's key specs and the escape proxy -------------------------------------------
@pytest.mark.parametrize(("spec", "keys"), [
    ("ctrl-p,ctrl-q", CTRL_P_Q), ("ctrl-a", b"\x01"), ("a", b"a"), ("A", b"A"), ("1", b"1"), ("ctrl-@", b"\x00"),
    ("ctrl-[", b"\x1b"), ("ctrl-\\", b"\x1c"), ("ctrl-]", b"\x1d"), ("ctrl-^", b"\x1e"), ("ctrl-_", b"\x1f"),
    ("ctrl-z,ctrl-z", b"\x1a\x1a"), ("a,b,c", b"abc"), ("ctrl-a,x", b"\x01x"),
])
def test_key_specs_docker_accepts(spec: str, keys: bytes) -> None:
    assert to_bytes(spec) == keys


@pytest.mark.parametrize("spec", ["bogus", "ctrl-A", "ab", "ctrl-1", "ctrl-a,", "ctrl-", "ctrl-ab", ",", "ctrl-?"])
def test_key_specs_docker_refuses(spec: str) -> None:  # each checked: `Unrecognized input header` under Docker
    with pytest.raises(ValueError, match=r"^Unknown character: '"):
        to_bytes(spec)


def test_scanner_holds_back_a_prefix_and_gives_it_back() -> None:
    s = Scanner(CTRL_P_Q)
    assert s.feed(b"ls\x10") == (b"ls", False)  # ctrl-p may begin the sequence: held
    assert s.feed(b"x") == (b"\x10x", False)  # it did not: passed on, in order
    assert s.feed(b"\x10\x10") == (b"\x10", False)  # a second ctrl-p restarts the match
    assert s.feed(b"\x11rest") == (b"", True)  # detached; what follows is not typed into the container
    assert Scanner(b"").feed(CTRL_P_Q) == (CTRL_P_Q, False)


# ---- both engines on a pty ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def both(oracle: Oracle, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Both]:
    with busybox_both(oracle, tmp_path_factory.mktemp("md-attach") / "root",
                      ("ad1", "ad2", "ad3", "ad4", "ad5", "ad7")) as b:
        yield b


def _engines(both: Both) -> list[tuple[list[str], dict[str, str]]]:
    """(argv prefix, env) of Docker and of minidock."""
    return [([DOCKER, "-H", f"unix://{both.oracle.sock}"], both.oracle.env()),
            ([sys.executable, "-m", "minidock"], both.env)]


def on_pty(cmd: list[str], env: dict[str, str], steps: Sequence[tuple[bytes, bytes | int]], timeout: float = 30
           ) -> tuple[bytes, int]:
    """Run `cmd` with a pty as its stdin/stdout/stderr; each step waits for its text in the output,
    then types its bytes (or sends the command its signal). (output, exit status; -N for signal N)."""
    master, slave = pty.openpty()
    p = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True)
    os.close(slave)
    out, todo, deadline = b"", list(steps), time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if todo and todo[0][0] in out:
                action = todo.pop(0)[1]
                if isinstance(action, int):
                    p.send_signal(action)
                else:
                    time.sleep(0.2)  # why: a shell prints its prompt before it reads
                    os.write(master, action)
            if select.select([master], [], [], 0.1)[0]:
                try:
                    data = os.read(master, 65536)
                except OSError:  # EIO: every holder of the slave closed it
                    break
                if not data:
                    break
                out += data
            elif p.poll() is not None and not todo:
                break
        rc = p.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        os.close(master)
    assert not todo, f"{cmd[-3:]}: never saw {todo[0][0]!r} in {out!r}"
    return out, rc


def _running(both: Both, name: str) -> list[bool]:
    """Whether `name` runs, under Docker and under minidock."""
    return [engine("inspect", "-f", "{{.State.Running}}", name).stdout.strip() == "true"
            for engine in (both.oracle.docker, both.md)]


@pytest.mark.root
def test_run_it_detach_keys_leave_it_running_and_attach_finds_it(both: Both) -> None:
    for cmd, env in _engines(both):
        out, rc = on_pty([*cmd, "run", "-it", "--name", "ad1", "--network", "none", "busybox", "sh"], env,
                         [(b"# ", CTRL_P_Q)])
        assert rc == 0 and b"read escape sequence" not in out, (cmd[0], out)  # run: silent, 0
        out, rc = on_pty([*cmd, "attach", "ad1"], env, [(b"", b"echo hi-$((6*7))\r"), (b"hi-42", CTRL_P_Q)])
        assert rc == 1 and out.endswith(b"read escape sequence\r\n"), (cmd[0], out)  # attach: 1, and says so
        out, rc = on_pty([*cmd, "attach", "--detach-keys", "ctrl-a,a", "ad1"], env, [(b"", b"\x01a")])
        assert rc == 1 and b"read escape sequence" in out, (cmd[0], out)
    assert _running(both, "ad1") == [True, True]
    for cmd, env in _engines(both):
        out, rc = on_pty([*cmd, "exec", "-it", "ad1", "sh"], env, [(b"# ", CTRL_P_Q)])
        assert rc == 1 and b"read escape sequence" in out, (cmd[0], out)
        out, rc = on_pty([*cmd, "attach", "ad1"], env, [(b"", b"exit 3\r")])
        assert rc == 3, (cmd[0], out)
    assert _running(both, "ad1") == [False, False]


@pytest.mark.root
def test_detach_keys_from_the_config_file(both: Both, tmp_path: Path) -> None:
    """`detachKeys` in $DOCKER_CONFIG/config.json, under --detach-keys (which wins) and over the default."""
    (tmp_path / "config.json").write_text('{"detachKeys": "ctrl-a,b"}')
    for cmd, env in _engines(both):
        env = {**env, "DOCKER_CONFIG": str(tmp_path)}
        out, rc = on_pty([*cmd, "run", "-it", "--rm", "--name", "ad8", "--network", "none", "busybox", "sh"], env,
                         [(b"# ", CTRL_P_Q + b"echo still-$((5*5))\r"), (b"still-25", b"\x01b")])
        assert rc == 0, (cmd[0], out)  # ctrl-p,ctrl-q was typed into the shell; ctrl-a,b detached
        out, rc = on_pty([*cmd, "attach", "--detach-keys", "ctrl-p,ctrl-q", "ad8"], env, [(b"", b"\x01b\r" + CTRL_P_Q)])
        assert rc == 1 and b"read escape sequence" in out, (cmd[0], out)
    assert _running(both, "ad8") == [True, True]
    for engine in (both.oracle.docker, both.md):
        engine("rm", "-f", "ad8")


@pytest.mark.root
def test_start_interactive_and_attach_without_stdin(both: Both) -> None:
    for engine in (both.oracle.docker, both.md):
        assert engine("create", "-it", "--name", "ad2", "--network", "none", "busybox", "sh").returncode == 0
    for cmd, env in _engines(both):
        out, rc = on_pty([*cmd, "start", "-ai", "ad2"], env, [(b"# ", b"echo in-$((2*3))\r"), (b"in-6", CTRL_P_Q)])
        assert rc == 0 and b"read escape sequence" not in out, (cmd[0], out)  # start: silent, 0
    assert _running(both, "ad2") == [True, True]
    for cmd, env in _engines(both):  # --no-stdin: what is typed goes nowhere; a signal ends the attach
        out, rc = on_pty([*cmd, "attach", "--no-stdin", "ad2"], env, [(b"", b"exit 9\r"), (b"exit 9", signal.SIGKILL)])
        assert rc == -signal.SIGKILL, (cmd[0], out)
    assert _running(both, "ad2") == [True, True]
    for cmd, env in _engines(both):
        out, rc = on_pty([*cmd, "start", "-ai", "ad2"], env, [(b"", b"exit 4\r")])  # running: attaches
        assert rc == 4, (cmd[0], out)


@pytest.mark.root
def test_sig_proxy(both: Both) -> None:
    script = 'trap "echo got-term; exit 7" TERM; echo start; sleep 30 & wait'
    for cmd, env in _engines(both):
        out, rc = on_pty([*cmd, "run", "--rm", "--network", "none", "busybox", "sh", "-c", script], env,
                         [(b"start", signal.SIGTERM)])
        assert rc == 7 and b"got-term" in out, (cmd[0], out)  # proxied: the container chose its code
        out, rc = on_pty([*cmd, "run", "--name", "ad3", "--sig-proxy=false", "--network", "none", "busybox", "sh",
                          "-c", "echo start; sleep 30"], env, [(b"start", signal.SIGTERM)])
        assert rc == -signal.SIGTERM, (cmd[0], out)  # not proxied: the CLI ends as any program does
    assert _running(both, "ad3") == [True, True]  # and the container runs on
    for cmd, env in _engines(both):  # start -a proxies them too
        assert subprocess.run([*cmd, "create", "--name", "ad7", "--network", "none", "busybox", "sh", "-c", script],
                              env=env, capture_output=True, check=False, timeout=60).returncode == 0
        out, rc = on_pty([*cmd, "start", "-a", "ad7"], env, [(b"start", signal.SIGTERM)])
        assert rc == 7 and b"got-term" in out, (cmd[0], out)


# ---- the flags minidock only checks ---------------------------------------------------------------
ACCEPTED = [("--disable-content-trust",), ("--runtime", "runc"),
            ("--isolation", "default"), ("--volume-driver", "local"), ("--kernel-memory", "10m"),
            ("--sig-proxy=false",), ("--detach-keys", "ctrl-a")]
REFUSED = [("--runtime", "foo"), ("--isolation", "process"), ("--isolation", "hyperv"), ("--kernel-memory", "1k"),
           ("--kernel-memory", "bad"), ("--storage-opt", "size=10m"), ("--storage-opt", "foo=1"),
           ("--storage-opt", "foo"), ("--gpus", "all"), ("--gpus", "driver=nvidia,capabilities=compute"),
           ("--gpus", "bogus=1"), ("--gpus", "count=x"), ("--link", "foo", "--network", "none"), ("--link", ""),
           ("--link", "a:b:c"), ("--sig-proxy=maybe",)]


@pytest.mark.root
@pytest.mark.parametrize("flags", ACCEPTED + REFUSED, ids=" ".join)
def test_extra_flags_as_docker(both: Both, flags: tuple[str, ...]) -> None:
    cmd = ("run", "--rm", *(() if "--network" in flags else ("--network", "none")), *flags, "busybox", "echo", "ok")
    d, m = both.both(*cmd)
    assert (m.returncode, m.stdout, said(m.stderr)) == (d.returncode, d.stdout, said(d.stderr)), (d.stderr, m.stderr)
    if "--sig-proxy" in flags[0] or "--detach-keys" in flags[0]:  # run's own: `create` does not know them
        d, m = both.both("create", *flags, "busybox")
        assert (m.returncode, m.stderr) == (d.returncode, d.stderr.replace("docker", "minidock")) == (125, m.stderr)
    elif d.returncode:  # create: 1 for what Docker's daemon refuses, 125 for what its client does
        d, m = both.both("create", "--name", "ad6", *cmd[2:])
        assert (m.returncode, said(m.stderr)) == (d.returncode, said(d.stderr)), (d.stderr, m.stderr)
        if d.returncode == 0:  # --gpus: refused when it starts
            d, m = both.both("start", "ad6")
            assert (m.returncode, said(m.stderr)[:1]) == (d.returncode, said(d.stderr)[:1]), (d.stderr, m.stderr)
        for engine in (both.oracle.docker, both.md):
            engine("rm", "-f", "ad6")


@pytest.mark.root
def test_bad_detach_keys_are_refused_when_attaching(both: Both) -> None:
    """Docker's words on a terminal (without one its client garbles them: `Unrecognized input header`)."""
    for cmd, env in _engines(both):
        out, _ = on_pty([*cmd, "run", "--rm", "-t", "--network", "none", "--detach-keys", "bogus", "busybox", "true"],
                        env, [])
        assert b"Invalid detach keys (bogus) provided" in out, (cmd[0], out)
    d, m = both.both("run", "-d", "--name", "ad4", "--network", "none", "--detach-keys", "bogus", "busybox",
                     "sleep", "30")
    assert d.returncode == m.returncode == 0  # detached: nothing to refuse
    d, m = both.both("exec", "--detach-keys", "bogus", "ad4", "true")
    assert (m.returncode, said(m.stderr)) == (d.returncode, said(d.stderr)) == (1, said(d.stderr))
    d, m = both.both("attach", "--detach-keys", "bogus", "ad4")
    assert m.returncode == d.returncode == 1 and m.stderr == "Invalid detach keys (bogus) provided\n"
    for args in (("run", "--rm", "-it", "--network", "none", "busybox", "true"), ("exec", "-it", "ad4", "true")):
        d, m = both.both(*args)  # stdin is a pipe here: Docker's client wants a terminal for -it
        assert (m.returncode, m.stderr) == (d.returncode, d.stderr) == (1, "the input device is not a TTY\n"), args


@pytest.mark.root
def test_rm_link_stats_no_trunc_rmi_no_prune(both: Both) -> None:
    for engine in (both.oracle.docker, both.md):
        assert engine("run", "-d", "--name", "ad5", "--network", "none", "busybox", "sleep", "30").returncode == 0
        assert engine("tag", "busybox", "md-noprune:1").returncode == 0
    for args in (("rm", "-l", "ad5"), ("rm", "--link", "/ad5")):
        d, m = both.both(*args)
        assert (m.returncode, said(m.stderr)) == (d.returncode, said(d.stderr)) == (1, said(d.stderr)), args
    d, m = both.both("rm", "-l", "/ad5/nosuch")  # no such link: Docker looks for a container of that name
    assert m.returncode == d.returncode == 1 and "ad5/nosuch" in m.stderr
    assert _running(both, "ad5") == [True, True]
    d, m = both.both("stats", "--no-stream", "--no-trunc", "ad5")
    assert m.stdout.splitlines()[0].split("  ")[0] == d.stdout.splitlines()[0].split("  ")[0]
    for out in (d.stdout, m.stdout):
        assert re.match(r"[0-9a-f]{64}   ", out.splitlines()[1]), out
    both.same("stats", "--no-stream", "--no-trunc", "--format", "{{len .ID}}", "ad5")
    both.same("rmi", "--no-prune", "md-noprune:1")  # an untag: `Untagged: md-noprune:1`


@pytest.mark.root
def test_link_on_the_default_bridge_is_a_hosts_line(root: Path) -> None:
    """Docker's legacy links (not reachable under the oracle: its dockerd has no bridge): the linked
    container must exist and run; its address answers to the alias and its name."""
    from tests.fixtures import cli

    assert cli.md("run", "-d", "--name", "lk1", "busybox", "sleep", "60", timeout=60).returncode == 0
    r = cli.md("run", "--rm", "--link", "lk1:db", "busybox", "sh", "-c", "grep -w db /etc/hosts; ping -c1 -W2 db",
               timeout=60)
    assert r.returncode == 0 and " 0% packet loss" in r.stdout and re.search(r"^\S+\tdb$", r.stdout, re.M), r
    assert cli.md("create", "--name", "lk2", "busybox", "true", timeout=60).returncode == 0
    r = cli.md("run", "--rm", "--name", "lk3", "--link", "lk2", "busybox", "true", timeout=60)
    assert (r.returncode, r.stderr) == (125, "minidock: Cannot link to a non running container: /lk2 AS /lk3/lk2\n")
    r = cli.md("create", "--link", "nosuch:x", "busybox", "true", timeout=60)
    assert (r.returncode, r.stderr) == (1, "minidock: could not get container for nosuch: No such container: nosuch\n")
