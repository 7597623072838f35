"""Docker 20.10 as the judge of the CLI's shapes: the same invocations under the private dockerd and
minidock, comparing template output, table headers, JSON keys, error lines and exit codes.

Both engines hold busybox (pulled through the same registry mirror) and the same three containers:
cc1 created (labels, env), cc2 running, cc3 exited after writing to stdout and stderr.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.oracle import Both, Oracle, busybox_both

pytestmark = pytest.mark.root


SETUP = (("create", "--name", "cc1", "--network", "none", "-l", "a=b", "-l", "c=d", "-e", "FOO=bar", "busybox",
          "sleep", "1000"),
         ("run", "-d", "--name", "cc2", "--network", "none", "busybox", "sleep", "1000"),
         ("run", "-d", "--name", "cc3", "--network", "none", "busybox", "sh", "-c", "echo out; echo err >&2; exit 3"),
         ("wait", "cc3"), ("volume", "create", "--label", "k=v", "cv1"))


@pytest.fixture(scope="module")
def both(oracle: Oracle, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Both]:
    with busybox_both(oracle, tmp_path_factory.mktemp("md-compat") / "root", ("cc1", "cc2", "cc3"), SETUP,
                      volumes=("cv1",)) as b:
        yield b


def test_ps_templates_and_tables(both: Both) -> None:
    both.same("ps", "-a", "--format", "{{.Names}}|{{.Image}}|{{.Command}}|{{.State}}|{{.Label \"a\"}}")
    both.same("ps", "-a", "--format", "table {{.Names}}\\t{{.State}}\\t{{.Networks}}")
    both.same("ps", "-a", "--no-trunc", "--format", "{{.Command}}")
    both.same("ps", "-a", "--format", "table {{.Names}}\\t{{.Label \"a\"}}")
    both.same("ps", "--format", "{{.Names}}")
    both.same("ps", "-a", "-n", "1", "--format", "{{.Names}}")
    d, m = both.both("ps", "-a")
    assert re.split(r"\s{2,}", m.stdout.splitlines()[0]) == re.split(r"\s{2,}", d.stdout.splitlines()[0])
    assert len(m.stdout.splitlines()) == len(d.stdout.splitlines())
    d, m = both.both("ps", "-a", "--format", "{{json .}}")
    assert [sorted(json.loads(x)) for x in m.stdout.splitlines()] == [sorted(json.loads(x))
                                                                       for x in d.stdout.splitlines()]


def test_inspect_templates(both: Both) -> None:
    both.same("inspect", "-f", "{{.Name}} {{.Path}} {{json .Args}} {{.State.Status}} {{.State.Running}} "
              "{{.State.ExitCode}} {{.RestartCount}} {{json .Config.Cmd}} {{json .Config.Labels}} "
              "{{.HostConfig.NetworkMode}} {{.Config.Image}}", "cc1", "cc2", "cc3")
    both.same("inspect", "-f", "{{range $k, $v := .Config.Labels}}{{$k}}={{$v}};{{end}} {{index .Config.Labels \"a\"}}"
              " {{.Config.Labels.zz}} {{len .Config.Labels}} {{upper .Name}} {{join .Config.Cmd \",\"}}", "cc1")
    both.same("container", "inspect", "--format", "{{if .State.Running}}up{{else}}down{{end}}", "cc2", "cc3")
    both.same("inspect", "-f", "{{json .Config.Env}} {{json .Config.Entrypoint}} {{.Config.WorkingDir}}|"
              "{{.Config.User}}|{{.Config.Tty}} {{.Config.OpenStdin}} {{.HostConfig.AutoRemove}}", "cc1", "cc2")
    both.same("inspect", "--type", "image", "-f", "{{.Os}} {{.Architecture}} {{json .RepoTags}}", "busybox")


def test_inspect_json_shape(both: Both) -> None:
    d, m = both.both("inspect", "cc2")
    dj, mj = json.loads(d.stdout)[0], json.loads(m.stdout)[0]
    assert set(dj) - set(mj) <= {"GraphDriver", "SizeRw", "SizeRootFs"}
    for part in ("State", "Config", "NetworkSettings"):
        assert set(dj[part]) <= set(mj[part]) | {"Domainname"}, part
    assert set(mj["HostConfig"]) & set(dj["HostConfig"]) >= {"Binds", "NetworkMode", "RestartPolicy", "AutoRemove",
                                                            "Privileged", "Memory", "PortBindings", "LogConfig"}


def test_image_inspect_shape(both: Both) -> None:
    d, m = both.both("image", "inspect", "busybox")
    dj, mj = json.loads(d.stdout)[0], json.loads(m.stdout)[0]
    missing = set(dj) - set(mj)
    assert missing <= {"Parent", "Comment", "Container", "ContainerConfig", "DockerVersion", "Author",
                       "VirtualSize", "GraphDriver"}, missing
    assert {"Id", "RepoTags", "RepoDigests", "Created", "Config", "Architecture", "Os", "Size", "RootFS",
            "Metadata"} <= set(mj)
    both.same("image", "inspect", "-f", "{{.Os}}/{{.Architecture}} {{json .RepoTags}} {{.RootFS.Type}} "
              "{{len .RootFS.Layers}}", "busybox")


def test_missing_objects_and_mixed_lists(both: Both) -> None:
    for args in (("inspect", "nothere"), ("inspect", "-f", "{{.Name}}", "cc1", "nothere"),
                 ("inspect", "--type", "container", "nothere"), ("network", "inspect", "-f", "{{.Name}}", "none", "x")):
        both.same(*args)
        both.same_error(*args)
    for args in (("rm", "nothere"), ("stop", "nothere"), ("kill", "nothere"), ("logs", "nothere"),
                 ("rmi", "nothere"), ("network", "rm", "nothere"), ("exec", "cc1", "true"), ("start", "nothere"),
                 ("restart", "nothere"), ("top", "nothere"), ("port", "nothere"), ("wait", "nothere")):
        d, m = both.both(*args)
        assert (m.returncode, m.stdout) == (d.returncode, d.stdout), (args, d.stderr, m.stderr)
        assert m.stderr.count("\n") == 1, m.stderr


@pytest.mark.parametrize("args", [("image", "remove", "nothere"),
                                  ("image", "rmi", "nothere"), ("volume", "remove", "nothere"),
                                  ("network", "remove", "nothere"), ("volume", "list", "-q", "-f", "name=nothere"),
                                  ("push", "--disable-content-trust", "nothere")],
                         ids=" ".join)
def test_docker_aliases_and_accepted_flags(both: Both, args: tuple[str, ...]) -> None:
    """Docker's hidden aliases (`image rmi`, `volume remove`, ...) and `--disable-content-trust` on push and
    pull: the same exit code and output as Docker's, an error line where Docker has one."""
    d, m = both.both(*args)
    assert (m.returncode, m.stdout) == (d.returncode, d.stdout), (args, d.stderr, m.stderr)
    assert m.stderr.count("\n") == d.stderr.count("\n"), (d.stderr, m.stderr)


