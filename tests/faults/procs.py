"""What the fault tests share: killing a minidock command they started, by PID."""

from __future__ import annotations

import os
import signal
import subprocess


def kill(proc: subprocess.Popen[bytes]) -> bool:
    """SIGKILL `proc` (ours, by PID) unless it already ended; True when the kill landed."""
    landed = proc.poll() is None
    if landed:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait(30)
    return landed and proc.returncode == -signal.SIGKILL
