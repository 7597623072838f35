"""Commands that keep watching containers: `attach` (output until the container exits) and `stats`
without --no-stream (a table a second until Ctrl-C)."""

from __future__ import annotations

import contextlib
import signal
import sys
from collections.abc import Iterable
from functools import partial
from types import FrameType
from typing import Any, TextIO

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


class _DetachedError(Exception):
    """The detach keys were typed (raised in the main thread by DETACH_SIGNAL)."""


DETACH_SIGNAL = signal.SIGUSR2  # the stdin thread's word to the main thread: stop streaming


def attach_cmd(name: str, sig_proxy: bool = True, stdin: bool = True, keys_flag: str = "") -> int:
    """Stream a running container's output from now until it stops, typing into its stdin (when it
    has one: -i); its exit code. With `sig_proxy` (and no terminal), SIGINT/SIGTERM sent to this
    command go to the container's PID 1. The detach keys end it: Docker's `read escape sequence`, 1."""
    from minidock.engine import info, lifecycle
    from minidock.engine.attachin import detach_keys

    keys = detach_keys(keys_flag)
    cid, entries = info.attach(name)
    if stream_attached(cid, entries, keys if stdin else None, sig_proxy):
        print("read escape sequence", file=sys.stderr)
        return 1
    return lifecycle.wait(cid)


def stream_attached(cid: str, entries: Iterable[Any], keys: bytes | None, sig_proxy: bool,
                    later: list[Any] | None = None) -> bool:
    """Write the output entries as they come; with `keys`, our stdin goes to the container's, and
    with `sig_proxy` SIGINT/SIGTERM go to its PID 1: from now, or (`later`: start -a/-i) once the
    caller calls the function put in `later` (the container has started). True when the detach
    keys ended it."""
    import threading

    from minidock.engine import attachin

    main = threading.main_thread().ident or 0
    previous: dict[int, Any] = {DETACH_SIGNAL: signal.signal(DETACH_SIGNAL, _raise_detached)}
    copies: list[Any] = []

    def arm() -> None:
        pid = attachin.signal_target(cid) if sig_proxy else 0  # 0: a terminal (Docker proxies nothing then)
        for s in PROXIED if pid else ():
            previous.setdefault(s, signal.signal(s, partial(_forward, pid)))
        if keys is not None:
            copies.append(attachin.stdin_copy(cid, keys, lambda: signal.pthread_kill(main, DETACH_SIGNAL)))

    if later is None:
        arm()
    else:
        later.append(arm)
    try:
        for e in entries:
            out = sys.stderr if e.stream == "stderr" else sys.stdout
            out.write(e.text)
            out.flush()
    except _DetachedError:
        return True
    finally:
        for c in copies:
            if c is not None:
                c.close()
        for s, handler in previous.items():
            signal.signal(s, handler)
    return False


def _raise_detached(_s: int, _f: FrameType | None) -> None:
    raise _DetachedError


def _forward(pid: int, signum: int, _frame: FrameType | None) -> None:
    """A signal we got, to the container's PID 1: a plain kill(2), no store access (the handler may
    run while the main thread holds a store lock)."""
    import os

    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signum)


def _table(names: list[str], no_trunc: bool = False) -> str:
    from minidock.cli.containers import stats_lines
    from minidock.engine import info

    return "\n".join(stats_lines(info.stats(names, interval=STATS_INTERVAL), no_trunc))


def stream_stats(names: list[str], out: TextIO, no_trunc: bool = False) -> None:
    """Redraw the stats table every second until Ctrl-C: rich Live on a terminal, else one plain
    table after another (a blank line between)."""
    with contextlib.suppress(KeyboardInterrupt):
        if not out.isatty():
            while True:
                print(_table(names, no_trunc) + "\n", file=out, flush=True)
        from rich.console import Console
        from rich.live import Live
        from rich.text import Text

        with Live(Text(""), console=Console(file=out), auto_refresh=False, transient=False) as live:
            while True:
                live.update(Text(_table(names, no_trunc)), refresh=True)