def test_pull_accepts_disable_content_trust_and_container_remove_is_no_alias(both: Both) -> None:
    d, m = both.both("pull", "-q", "--disable-content-trust", "busybox")
    assert (m.returncode, m.stdout) == (d.returncode, d.stdout) == (0, d.stdout), (d.stderr, m.stderr)
    d, m = both.both("container", "remove", "cc1")  # Docker 20.10: the group's usage, exit 1; cc1 stays
    assert (m.returncode, m.stdout) == (d.returncode, d.stdout) == (1, ""), (d.stderr, m.stderr)
    assert "'remove' is not a minidock command" in m.stderr and both.md("inspect", "cc1").returncode == 0


def test_exec_env_file_privileged_and_unknown_flags(both: Both, tmp_path: Path) -> None:
    env = tmp_path / "env"
    env.write_text("# comment\nA=1\nB=from file\nHOME\n")
    both.same("exec", "--env-file", str(env), "-e", "B=flag", "cc2", "sh", "-c", "echo $A $B")
    both.same("exec", "cc2", "grep", "^Cap", "/proc/self/status")
    host = next(ln.split()[1] for ln in Path("/proc/self/status").read_text().splitlines() if ln.startswith("CapBnd"))
    for user in ("0", "1000"):
        d, m = both.both("exec", "--privileged", "-u", user, "cc2", "grep", "^Cap[BPE]", "/proc/self/status")
        if d.returncode == 0:
            assert (m.returncode, m.stdout) == (0, d.stdout)
        else:  # runc asks for every capability the kernel knows: EPERM where this host's bounding set lacks one
            assert "unable to apply caps" in d.stdout + d.stderr and m.returncode == 0, (d.stdout, m.stderr)
            want = host if user == "0" else "0" * 16
            assert m.stdout.split() == ["CapPrm:", want, "CapEff:", want, "CapBnd:", host], m.stdout
    both.same_error("exec", "--bogus", "cc2", "true")
    d, m = both.both("exec", "--env-file", str(tmp_path / "absent"), "cc2", "true")
    assert (m.returncode, m.stderr.removeprefix("minidock: ")) == (d.returncode, d.stderr) == (1, d.stderr), m.stderr


