"""`minidock push` output: rich bars per layer on a terminal (a pty), plain lines on a pipe, none with -q."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.fixtures.busybox import BusyboxLayout
from tests.fixtures.registry import RegistryServer

pytestmark = pytest.mark.registry

MD = [sys.executable, "-m", "minidock"]


def on_pty(*args: str) -> tuple[int, str]:
    """Run minidock with stdout and stderr on a new pseudo-terminal; its exit code and what it drew."""
    master, slave = pty.openpty()
    p = subprocess.Popen([*MD, *args], stdin=subprocess.DEVNULL, stdout=slave, stderr=slave,
                         env={**os.environ, "COLUMNS": "120", "TERM": "xterm"})
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: every writer is gone
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    return p.wait(timeout=60), b"".join(chunks).decode(errors="replace")


def tagged(registry: RegistryServer) -> str:
    name = f"{registry.host}/progress/{uuid.uuid4().hex[:8]}:v1"
    r = subprocess.run([*MD, "tag", "busybox:latest", name], capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr
    return name


def test_push_draws_bars_on_a_terminal(busybox_store: Callable[[], Path], registry: RegistryServer,
                                       busybox_layout: BusyboxLayout) -> None:
    busybox_store()
    name = tagged(registry)
    rc, screen = on_pty("push", name)
    assert rc == 0, screen
    assert f"The push refers to repository [{name.rsplit(':', 1)[0]}]" in screen
    assert "━" in screen and ": Pushed" in screen  # a rich bar, labelled with the final state
    assert f"v1: digest: {busybox_layout.manifest}" in screen
    rc, screen = on_pty("push", name)
    assert rc == 0 and "Layer already exists" in screen


def test_push_plain_lines_and_quiet(busybox_store: Callable[[], Path], registry: RegistryServer,
                                    busybox_layout: BusyboxLayout) -> None:
    busybox_store()
    name = tagged(registry)
    r = subprocess.run([*MD, "push", name], capture_output=True, text=True, timeout=60, check=False)
    assert r.returncode == 0, r.stderr
    assert "━" not in r.stdout and "\x1b[" not in r.stdout and r.stdout.count(": Pushed") == 1  # no config line
    rc, screen = on_pty("push", "-q", name)
    assert rc == 0 and screen.strip() == name  # -q: the name pushed only (Docker 20.10), even on a terminal
