"""The security posture test: the same static probe (probe.c) as root in busybox under Docker 20.10 and
under minidock, with the same flags; every line must match (capabilities, no_new_privs, seccomp mode,
masked and read-only paths, /dev, host devices made with mknod, the keyring, user namespaces, keyctl,
bpf, perf_event_open, module loading, open_by_handle_at, mount, ptrace, ...)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.oracle import Oracle

pytestmark = [pytest.mark.root, pytest.mark.slow]

TAG = "posture-probe:1"
CONTAINERS_PROFILE = "/usr/share/containers/seccomp.json"  # Debian's containers-common: Docker's JSON format


class Engines:
    """The probe image, built by both engines; `docker(...)`/`minidock(...)` run it and return its lines."""

    def __init__(self, oracle: Oracle, env: dict[str, str]) -> None:
        self.oracle, self.env = oracle, env

    def md(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "minidock", *args], capture_output=True, text=True,
                              env=self.env, timeout=300, check=False)

    def md_ok(self, *args: str) -> str:
        r = self.md(*args)
        assert r.returncode == 0, f"minidock {' '.join(args)} exited {r.returncode}: {r.stderr[-3000:]}"
        return r.stdout

    def docker(self, *flags: str) -> dict[str, str]:
        r = self.oracle.docker("run", "--rm", "--network", "none", *flags, TAG, "/probe")
        if r.returncode != 0 and "unable to apply caps" in r.stderr:  # a host whose bounding set lacks some
            pytest.skip(f"docker cannot run {' '.join(flags)} here: {r.stderr.strip()[-200:]}")
        assert r.returncode == 0, f"docker run {' '.join(flags)} exited {r.returncode}: {r.stderr[-3000:]}"
        return _lines(r.stdout)

    def minidock(self, *flags: str) -> dict[str, str]:
        return _lines(self.md_ok("run", "--rm", "--network", "none", *flags, TAG, "/probe"))


def _lines(out: str) -> dict[str, str]:
    items = dict(line.split(": ", 1) for line in out.splitlines() if ": " in line)
    assert len(items) > 60, out
    return items


@pytest.fixture(scope="module")
def engines(oracle: Oracle, posture_probe: Path, tmp_path_factory: pytest.TempPathFactory) -> Engines:
    ctx = tmp_path_factory.mktemp("posture-ctx")
    (ctx / "probe").write_bytes(posture_probe.read_bytes())
    (ctx / "probe").chmod(0o755)
    (ctx / "Dockerfile").write_text("FROM busybox\nCOPY probe /probe\nRUN /probe > /posture-of-run\n")
    e = Engines(oracle, oracle.minidock_env(tmp_path_factory.mktemp("posture-root") / "root"))
    oracle.build(ctx, TAG)
    e.md_ok("build", "-q", "-t", TAG, str(ctx))
    return e


def _same(docker: dict[str, str], minidock: dict[str, str]) -> None:
    diffs = [f"{k}: docker {docker.get(k)!r}, minidock {minidock.get(k)!r}"
             for k in sorted(set(docker) | set(minidock)) if docker.get(k) != minidock.get(k)]
    assert not diffs, "the probe's lines differ:\n" + "\n".join(diffs)


@pytest.mark.parametrize("flags", [
    (),
    ("--cap-add", "SYS_ADMIN"),
    ("--privileged",),
    ("--security-opt", "seccomp=unconfined"),
    ("--security-opt", "no-new-privileges"),
    ("--cap-drop", "ALL"),
    ("--user", "nobody"),
    ("--read-only",),
    ("--cap-add", "SYS_PTRACE"),
    ("--cap-add", "ALL"),
    ("--cap-add", "SYS_MODULE", "--cap-add", "SYS_TIME", "--cap-add", "DAC_READ_SEARCH"),
    ("--security-opt", "systempaths=unconfined"),
    ("--user", "nobody", "--security-opt", "no-new-privileges"),
    pytest.param(("--security-opt", f"seccomp={CONTAINERS_PROFILE}"), marks=pytest.mark.skipif(
        not Path(CONTAINERS_PROFILE).exists(), reason="golang-github-containers-common is not installed")),
], ids=lambda f: " ".join(f) or "defaults")
def test_the_probe_sees_what_it_sees_under_docker(engines: Engines, flags: tuple[str, ...]) -> None:
    docker, minidock = engines.docker(*flags), engines.minidock(*flags)
    _same(docker, minidock)


def test_the_defaults_are_closed(engines: Engines) -> None:
    """What the audit found open (issue 14), closed under minidock's defaults."""
    got = engines.minidock()
    assert got["Seccomp"] == "2" and got["NoNewPrivs"] == "0"
    for item in ("unshare(CLONE_NEWUSER)", "clone(CLONE_NEWUSER)", "keyctl get session keyring", "add_key", "bpf",
                 "perf_event_open", "init_module", "finit_module", "open_by_handle_at", "mount tmpfs"):
        assert got[item] == "EPERM", item
    for dev in ("loop-control", "loop0", "fuse", "mem"):
        assert got[f"device {dev}"] == "mknod=ok open=EPERM", dev