def test_log_opts_attrs_and_details(both: Both) -> None:
    """--log-opt labels/env/-regex: each entry's attrs, shown by `logs --details`; LogConfig as typed."""
    run = ("run", "--name", "cl1", "--network", "none", "--label", "ab=1", "--label", "c=x y&z", "-e", "EA=1",
           "-e", "EB=2", "--log-opt", "labels=c,nope", "--log-opt", "env-regex=^EB", "--log-opt", "labels-regex=b",
           "--log-opt", "max-size=1k", "busybox", "sh", "-c", "echo out; sleep 0.3; echo err >&2")
    # the sleep orders the two lines in the log for --tail 1: each engine copies stdout and stderr apart
    try:
        for engine in (both.oracle.docker, both.md):
            assert engine(*run).returncode == 0
        for args in (("logs", "--details", "cl1"), ("logs", "--details", "--tail", "1", "cl1"),
                     ("container", "logs", "--details", "cl1")):
            d, m = both.both(*args)
            assert (m.returncode, m.stdout, m.stderr) == (d.returncode, d.stdout, d.stderr), args
        both.same("logs", "--details", "cc3")  # no attrs: a space before each line
        both.same("inspect", "-f", "{{json .HostConfig.LogConfig}}", "cl1", "cc1")
        d, m = both.both("create", "--log-opt", "bogus=1", "busybox")
        assert (m.returncode, m.stderr.removeprefix("minidock: ")) == (1, d.stderr.removeprefix("Error response "
                                                                                                "from daemon: "))
    finally:
        for engine in (both.oracle.docker, both.md):
            engine("rm", "cl1")


def test_prune_filters(both: Both) -> None:
    """container prune --filter label=/label!=/until= (only this test's labelled containers are at stake:
    the oracle daemon is shared) and the error lines of a bad filter."""
    listed = ("ps", "-a", "--filter", "label=mdprune", "--format", "{{.Label \"mdprune\"}}")
    for engine in (both.oracle.docker, both.md):
        for value in ("1", "2", "3"):
            assert engine("create", "--network", "none", "--label", f"mdprune={value}", "busybox").returncode == 0
    try:
        for f in (("--filter", "label=mdprune=1"), ("--filter", "label=mdprune", "--filter", "label!=mdprune=3",
                                                    "--filter", "until=1h")):
            d, m = both.both("container", "prune", "-f", *f)
            assert (m.returncode, len(m.stdout.splitlines())) == (d.returncode, len(d.stdout.splitlines())), f
            assert sorted(both.md(*listed).stdout.split()) == sorted(both.oracle.docker(*listed).stdout.split()), f
        for args in (("container", "prune", "-f", "--filter", "foo=1"), ("image", "prune", "-f", "--filter", "foo=1"),
                     ("container", "prune", "-f", "--filter", "until=garbage")):
            d, m = both.both(*args)
            assert (m.returncode, m.stderr) == (d.returncode, d.stderr), args
    finally:
        for engine in (both.oracle.docker, both.md):
            engine("container", "prune", "-f", "--filter", "label=mdprune")


