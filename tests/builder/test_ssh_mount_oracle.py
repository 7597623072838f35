"""`build --ssh` and `RUN --mount=type=ssh` against Docker 20.10 + BuildKit.

An ssh-agent started by the test (ended by PID) holds a key made by ssh-keygen; inside the RUN, a
static C client (compiled here: busybox has no ssh-add) asks the agent at $SSH_AUTH_SOCK for its
identities and prints how many it holds and their comments. Both engines must print the same lines
(the socket's mode, owner and place, SSH_AUTH_SOCK, the agent's answer), for a forwarded socket and for
key files, leave the same file tree (the mount's directory, no socket), and refuse bad --ssh values
with the same words.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.oracle import Oracle, export_both, minidock
from tests.oracle_compare import DEFAULT_IGNORE, diff_trees, tree_from_tar

pytestmark = [pytest.mark.root, pytest.mark.registry]

# SSH2_AGENTC_REQUEST_IDENTITIES (11) -> SSH2_AGENT_IDENTITIES_ANSWER (12): nkeys, then (blob, comment) each
AGENT_CLIENT_C = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>
static unsigned get32(const unsigned char *p) { return (unsigned)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3]; }
static int readall(int fd, unsigned char *b, size_t n) {
    while (n) { ssize_t r = read(fd, b, n); if (r <= 0) return -1; b += r; n -= (size_t)r; } return 0; }
int main(void) {
    const char *path = getenv("SSH_AUTH_SOCK");
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (!path) { puts("no SSH_AUTH_SOCK"); return 2; }
    strncpy(sa.sun_path, path, sizeof sa.sun_path - 1);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) { perror("connect"); return 3; }
    unsigned char req[5] = {0, 0, 0, 1, 11}, hdr[4];
    if (write(fd, req, 5) != 5 || readall(fd, hdr, 4)) { puts("no answer"); return 4; }
    unsigned len = get32(hdr);
    unsigned char *msg = malloc(len);
    if (!msg || len < 5 || readall(fd, msg, len) || msg[0] != 12) { puts("bad answer"); return 5; }
    unsigned n = get32(msg + 1), off = 5;
    printf("agent holds %u identities\n", n);
    for (unsigned i = 0; i < n && off + 4 <= len; i++) {
        off += 4 + get32(msg + off);
        unsigned clen = get32(msg + off);
        printf("identity: %.*s\n", (int)clen, (const char *)msg + off + 4);
        off += 4 + clen;
    }
    return 0;
}
"""

DOCKERFILE = """FROM busybox
COPY agentc /agentc
RUN --mount=type=ssh,uid=7,gid=8,mode=0640 stat -c '%A %u %g %n' /run/buildkit/ssh_agent.0 && echo "$SSH_AUTH_SOCK" \\
 && /agentc
RUN --mount=type=ssh,id=keys,target=/tmp/s/agent,required=true stat -c '%A %u %g %n' /tmp/s/agent \\
 && echo "$SSH_AUTH_SOCK" && /agentc
RUN --mount=type=ssh,id=absent echo "optional and absent: $SSH_AUTH_SOCK"; ls /run/buildkit
"""
STEP_LINE = re.compile(r"^#\d+ \d+\.\d+ (.*)$")


@pytest.fixture
def agent(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """(SSH_AUTH_SOCK of a fresh ssh-agent holding key `a`, a second key file `b`)."""
    for name in ("a", "b"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"key-{name}", "-f",
                        str(tmp_path / name)], check=True)
    sock = str(tmp_path / "agent.sock")
    proc = subprocess.Popen(["ssh-agent", "-D", "-a", sock], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_listening(sock, proc)
        subprocess.run(["ssh-add", "-q", str(tmp_path / "a")], env={**os.environ, "SSH_AUTH_SOCK": sock}, check=True,
                       stdin=subprocess.DEVNULL)
        yield sock, tmp_path / "b"
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)


def _wait_listening(sock: str, proc: subprocess.Popen[bytes]) -> None:
    """Until the agent accepts connections (it binds, then listens: an existing file is not enough)."""
    deadline = time.monotonic() + 10
    while True:
        with socket.socket(socket.AF_UNIX) as s:
            try:
                s.connect(sock)
                return
            except OSError:
                assert proc.poll() is None, f"ssh-agent exited {proc.returncode}"
                assert time.monotonic() < deadline, "ssh-agent did not listen within 10 s"
        time.sleep(0.01)


