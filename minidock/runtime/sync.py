"""Parent <-> child messages over pipes: one JSON object per line, each with a type `t`.

Child -> parent: `step` (a traced kernel step), `ready` (namespaces made), `pid` (the container's
host pid), `pty` (a pty master was sent on the fd socket), `error` (a failed stage). Parent ->
child: `go` (only when the child was told to wait for it). The child's write end is close-on-exec,
so EOF after `pid` means execve succeeded (or every child died, which an `error` message
explains). Lines stay below PIPE_BUF so writes from the two children never interleave.
"""

from __future__ import annotations

import errno as errno_mod
import os

from minidock import plainjson
from minidock.runtime.explain import Step, Tracer

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

MAX_LINE = 4000  # < PIPE_BUF (4096): one write is atomic


class Channel:
    """One direction of a pipe: `send` on the write end, `recv` (buffered line reader) on the read end."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._buf = b""

    def send(self, t: str, **fields: Any) -> None:
        if not fields:  # ready, go, pty: no encoder needed
            os.write(self.fd, b'{"t":"%s"}\n' % t.encode())
            return
        data = plainjson.dumps_compact({"t": t, **fields}, ensure_ascii=True).encode()
        if len(data) >= MAX_LINE:  # only a long error message can get here: trim its text
            fields["msg"] = str(fields.get("msg", ""))[:1000]
            data = plainjson.dumps_compact({"t": t, **fields}, ensure_ascii=True).encode()[:MAX_LINE]
        os.write(self.fd, data + b"\n")

    def recv(self) -> dict[str, Any] | None:
        """The next message, or None at EOF (every writer closed: exited or exec'd)."""
        while b"\n" not in self._buf:
            chunk = os.read(self.fd, 65536)
            if not chunk:
                return None
            self._buf += chunk
        line, _, self._buf = self._buf.partition(b"\n")
        msg: dict[str, Any] = plainjson.loads(line)
        return msg

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def pipe() -> tuple[Channel, Channel]:
    """(reader, writer) over a fresh close-on-exec pipe."""
    r, w = os.pipe2(os.O_CLOEXEC)
    return Channel(r), Channel(w)


class ChildTracer(Tracer):
    """A child's tracer: each step goes to the parent over the channel (the parent keeps the list)."""

    def __init__(self, chan: Channel, where: str) -> None:
        super().__init__(None, where)
        self.chan = chan

    def note(self, title: str, shell: str = "", ms: float = 0.0, where: str = "") -> None:
        self.chan.send("step", title=title, shell=shell, ms=round(ms, 3), where=where or self.where)


def step_of(msg: dict[str, Any]) -> Step:
    """The Step a `step` message carries."""
    return Step(str(msg["title"]), str(msg.get("shell", "")), float(msg.get("ms", 0.0)),
                str(msg.get("where", "child")))


def error_fields(exc: BaseException, stage: str) -> dict[str, Any]:
    """What an `error` message says about an exception raised in a child at `stage`."""
    err = exc.errno if isinstance(exc, OSError) and exc.errno else 0
    kind = getattr(exc, "kind", "") or type(exc).__name__
    msg = str(exc)
    if isinstance(exc, OSError) and exc.strerror:
        msg = exc.strerror
        if exc.filename is not None and str(exc.filename) not in msg:
            msg = f"{exc.filename}: {msg}"
    if msg[1:2].islower():  # house style: lowercase messages (but keep acronyms)
        msg = msg[:1].lower() + msg[1:]
    return {"stage": stage, "kind": kind, "msg": msg, "errno": err,
            "errname": errno_mod.errorcode.get(err, "")}
