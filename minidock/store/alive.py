"""Is a process alive (and not a zombie)? The one test behind "a record whose supervisor is gone is
exited", shared by the store's records and the quick readers (engine/glance.py); os only."""

from __future__ import annotations

import os


def alive(pid: int) -> bool:
    """True while `pid` exists and is not a zombie (a pid we may not signal counts as alive)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is not alive
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        return False


def start_time(pid: int) -> int:
    """When process `pid` started (clock ticks since boot, /proc/PID/stat's 22nd field); 0 when it
    is gone or a zombie."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return 0
    return 0 if fields[0] in (b"Z", b"X") else int(fields[19])


def alive_since(pid: int, start: int) -> bool:
    """`alive(pid)`, and (when `start` is known) still the process that started then: a reused pid
    is not the supervisor that died."""
    return alive(pid) if not start else start_time(pid) == start
