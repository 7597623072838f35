"""Docker 20.10 as the judge of --pid, --ipc, --uts, --cgroupns, --userns and --group-add: the same
command lines under the private dockerd and minidock, comparing inspect's HostConfig fields, what the
container sees (namespaces, processes, /dev/shm, hostname, groups) and the refusals (words, exit codes).

Each engine holds the same three containers: `nsf-tgt` running (IPC private), `nsf-don` running with
a shareable IPC namespace and a file in its /dev/shm, `nsf-stopped` created, never started.
"""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Iterator

import pytest

from tests.fixtures.oracle import Both, Oracle, busybox_both

pytestmark = [pytest.mark.root, pytest.mark.slow]

NONE = ("--network", "none")
SETUP = (("run", "-d", "--name", "nsf-tgt", *NONE, "busybox", "sleep", "1000"),
         ("run", "-d", "--name", "nsf-don", "--ipc", "shareable", *NONE, "busybox", "sh", "-c",
          "echo shared > /dev/shm/x; exec sleep 1000"),
         ("create", "--name", "nsf-stopped", *NONE, "busybox", "true"))
NAMES = ("nsf-tgt", "nsf-don", "nsf-stopped")
FIELDS = ("{{json .HostConfig.PidMode}} {{json .HostConfig.IpcMode}} {{json .HostConfig.UTSMode}} "
          "{{json .HostConfig.UsernsMode}} {{json .HostConfig.GroupAdd}}")


@pytest.fixture(scope="module")
def both(oracle: Oracle, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Both]:
    with busybox_both(oracle, tmp_path_factory.mktemp("md-nsflags") / "root", NAMES, SETUP) as b:
        yield b


def _ids(both: Both) -> tuple[dict[str, str], dict[str, str]]:
    """name -> full id, in Docker and in minidock."""
    d, m = both.both("inspect", "-f", "{{.Id}}", *NAMES)
    return dict(zip(NAMES, d.stdout.split(), strict=True)), dict(zip(NAMES, m.stdout.split(), strict=True))


def _same_shape(both: Both, *args: str) -> tuple[str, str]:
    """`create ARGS` in both, their inspect FIELDS with each engine's own container ids named, the
    containers removed; returns (docker's, minidock's) CgroupnsMode."""
    docker_ids, md_ids = _ids(both)
    seen = []
    for engine, ids in ((both.oracle.docker, docker_ids), (both.md, md_ids)):
        r = engine("create", *NONE, *args, "busybox", "true")
        assert r.returncode == 0, (args, r.stderr)
        cid = r.stdout.strip()
        try:
            text = engine("inspect", "-f", FIELDS + " {{.HostConfig.CgroupnsMode}}", cid).stdout
        finally:
            engine("rm", cid)
        for name, full in ids.items():
            text = text.replace(full, name)
        seen.append(text.rsplit(" ", 1))
    (docker, docker_cgroupns), (minidock, minidock_cgroupns) = seen
    assert minidock == docker, args
    return docker_cgroupns.strip(), minidock_cgroupns.strip()


def test_inspect_fields_like_docker(both: Both) -> None:
    cgroupns = _same_shape(both)
    # Docker 20.10's default on cgroup v1 is host, on v2 private; minidock's is private on both
    assert cgroupns == ("host" if _v1() else "private", "private")
    assert _same_shape(both, "--pid", "host", "--ipc", "host", "--uts", "host", "--cgroupns", "private",
                       "--userns", "host", "--group-add", "10", "--group-add", "wheel") == ("private", "private")
    assert _same_shape(both, "--pid", "container:nsf-tgt", "--ipc", "container:nsf-don",
                       "--cgroupns", "host") == ("host", "host")
    _same_shape(both, "--ipc", "none")
    _same_shape(both, "--ipc", "shareable", "--pid", "container:nsf-stopped")  # a stopped target: fine at create
    d, m = both.both("inspect", "-f", "{{.HostConfig.GroupAdd}}", "nsf-tgt")
    assert (d.stdout, m.stdout) == ("[]\n", "<no value>\n")  # templates on JSON: null (README, Differences)