def _context(tmp_path: Path) -> Path:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(DOCKERFILE)
    (ctx / "agentc.c").write_text(AGENT_CLIENT_C)
    subprocess.run(["gcc", "-static", "-Os", "-s", "-o", str(ctx / "agentc"), str(ctx / "agentc.c")], check=True)
    (ctx / ".dockerignore").write_text("agentc.c\n")
    return ctx


def _run_lines(stderr: str) -> list[str]:
    return [m.group(1) for line in stderr.splitlines() if (m := STEP_LINE.match(line))]


@pytest.mark.skipif(shutil.which("ssh-agent") is None or shutil.which("gcc") is None,
                    reason="needs openssh-client and gcc (make deps)")
def test_ssh_mounts_like_docker(oracle: Oracle, tmp_path: Path, agent: tuple[str, Path]) -> None:
    sock, key_b = agent
    ctx = _context(tmp_path)
    tag = "minidock-test/ssh-mount:1"
    flags = ["--ssh", "default", "--ssh", f"keys={key_b}"]
    env = {**oracle.minidock_env(tmp_path / "root"), "SSH_AUTH_SOCK": sock}
    d = subprocess.run(["/usr/bin/docker", "build", "--no-cache", "--progress", "plain", "--network", "host",
                        *flags, "-t", tag, str(ctx)], env={**oracle.env(), "DOCKER_HOST": f"unix://{oracle.sock}",
                                                          "SSH_AUTH_SOCK": sock},
                       capture_output=True, text=True, timeout=300, check=False)
    m = minidock(env, "build", "--progress", "plain", *flags, "-t", tag, str(ctx))
    assert d.returncode == m.returncode == 0, (d.stderr[-2000:], m.stderr[-2000:])
    want = _run_lines(d.stderr)
    assert want.count("agent holds 1 identities") == 2 and "identity: key-a" in want
    # BuildKit's own agent drops a key file's comment; ssh-agent keeps it (what ssh-add -l shows)
    got = _run_lines(m.stderr)
    assert "identity: key-b" in got and ["identity: " if x == "identity: key-b" else x for x in got] == want
    try:
        docker_tar, md_tar = export_both(oracle, env, tag, tmp_path)
        diffs = diff_trees(tree_from_tar(docker_tar), tree_from_tar(md_tar), DEFAULT_IGNORE)
        assert diffs == [], "\n".join(diffs)
    finally:
        oracle.docker("image", "rm", "-f", tag)
    assert not list(Path("/dev/shm").glob("minidock-secret-*"))  # the relay's socket went with the RUN


def test_bad_ssh_values_like_docker(oracle: Oracle, tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM busybox\nRUN --mount=type=ssh,required=true true\n")
    (tmp_path / "key").write_text("not a key\n")
    env = {k: v for k, v in oracle.minidock_env(tmp_path / "root").items() if k != "SSH_AUTH_SOCK"}
    denv = {k: v for k, v in oracle.env().items() if k != "SSH_AUTH_SOCK"}
    denv["DOCKER_HOST"] = f"unix://{oracle.sock}"
    for flags in (["--ssh", "default"], ["--ssh", "default=/nonexistent"]):
        d = subprocess.run(["/usr/bin/docker", "build", "--network", "host", *flags, str(tmp_path)], env=denv,
                           capture_output=True, text=True, timeout=120, check=False)
        m = minidock(env, "build", *flags, str(tmp_path))
        assert (m.returncode, m.stderr.removeprefix("minidock: ")) == (d.returncode, d.stderr), flags
    m = minidock(env, "build", str(tmp_path))  # required, and no --ssh: Docker's daemon says the same
    assert m.returncode == 1 and 'no SSH key "default" forwarded from the client' in m.stderr
    m = minidock(env, "build", "--ssh", f"default={tmp_path / 'key'}", str(tmp_path))
    assert m.returncode == 1 and "ssh default: cannot load" in m.stderr
