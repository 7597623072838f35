"""How `minidock build` shows its progress, in BuildKit's two styles (`--progress plain|tty`).

plain (`--progress plain`, and `auto` when stderr is not a terminal), as `docker build` with BuildKit
(after its `[internal]` steps: loading the Dockerfile, .dockerignore and base images' metadata):

    #3 [2/4] COPY a /a
    #3 DONE 0.0s

    #4 [3/4] RUN echo hello
    #4 0.174 hello
    #4 DONE 0.2s

    #5 exporting to image
    #5 exporting layers done
    #5 writing image sha256:18d3... done
    #5 naming to docker.io/library/t1 done
    #5 DONE 0.0s

Steps BuildKit does not show (ENV, CMD, LABEL, ...) are not shown; a cached step ends `#N CACHED`;
a RUN's output lines carry the seconds since the step began. tty (`auto` or `tty` on a terminal)
prints one ` => [2/4] COPY a /a   0.0s` line per finished step, redraws the running step with its
last output lines below them, shows a failing step's output in an error box, and closes with
`[+] Building 1.2s (5/5) FINISHED`. Everything goes to stderr, as BuildKit's does.
"""

from __future__ import annotations

import os
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import TextIO

    from minidock.engine import build as eng_types


class Plain:
    """BuildKit's plain progress: numbered steps with timings."""

    def __init__(self, out: TextIO, tags: tuple[str, ...] = ()) -> None:
        self.out, self.tags = out, tags
        self.n = 0
        self.open = 0  # the number of the step being shown, 0 when none (or a hidden one) runs
        self.title = ""
        self.started = 0.0
        self.partial = b""

    def __call__(self, e: eng_types.BuildEvent) -> None:
        from minidock.engine import build as eng

        if isinstance(e, eng.StepOutput):
            self._output(e.data)
        elif isinstance(e, eng.StepStarted):
            self.open = 0
            if e.vertex:
                self.title = f"[{e.vertex}] {e.display or e.text}"
                self.open = self._begin(self.title)
                self.started = time.monotonic()
        elif isinstance(e, eng.StepDone):
            if self.open:
                self._flush()
                self._end(self.open, "CACHED" if e.cached else f"DONE {e.seconds:.1f}s")
                self.open = 0
        elif isinstance(e, eng.BuildNote):
            self._write(e.text)
        elif isinstance(e, eng.Internal):
            n = self._begin(f"[internal] {e.title}")
            if e.detail:
                self._write(f"#{n} {e.detail} done")
            self._end(n, "DONE 0.0s")
        elif isinstance(e, eng.Exported):
            n = self._begin("exporting to client")
            self._write(f"#{n} {'copying files' if e.kind == 'local' else 'sending tarball'} {e.seconds:.1f}s done")
            self._end(n, f"DONE {e.seconds:.1f}s")
        elif isinstance(e, eng.BuildFinished) and e.recorded:
            n = self._begin("exporting to image")
            self._write(f"#{n} exporting layers done")
            self._write(f"#{n} writing image {e.image_id} done")
            for name in e.names:
                self._write(f"#{n} naming to {self._shown_name(name)} done")
            self._end(n, "DONE 0.0s")

    def _shown_name(self, name: str) -> str:
        """A stored name as BuildKit names it: without the `:latest` the user did not type."""
        if name.endswith(":latest") and not any(t.endswith(":latest") for t in self.tags):
            return name.removesuffix(":latest")
        return name

    def fail(self, message: str) -> None:
        """The build failed: the open step ends in `#N ERROR: message`, then BuildKit's box naming it."""
        if self.open:
            self._flush()
            self._write(f"#{self.open} ERROR: {message}")
            self._write(f"------\n > {self.title}:\n------")
            self.open = 0

    def _begin(self, title: str) -> int:
        self.n += 1
        self._write(f"#{self.n} {title}")
        return self.n

    def _end(self, n: int, status: str) -> None:
        self._write(f"#{n} {status}\n")

    def _output(self, data: bytes) -> None:
        lines = (self.partial + data).split(b"\n")
        self.partial = lines.pop()
        for line in lines:
            self._line(line)

    def _flush(self) -> None:
        if self.partial:
            self._line(self.partial)
            self.partial = b""

    def _line(self, line: bytes) -> None:
        text = line.decode("utf-8", "replace").rstrip("\r")
        prefix = f"#{self.open} {time.monotonic() - self.started:.3f} " if self.open else ""
        self._write(prefix + text)

    def _write(self, line: str) -> None:
        self.out.write(line + "\n")
        self.out.flush()