def _v1() -> bool:
    return not os.path.exists("/sys/fs/cgroup/cgroup.controllers")


def _run(both: Both, *args: str) -> tuple[str, str]:
    """`run --rm --network none ARGS` in both, each exiting 0: (docker's stdout, minidock's)."""
    d, m = both.both("run", "--rm", *NONE, *args)
    assert (d.returncode, m.returncode) == (0, 0), (args, d.stderr, m.stderr)
    return d.stdout, m.stdout


def _own(path: str) -> str:
    return os.readlink(f"/proc/self/ns/{path}")


def test_pid_modes(both: Both) -> None:
    marker = subprocess.Popen(["sleep", "7531"])  # a host process a --pid host container sees
    try:
        d, m = _run(both, "--pid", "host", "busybox", "sh", "-c",
                    "readlink /proc/self/ns/pid; ps -o args | grep -c '^sleep 7531'")
        assert d == m == f"{_own('pid')}\n1\n"
    finally:
        marker.kill()
        marker.wait()
    seen = []
    for engine in (both.oracle.docker, both.md):
        target = engine("exec", "nsf-tgt", "readlink", "/proc/self/ns/pid").stdout
        r = engine("run", "--rm", *NONE, "--pid", "container:nsf-tgt", "busybox", "sh", "-c",
                   "readlink /proc/1/ns/pid; ps -o args")
        assert r.returncode == 0 and r.stdout.startswith(target), (engine, r.stdout, r.stderr)
        seen.append(r.stdout[len(target):])
    assert seen[0] == seen[1] and "sleep 1000\n" in seen[0], seen  # the target's processes and its own


def test_ipc_modes(both: Both) -> None:
    d, m = _run(both, "--ipc", "host", "busybox", "readlink", "/proc/self/ns/ipc")
    assert d == m == f"{_own('ipc')}\n"
    probe = "mount | grep -c ' /dev/shm '; ls /dev/shm"
    both.same("run", "--rm", *NONE, "--ipc", "none", "busybox", "sh", "-c", probe)  # no /dev/shm: 0, exit 1
    both.same("run", "--rm", *NONE, "--ipc", "private", "busybox", "sh", "-c", probe)
    both.same("run", "--rm", *NONE, "--ipc", "shareable", "busybox", "sh", "-c", probe)
    for engine in (both.oracle.docker, both.md):
        donor = engine("exec", "nsf-don", "readlink", "/proc/self/ns/ipc").stdout
        r = engine("run", "--rm", *NONE, "--ipc", "container:nsf-don", "busybox", "sh", "-c",
                   "readlink /proc/self/ns/ipc; cat /dev/shm/x; echo back > /dev/shm/y")
        assert (r.returncode, r.stdout) == (0, f"{donor}shared\n"), (engine, r.stderr)
        assert engine("exec", "nsf-don", "cat", "/dev/shm/y").stdout == "back\n"  # one /dev/shm, both ways
        assert donor != f"{_own('ipc')}\n"


def test_uts_cgroupns_userns_and_group_add(both: Both) -> None:
    d, m = _run(both, "--uts", "host", "busybox", "sh", "-c", "hostname; readlink /proc/self/ns/uts")
    assert d == m == f"{socket.gethostname()}\n{_own('uts')}\n"
    both.same("run", "--rm", *NONE, "--userns", "host", "busybox", "true")
    # the v1 lines only: on a hybrid host Docker also joins the cgroup2 hierarchy ("0::"), minidock does not
    cgroup = ("readlink /proc/self/ns/cgroup; grep -v '^0::' /proc/self/cgroup | grep -c ':/$'; "
              "ls /sys/fs/cgroup | wc -l")
    d, m = _run(both, "--cgroupns", "host", "busybox", "sh", "-c", cgroup)
    assert d == m and d.startswith(f"{_own('cgroup')}\n0\n"), (d, m)  # its group's host path; its own groups only
    d, m = _run(both, "--cgroupns", "private", "busybox", "sh", "-c", cgroup)
    assert d.splitlines()[1:] == m.splitlines()[1:] and m.splitlines()[0] != _own("cgroup")
    for flags in (("--group-add", "10"), ("--group-add", "wheel", "--group-add", "1234"),
                  ("-u", "1000:1000", "--group-add", "10"), ("-u", "nobody", "--group-add", "audio")):
        both.same("run", "--rm", *NONE, *flags, "busybox", "id")
    for engine in (both.oracle.docker, both.md):  # exec (-u too) keeps the container's --group-add groups
        assert engine("run", "-d", "--name", "nsf-ga", *NONE, "--group-add", "29", "busybox", "sleep", "100"
                      ).returncode == 0
    try:
        assert both.same("exec", "-u", "nobody", "nsf-ga", "id") == \
            "uid=65534(nobody) gid=65534(nobody) groups=29(audio),65534(nobody)\n"
        both.same("exec", "nsf-ga", "id")
    finally:
        for engine in (both.oracle.docker, both.md):
            engine("rm", "-f", "nsf-ga")


