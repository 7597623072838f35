"""Container logs: Docker's json-file format (one JSON object per line), size-capped with rotation.

The writer (`LogWriter`, the monitor's and a foreground run's) is engine/logwriter.py, re-exported
here. Readers (`read_entries`, `follow`) read the rotated files oldest first, then the live one;
`follow` notices rotation.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path

from minidock.engine import glance
from minidock.engine.logopts import LogOptions
from minidock.engine.logwriter import MAX_LINE, LogWriter, rfc3339_nano
from minidock.errors import UsageError
from minidock.nouns import NamedTuple

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import IO

_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
# Patterns as text: re compiles (and caches) them on first use, so a `run` that only parses
# --log-opt never pays for them.
_DURATION = r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)"
_RFC3339 = r"(\d{4}-\d\d-\d\d)(?:[T ](\d\d:\d\d(?::\d\d)?)(?:\.(\d+))?)?(Z|[+-]\d\d:?\d\d)?"


def parse_time(text: str, now: float | None = None) -> float:
    """`--since`/`--until` as Docker takes them -> seconds since the epoch: RFC 3339 (any fraction,
    Z or an offset; no zone = UTC; a date alone = its midnight), a Unix time ("1700000000.5"), or a
    Go duration before `now` ("10m", "1h30m", "250ms")."""
    t = text.strip()
    now = time.time() if now is None else now
    if re.fullmatch(r"\d+(\.\d+)?", t):
        return float(t)
    if t and "".join(m.group(0) for m in re.finditer(_DURATION, t)) == t:
        return now - sum(float(m.group(1)) * _UNITS[m.group(2)] for m in re.finditer(_DURATION, t))
    m = re.fullmatch(_RFC3339, t)
    if m is None:
        raise UsageError(f"invalid time {text!r}: want RFC 3339 (2006-01-02T15:04:05Z), a Unix time "
                         "or a duration (10m)")
    clock = (m.group(2) or "00:00:00") + (":00" if m.group(2) and m.group(2).count(":") == 1 else "")
    zone = "+00:00" if m.group(4) in (None, "Z") else m.group(4)
    zone = zone if ":" in zone else f"{zone[:3]}:{zone[3:]}"
    from datetime import datetime

    try:
        return datetime.fromisoformat(f"{m.group(1)}T{clock}{zone}").timestamp() + float(f"0.{m.group(3) or 0}")
    except ValueError as e:
        raise UsageError(f"invalid time {text!r}: {e}") from e


class TimeWindow(NamedTuple):
    """`--since`/`--until` bounds in seconds since the epoch (None: open)."""

    since: float | None = None
    until: float | None = None

    def contains(self, entry: LogEntry) -> bool:
        if self.since is None and self.until is None:
            return True
        t = entry_time(entry.time)
        return (self.since is None or t >= self.since) and (self.until is None or t <= self.until)


def entry_time(stamp: str) -> float:
    """A log entry's RFC3339Nano time in seconds since the epoch (0 when it does not parse)."""
    try:
        return parse_time(stamp, 0.0) if stamp else 0.0
    except UsageError:
        return 0.0


class LogEntry(NamedTuple):
    """One logged chunk of output (a line with its newline, or a part of a long line)."""

    stream: str
    text: str
    time: str
    attrs: tuple[tuple[str, str], ...] = ()  # --log-opt labels/env/tag: `logs --details` shows them

    @classmethod
    def parse(cls, line: bytes) -> LogEntry | None:
        try:
            d = json.loads(line)
        except ValueError:
            return None  # a torn last line (the writer died mid-write)
        attrs = d.get("attrs")
        return cls(str(d.get("stream", "stdout")), str(d.get("log", "")), str(d.get("time", "")),
                   tuple((str(k), str(v)) for k, v in attrs.items()) if isinstance(attrs, dict) else ())


def log_files(path: Path) -> list[Path]:
    """The rotated files oldest first (log.N or log.N.gz), then the live log (those that exist)."""
    try:
        names = os.listdir(path.parent)
    except FileNotFoundError:
        return []
    return [path.parent / n for n in glance.log_names([n for n in names if n == path.name
                                                        or n.startswith(path.name + ".")])]


def read_entries(path: Path, tail: int = -1, limit: int | None = None) -> list[LogEntry]:
    """Every entry logged so far (the last `tail` when tail >= 0; the live log up to `limit` bytes)."""
    lines: deque[bytes] = deque(maxlen=tail if tail >= 0 else None)
    for p in log_files(path):
        data = glance.read_log(str(p), limit if p == path else None)
        lines.extend(line for line in data.split(b"\n") if line.strip())
    return [e for e in (LogEntry.parse(line) for line in lines) if e is not None]


def follow(path: Path, running: Callable[[], bool], start: int | None = None,
           interval: float = 0.05) -> Iterator[LogEntry]:
    """Entries appended to the live log from offset `start` (default: its end) while `running()`.

    Rotation is noticed by the inode at `path` changing: the old file is read to its end first."""
    f = _open_wait(path)
    f.seek(*((start, os.SEEK_SET) if start is not None else (0, os.SEEK_END)))
    buf = b""
    while True:
        alive = running()  # why: sampled before reading, so the last output is read after the exit
        chunk = f.read()
        if chunk:
            buf += chunk
            *whole, buf = buf.split(b"\n")
            for line in whole:
                e = LogEntry.parse(line)
                if e is not None:
                    yield e
            continue
        if _rotated(f, path):
            f.close()
            f = _open_wait(path)
            continue
        if not alive:
            f.close()
            return
        time.sleep(interval)


def _open_wait(path: Path) -> IO[bytes]:
    for _ in range(100):
        try:
            return path.open("rb")
        except FileNotFoundError:
            time.sleep(0.01)
    return path.open("rb")


def _rotated(f: IO[bytes], path: Path) -> bool:
    try:
        return os.stat(path).st_ino != os.fstat(f.fileno()).st_ino
    except FileNotFoundError:
        return False


__all__ = ["MAX_LINE", "LogEntry", "LogOptions", "LogWriter", "TimeWindow", "entry_time", "follow", "log_files",
           "parse_time", "read_entries", "rfc3339_nano"]