class Tty:
    """BuildKit's terminal progress: finished steps stay, the running one is redrawn in place below
    them with its time and its last output lines (` => => # ...`)."""

    LIVE_LINES = 6
    _CLEAR = "\x1b[{n}A\x1b[J"  # cursor up n lines, erase to the end of the screen

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.began = time.monotonic()
        self.title = ""
        self.started = 0.0
        self.log = b""
        self.shown = 0
        self.drawn = 0  # lines of the live area on screen now
        self.redrawn = 0.0
        try:
            self.width = max(40, os.get_terminal_size(out.fileno()).columns)
        except (OSError, ValueError, AttributeError):
            self.width = 80

    def __call__(self, e: eng_types.BuildEvent) -> None:
        from minidock.engine import build as eng

        if isinstance(e, eng.StepOutput):
            self.log = (self.log + e.data)[-65536:]
            if time.monotonic() - self.redrawn < 0.05:
                return  # a chatty step redraws at most 20 times a second
        elif isinstance(e, eng.StepStarted):
            self.title = f"[{e.vertex}] {e.display or e.text}" if e.vertex else ""
            self.log, self.started = b"", time.monotonic()
        elif isinstance(e, eng.StepDone) and self.title:
            self._clear()
            self._line(("CACHED " if e.cached else "") + self.title, e.seconds)
            self.title = ""
        elif isinstance(e, eng.BuildNote):
            self._clear()
            self.out.write(e.text + "\n")
        elif isinstance(e, eng.Internal):
            self._clear()
            self._line(f"[internal] {e.title}", 0.0)
            if e.detail:
                self.out.write(self._fit(f"=> {e.detail}", 0.0) + "\n")
        elif isinstance(e, eng.Exported):
            self._clear()
            self._line("exporting to client", e.seconds)
            self._finished()
        elif isinstance(e, eng.BuildFinished) and e.recorded:
            self._clear()
            self._line("exporting to image", 0.0)
            self._line(f"=> writing image {e.image_id}", 0.0)
            for name in e.names:
                self._line(f"=> naming to {name}", 0.0)
            self._finished()
        self._draw()

    def fail(self, message: str) -> None:
        """The build failed: the open step, its last output, and the message (BuildKit's error box)."""
        self._clear()
        if self.title:
            self._line(f"ERROR {self.title}", time.monotonic() - self.started)
            self.out.write(f"------\n > {self.title}:\n")
            for line in self.log.decode("utf-8", "replace").splitlines()[-20:]:
                self.out.write(f"#0 {line}\n")
            self.out.write("------\n")
            self.title = ""
        self.out.flush()

    def _draw(self) -> None:
        """The live area: the running step and its last output lines."""
        self._clear()
        if self.title:
            lines = [self._fit(self.title, time.monotonic() - self.started)]
            tail = self.log.decode("utf-8", "replace").replace("\r", "\n").splitlines()[-self.LIVE_LINES:]
            lines += [f" => => # {line}"[: self.width - 1] for line in tail]
            self.out.write("\n".join(lines) + "\n")
            self.drawn = len(lines)
        self.redrawn = time.monotonic()
        self.out.flush()

    def _clear(self) -> None:
        if self.drawn:
            self.out.write(self._CLEAR.format(n=self.drawn))
            self.drawn = 0

    def _fit(self, text: str, seconds: float) -> str:
        tail = f"{seconds:.1f}s"
        room = self.width - len(tail) - 5
        text = text if len(text) <= room else text[: room - 1] + "…"
        return f" => {text:<{room}} {tail}"

    def _line(self, text: str, seconds: float) -> None:
        self.shown += 1
        self.out.write(self._fit(text, seconds) + "\n")

    def _finished(self) -> None:
        self.out.write(f"[+] Building {time.monotonic() - self.began:.1f}s ({self.shown}/{self.shown}) FINISHED\n")
