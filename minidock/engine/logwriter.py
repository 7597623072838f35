"""The json-file log writer: Docker's format, one JSON object per line, size-capped with rotation.

Lifecycle: the monitor (or a foreground `run`) owns one `LogWriter(path, LogOptions)` per container
and `write(stream, data)`s raw bytes as they come from the container's pipes; complete lines become
entries `{"log": "...\\n", "stream": "stdout"|"stderr", "attrs": {...}, "time": RFC3339Nano}` (attrs
only when --log-opt labels/env/tag asked for some); when the file would pass `max_size` it is
rotated (log -> log.1 -> ... -> log.<max_file-1>; with compress=true log.1.gz ...: gzipped then,
before the writer goes on). The readers are in
engine/logs.py. A module of its own because every `run` without --rm writes a log: this one imports
os, time and plainjson only (logs.py's readers need json, re, deque and pathlib: ~8 ms).
"""

from __future__ import annotations

import os
import time

from minidock import plainjson

TYPE_CHECKING = False
if TYPE_CHECKING:
    from minidock.engine.logopts import LogOptions

MAX_LINE = 16 * 1024  # Docker splits longer lines into partial entries of this size


def rfc3339_nano(ns: int | None = None) -> str:
    """Now (or `ns` since the epoch) as RFC 3339 with nanoseconds, UTC ("...T12:00:00.123456789Z")."""
    ns = time.time_ns() if ns is None else ns
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ns // 1_000_000_000)) + f".{ns % 1_000_000_000:09d}Z"


class LogWriter:
    """Appends entries to `path`, rotating when it would grow past `opts.max_size`."""

    def __init__(self, path: str, opts: LogOptions, attrs: dict[str, str] | None = None) -> None:
        self.path, self.opts, self.attrs = path, opts, attrs or None
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)
        self.size = os.fstat(self.fd).st_size
        self.partial: dict[str, bytes] = {"stdout": b"", "stderr": b""}
        # a terminal's output is logged as it comes, unfinished lines too: `attach` reads the log, and
        # a shell's prompt ends no line (the entries still add up to the same bytes)
        self.whole_lines = True

    def write(self, stream: str, data: bytes) -> None:
        """Add raw output of `stream`; whole lines are logged now, the rest when it ends or grows."""
        buf = self.partial[stream] + data
        while True:
            nl = buf.find(b"\n")
            if nl < 0 or nl >= MAX_LINE:
                if len(buf) < MAX_LINE:
                    break
                self._entry(stream, buf[:MAX_LINE])
                buf = buf[MAX_LINE:]
                continue
            self._entry(stream, buf[:nl + 1])
            buf = buf[nl + 1:]
        if buf and not self.whole_lines:
            self._entry(stream, buf)
            buf = b""
        self.partial[stream] = buf

    def flush(self) -> None:
        """Log what is left of unfinished lines (the stream ended)."""
        for stream, buf in self.partial.items():
            if buf:
                self._entry(stream, buf)
        self.partial = {"stdout": b"", "stderr": b""}

    def _entry(self, stream: str, data: bytes) -> None:
        entry: dict[str, object] = {"log": data.decode(errors="replace"), "stream": stream}
        if self.attrs:
            entry["attrs"] = self.attrs
        entry["time"] = rfc3339_nano()
        line = plainjson.dumps_compact(entry, ensure_ascii=True).encode() + b"\n"
        if self.opts.max_size > 0 and self.size and self.size + len(line) > self.opts.max_size:
            self._rotate()
        os.write(self.fd, line)
        self.size += len(line)

    def _rotate(self) -> None:
        os.close(self.fd)
        keep = self.opts.max_file - 1
        if keep <= 0:
            os.truncate(self.path, 0)
        else:
            gz = ".gz" if self.opts.compress else ""
            for i in range(keep - 1, 0, -1):
                src = f"{self.path}.{i}{gz}"
                if os.path.exists(src):
                    os.replace(src, f"{self.path}.{i + 1}{gz}")
            os.replace(self.path, f"{self.path}.1")
            if gz:
                self._compress(f"{self.path}.1")
        self.fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)
        self.size = 0

    @staticmethod
    def _compress(path: str) -> None:
        """`path` -> `path`.gz (written aside, then renamed: a reader sees one or the other)."""
        import gzip  # lazily: only compress=true rotates into it

        with open(path, "rb") as src:
            data = gzip.compress(src.read())
        tmp = f"{path}.gz.tmp"
        with open(tmp, "wb") as out:
            out.write(data)
        os.replace(tmp, f"{path}.gz")
        os.unlink(path)

    def close(self) -> None:
        self.flush()
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
