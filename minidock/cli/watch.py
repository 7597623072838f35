"""Commands that keep watching containers: `attach` (output until the container exits) and `stats`
without --no-stream (a table a second until Ctrl-C)."""

from __future__ import annotations

import contextlib
import signal
import sys
from types import FrameType
from typing import Any, TextIO

from minidock.errors import MinidockError

STATS_INTERVAL = 1.0
PROXIED = (signal.SIGINT, signal.SIGTERM)


def parse_sig_proxy(value: str, name: str) -> tuple[bool, str]:
    """`--sig-proxy=false NAME`, `--sig-proxy NAME` (the flag took NAME as its value), `NAME`."""
    from minidock.errors import UsageError

    text = value.lower()
    if text in ("true", "false", "1", "0"):
        proxy = text in ("true", "1")
    elif not name:
        proxy, name = True, value
    else:
        raise UsageError(f"invalid boolean value {value!r} for --sig-proxy")
    if not name:
        raise UsageError("attach: name the container: minidock attach CONTAINER")
    return proxy, name


def attach_cmd(name: str, sig_proxy: bool = True) -> int:
    """Stream a running container's output from now until it stops; its exit code. With `sig_proxy`,
    SIGINT/SIGTERM sent to this command go to the container's PID 1 (lifecycle.kill) instead."""
    from minidock.engine import info, lifecycle

    cid, entries = info.attach(name)

    def forward(signum: int, _frame: FrameType | None) -> None:
        with contextlib.suppress(MinidockError):  # why: it may have exited meanwhile
            lifecycle.kill(cid, str(signum))

    previous: dict[int, Any] = {s: signal.signal(s, forward) for s in PROXIED} if sig_proxy else {}
    try:
        for e in entries:
            out = sys.stderr if e.stream == "stderr" else sys.stdout
            out.write(e.text)
            out.flush()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    return lifecycle.wait(cid)


def _table(names: list[str]) -> str:
    from minidock.cli.containers import stats_lines
    from minidock.engine import info

    return "\n".join(stats_lines(info.stats(names, interval=STATS_INTERVAL)))


def stream_stats(names: list[str], out: TextIO) -> None:
    """Redraw the stats table every second until Ctrl-C: rich Live on a terminal, else one plain
    table after another (a blank line between)."""
    with contextlib.suppress(KeyboardInterrupt):
        if not out.isatty():
            while True:
                print(_table(names) + "\n", file=out, flush=True)
        from rich.console import Console
        from rich.live import Live
        from rich.text import Text

        with Live(Text(""), console=Console(file=out), auto_refresh=False, transient=False) as live:
            while True:
                live.update(Text(_table(names)), refresh=True)