def test_ps_position_port_and_task_filters(both: Both) -> None:
    ours = ("--filter", "name=^cc[123]$", "--format", "{{.Names}}")
    for f in ("before=cc3", "since=cc1", "before=cc3", "is-task=false", "is-task=true", "expose=80", "publish=80"):
        both.same("ps", "-a", "--filter", f, *ours)
    both.same("ps", "--filter", "since=cc1", *ours)  # no -a: running ones only
    for f in ("before=nosuch", "is-task=maybe", "publish=abc", "expose=1:2"):
        d, m = both.both("ps", "--filter", f)
        assert (m.returncode, m.stdout) == (d.returncode, d.stdout) == (1, ""), f
        assert m.stderr.removeprefix("minidock: ") == d.stderr.removeprefix("Error response from daemon: "), f


def test_sizes_of_containers_and_images(both: Both) -> None:
    """ps -s / .Size, inspect -s (SizeRw, SizeRootFs: nil without -s), image Size/VirtualSize: the same
    bytes as Docker's overlay2 counts them (symlinks by their length, whiteouts 0, hard links once)."""
    script = "head -c 123456 /dev/zero > /f; mkdir /d; echo hi > /d/x; ln /f /d/h; ln -s /f /d/s; rm /bin/ls"
    for engine in (both.oracle.docker, both.md):
        assert engine("run", "--name", "cs1", "--network", "none", "busybox", "sh", "-c", script).returncode == 0
    try:
        both.same("ps", "-a", "--filter", "name=cs1", "--format", "{{.Names}} {{.Size}}")
        both.same("inspect", "-s", "-f", "{{.SizeRw}} {{.SizeRootFs}}", "cs1")
        both.same("container", "inspect", "--size", "-f", "{{.SizeRw}}", "cs1")
        both.same("inspect", "-f", "{{.SizeRw}} {{json .SizeRootFs}} {{.GraphDriver.Name}}", "cs1")
        both.same("image", "inspect", "-f", "{{.Size}} {{.VirtualSize}} {{.GraphDriver.Name}}", "busybox")
        d, m = both.both("ps", "-as", "--filter", "name=cs1")
        assert m.stdout.splitlines()[0].split() == d.stdout.splitlines()[0].split()
        assert m.stdout.split("   ")[-1] == d.stdout.split("   ")[-1]  # the SIZE column
        for args in (("inspect", "cs1"), ("inspect", "-s", "cs1"), ("inspect", "-f", "{{json .}}", "cs1")):
            d, m = both.both(*args)
            dj, mj = json.loads(d.stdout), json.loads(m.stdout)
            dj, mj = (dj[0], mj[0]) if isinstance(dj, list) else (dj, mj)
            assert list(mj).index("Mounts") - list(mj).index("HostConfig") == \
                list(dj).index("Mounts") - list(dj).index("HostConfig"), args
    finally:
        for engine in (both.oracle.docker, both.md):
            engine("rm", "cs1")


def test_container_names_and_create_exit_codes(both: Both) -> None:
    """Docker's name rule (two characters at least, a leading "/" is the same name) and its create
    exit codes: 1 for what the daemon refuses (name in use, no such image), 125 for a bad flag value."""
    for args in (("create", "--name", "x", "busybox"), ("create", "--name", "_x", "busybox"),
                 ("create", "--name", "/cc1", "busybox"), ("create", "--name", "cc1", "busybox"),
                 ("run", "--name", "cc1", "busybox"), ("run", "--name", "y", "busybox"),
                 ("create", "--pull", "never", "nosuchimage"), ("create", "-e", "=x", "busybox"),
                 ("create", "-w", "rel", "busybox"), ("create", "-v", "/tmp:rel", "busybox"),
                 ("rename", "cc1", "z")):
        d, m = both.both(*args)
        assert (m.returncode, m.stdout) == (d.returncode, d.stdout), (args, d.stderr, m.stderr)
        assert m.stderr.count("\n") == 1 or m.stderr.startswith("minidock: invalid argument"), m.stderr
    for engine in (both.oracle.docker, both.md):
        try:
            assert engine("create", "--name", "/cc4", "--network", "none", "busybox").returncode == 0
            assert engine("ps", "-a", "--filter", "name=cc4", "--format", "{{.Names}}").stdout == "cc4\n"
        finally:
            engine("rm", "cc4")


