"""`exec` does not leak the runtime into the container (the CVE-2019-5736 / CVE-2024-21626 class).

Until it execs the command, the process that joins the container runs the host's Python. The test
catches it in that window: the container's /etc/passwd is a FIFO, so the exec'ing process blocks
reading it; the container (its own shell, watching /proc) then tries to read /proc/PID/exe, open it
for writing, follow the links in /proc/PID/fd and read /proc/PID/environ and cmdline, and only then
feeds the FIFO. The first three must be refused (the process is not dumpable; before, readlink showed
the host interpreter and only ETXTBSY stopped a write); environ and cmdline, which this kernel shows
regardless, must be empty (the helper wipes the CLI's environment and argv: `exec -e` values, host
secrets). A second test passes a host directory fd to `minidock exec` and looks for it inside.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

pytestmark = pytest.mark.root

WATCHER = r"""
mv /etc/passwd /etc/passwd.real && mkfifo /etc/passwd && echo ready
while :; do
  for p in /proc/[0-9]*; do
    read -r comm < $p/comm 2>/dev/null || continue
    case "$comm" in python*)
      echo "exe: $(readlink $p/exe 2>/dev/null || echo refused)"
      ( : >> $p/exe ) 2>&1 | sed "s#/proc/[0-9]*/#/proc/PID/#"
      for f in $p/fd/*; do readlink $f >/dev/null 2>&1 && echo "fd: followed $f"; done
      echo "environ: $(tr "\0" " " < $p/environ | tr -d " ")."
      echo "cmdline: $(tr "\0" " " < $p/cmdline | tr -d " ")."
      cat /etc/passwd.real > /etc/passwd
      echo released
      exec sleep 300;;
    esac
  done
done
"""


def _md(*args: str, **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "minidock", *args], capture_output=True, text=True, timeout=120,
                          check=False, **kw)  # type: ignore[call-overload]


def _logs_until(cid: str, word: str, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while True:
        out = _md("logs", cid).stdout
        if word in out or time.monotonic() > deadline:
            return out
        time.sleep(0.1)


def test_the_exec_process_is_closed_to_the_container(busybox_store: Callable[[], Path]) -> None:
    """The container holds every capability the exec'ing process holds (all but CAP_SYS_PTRACE, which
    the CLI drops from its bounding set), so the kernel's capability check lets it at the process:
    only the process being non-dumpable keeps /proc/PID/{exe,fd} closed."""
    busybox_store()
    cid = _md("run", "-d", "--network", "none", "--cap-add", "ALL", "--cap-drop", "SYS_PTRACE", "busybox",
              "sh", "-c", WATCHER).stdout.strip()
    try:
        assert "ready" in _logs_until(cid, "ready")
        r = subprocess.run(["setpriv", "--bounding-set", "-sys_ptrace", sys.executable, "-m", "minidock", "exec",
                            cid, "true"], capture_output=True, text=True, timeout=120, check=False)
        # (the exec blocks on the FIFO until the watcher has looked at it)
        assert r.returncode == 0, r.stderr
        out = _logs_until(cid, "released")
        assert "exe: refused" in out, out
        assert "can't create /proc/PID/exe: Permission denied" in out, out
        assert "Text file busy" not in out and "fd: followed" not in out, out
        assert "environ: ." in out and "cmdline: ." in out, out  # the host's environment and argv are wiped
    finally:
        _md("rm", "-f", cid)


def test_exec_leaks_no_descriptor_of_the_caller(busybox_store: Callable[[], Path], tmp_path: Path) -> None:
    busybox_store()
    cid = _md("run", "-d", "--network", "none", "busybox", "sleep", "300").stdout.strip()
    fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)  # inheritable: passed to the CLI below
    try:
        r = _md("exec", cid, "sh", "-c", "ls -l /proc/self/fd/", pass_fds=(fd,))
        assert r.returncode == 0, r.stderr
        assert str(tmp_path) not in r.stdout, r.stdout
        names = {line.split()[8] for line in r.stdout.splitlines() if line.startswith("l")}
        assert names <= {"0", "1", "2", "3"}, r.stdout  # 3: ls's own directory stream
    finally:
        os.close(fd)
        _md("rm", "-f", cid)