def _refused(both: Both, args: tuple[str, ...], code: int, words: str) -> None:
    """Both refuse `args` with exit `code`; Docker's stderr holds `words` and minidock's (lowercase:
    house style) too, in any case."""
    d, m = both.both(*args)
    assert (d.returncode, m.returncode) == (code, code), (args, d.stderr, m.stderr)
    assert words in d.stderr, (args, d.stderr)
    assert words.lower() in m.stderr.lower(), (args, m.stderr)


def test_refusals_like_docker(both: Both) -> None:
    for flag, value, words in (("--pid", "bogus", "--pid: invalid PID mode"),
                               ("--pid", "container:", "--pid: invalid PID mode"),
                               ("--uts", "private", "--uts: invalid UTS mode"),
                               ("--cgroupns", "bogus", "--cgroupns: invalid CGROUP mode"),
                               ("--userns", "private", "--userns: invalid USER mode"),
                               ("--ipc", "bogus", "Invalid IPC mode: bogus"),
                               ("--pid", "container:nsf-nosuch", "No such container: nsf-nosuch"),
                               ("--ipc", "container:nsf-nosuch", "No such container: nsf-nosuch"),
                               ("--group-add", "nosuch", "Unable to find group nosuch: no matching entries in "
                                                         "group file"),
                               ("--group-add", "-5", "uids and gids must be in range 0-2147483647")):
        _refused(both, ("run", "--rm", *NONE, flag, value, "busybox", "true"), 125, words)
    _refused(both, ("run", "--rm", *NONE, "--uts", "host", "-h", "x", "busybox", "true"), 125,
             "conflicting options: hostname and the UTS mode")
    _refused(both, ("create", *NONE, "--uts", "host", "-h", "x", "busybox", "true"), 1,
             "conflicting options: hostname and the UTS mode")
    _refused(both, ("create", *NONE, "--pid", "container:nsf-nosuch", "busybox", "true"), 1,
             "No such container: nsf-nosuch")
    _refused(both, ("run", "--rm", *NONE, "--ipc", "host", "--sysctl", "kernel.shmmax=1000000", "busybox", "true"),
             125, 'sysctl "kernel.shmmax" is not allowed in the hosts ipc namespace')


def test_targets_that_cannot_be_joined(both: Both) -> None:
    docker_ids, md_ids = _ids(both)
    for flag, name, words in (("--pid", "nsf-stopped", "container {id} is not running"),
                              ("--ipc", "nsf-stopped", "can't join IPC of container {id}: container {id} is not "
                                                       "running"),
                              ("--ipc", "nsf-tgt", "can't join IPC of container {id}: non-shareable IPC (hint: "
                                                   "use IpcMode:shareable for the donor container)")):
        d, m = both.both("run", "--rm", *NONE, flag, f"container:{name}", "busybox", "true")
        assert (d.returncode, m.returncode) == (125, 125), (flag, name, d.stderr, m.stderr)
        assert words.format(id=docker_ids[name]) in d.stderr
        assert words.format(id=md_ids[name]) in m.stderr
    assert both.md("ps", "-aq", "--filter", "status=created").stdout.split() == [md_ids["nsf-stopped"][:12]]