@pytest.mark.parametrize("args", [
    ("inspect", "-f", "{{.Foo", "cc1"), ("inspect", "-f", "{{.Foo}}", "cc1"),
    ("inspect", "-f", "{{.Config.Nope}}", "cc1"),
    ("ps", "--format", "{{.Foo"), ("ps", "--format", "{{.Foo}}"), ("images", "--format", "{{.Foo"),
    ("network", "ls", "--format", "{{.Foo"), ("version", "--format", "{{.Foo"), ("version", "--format", "{{.Foo}}"),
    ("info", "--format", "{{.Foo"), ("info", "--format", "{{.Foo}}"), ("ps", "--bogus"), ("ps", "-x"),
    ("ps", "--format"), ("stop", "-t", "x", "cc2"), ("images", "--bogus"), ("network", "ls", "--bogus"),
    ("container", "ls", "--bogus"), ("run", "--bogus", "busybox"), ("run", "-c", "x", "busybox"),
])
def test_errors_are_dockers(both: Both, args: tuple[str, ...]) -> None:
    both.same_error(*args)


def test_other_listings(both: Both) -> None:
    # busybox and cv1 only: the oracle daemon is shared with other modules' images and volumes
    both.same("images", "busybox", "--format", "table {{.Repository}}\\t{{.Tag}}")
    both.same("images", "busybox", "--format", "{{.Repository}}:{{.Tag}} {{.Containers}}")
    d, m = both.both("images")
    assert re.split(r"\s{2,}", m.stdout.splitlines()[0]) == re.split(r"\s{2,}", d.stdout.splitlines()[0])
    both.same("network", "inspect", "-f", "{{.Name}} {{.Driver}} {{.Scope}} {{.Internal}}", "none", "host")
    d, m = both.both("network", "ls", "--format", "{{.Name}} {{.Driver}} {{.Scope}}")
    assert set(d.stdout.splitlines()) <= set(m.stdout.splitlines())  # dockerd here has no bridge network
    d, m = both.both("network", "ls")
    assert m.stdout.splitlines()[0].split() == d.stdout.splitlines()[0].split()
    both.same("system", "df", "--format", "{{.Type}}")
    both.same("volume", "ls", "--filter", "name=cv1", "--format",
              "table {{.Name}}\\t{{.Driver}}\\t{{.Labels}}\\t{{.Label \"k\"}}")
    both.same("volume", "ls", "--filter", "name=cv1")
    both.same("volume", "inspect", "-f", "{{.Name}} {{.Driver}} {{.Labels}} {{.Scope}} {{json .Options}}", "cv1")
    both.same("volume", "inspect", "-f", "{{.Name}}", "cv1", "nothere")
    both.same("version", "--format", "{{.Client.APIVersion}} {{.Server.APIVersion}}")
    for field in ("{{.ID}}", "{{.Id}}"):  # the Go field (typed) and the JSON name (map) both work
        d, m = both.both("inspect", "-f", field, "cc1")
        assert (m.returncode, len(m.stdout)) == (d.returncode, len(d.stdout)) == (0, 65)
    both.same("logs", "cc3")
    assert both.oracle.docker("logs", "cc3").stderr == both.md("logs", "cc3").stderr == "err\n"
    both.same("logs", "--tail", "0", "cc3")  # (the order of lines across stdout and stderr is a race in both)


FILTERED = ("ps", "images", "network ls", "volume ls", "container prune -f", "image prune -f", "network prune -f",
            "volume prune -f", "system prune -f")


@pytest.mark.parametrize("command", FILTERED)
def test_every_filter_flag_is_read_and_checked_as_docker(both: Both, command: str) -> None:
    """docker/cli's flag error for no `=` (exit 125), names trimmed and lower-cased, the daemon's
    `Invalid filter` for a name the command does not take (exit 1): the same line from each, before
    anything is read or removed (no object of the shared daemon matches these filters)."""
    for f in ("x", "foo=bar", " Label=md-none", "=x", "until=x", "dangling=x"):
        if command == "image prune -f" and f == "dangling=x":
            continue  # accepted by Docker (its client adds dangling=true): it would prune the shared daemon
        d, m = both.both(*command.split(), "--filter", f)
        first = (d.stderr.splitlines() or [""])[0]
        assert (m.returncode, (m.stderr.splitlines() or [""])[0]) == (d.returncode, first), (command, f)