def test_privileged_posture(engines: Engines) -> None:
    """--privileged, checked without Docker where Docker cannot run it (a host lacking some capability):
    every capability there is, no seccomp, no masks, every device."""
    got = engines.minidock("--privileged")
    assert got["Seccomp"] == "0" and got["NoNewPrivs"] == "0"
    assert got["CapEff"] == got["CapBnd"] == got["CapPrm"] != "0000000000000000"
    assert got["masked /proc/keys"] == "file read=data" and got["write /proc/sys/kernel/hostname"] == "ok"
    assert got["device loop-control"] == "mknod=ok open=ok" and got["/dev/loop-control"] == "chr"
    assert got["unshare(CLONE_NEWUSER)"] == "ok" and got["keyctl get session keyring"] == "ok"


@pytest.fixture(params=[(), ("--security-opt", "seccomp=unconfined")], ids=["defaults", "unconfined"])
def running(engines: Engines, request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    """A detached probe container in each engine (sleeping), for `exec`; unconfined, the probe can see
    which session keyring exec joined (the container's own, `_ses.<id>`)."""
    flags = request.param
    did = engines.oracle.docker_ok("run", "-d", "--network", "none", *flags, TAG, "sleep", "300").strip()
    mid = engines.md_ok("run", "-d", "--network", "none", *flags, TAG, "sleep", "300").strip()
    try:
        yield did, mid
    finally:
        engines.oracle.docker("rm", "-f", did)
        engines.md("rm", "-f", mid)


def test_build_run_steps_see_what_buildkit_steps_see(engines: Engines) -> None:
    """The probe ran in a RUN step of the image's build; BuildKit's step and minidock's see the same."""
    docker = _lines(engines.oracle.docker_ok("run", "--rm", "--network", "none", TAG, "cat", "/posture-of-run"))
    minidock = _lines(engines.md_ok("run", "--rm", "--network", "none", TAG, "cat", "/posture-of-run"))
    _same(docker, minidock)


def test_execs_join_the_containers_keyring(engines: Engines) -> None:
    """Each exec joins the container's named session keyring (the same serial), never the caller's."""
    mid = engines.md_ok("run", "-d", "--network", "none", "--security-opt", "seccomp=unconfined", TAG,
                        "sleep", "300").strip()
    try:
        first, second = (int(engines.md_ok("exec", mid, "/probe", "session-keyring")) for _ in range(2))
    finally:
        engines.md("rm", "-f", mid)
    host = int(subprocess.run(["keyctl", "show", "@s"], capture_output=True, text=True, check=False).stdout.split()[1]
               if shutil.which("keyctl") else -1)
    assert first == second > 0 and first != host


def test_exec_gets_the_containers_posture(engines: Engines, running: tuple[str, str]) -> None:
    did, mid = running
    docker = _lines(engines.oracle.docker_ok("exec", did, "/probe"))
    minidock = _lines(engines.md_ok("exec", mid, "/probe"))
    _same(docker, minidock)
