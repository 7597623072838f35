"""Container commands: ps, inspect, logs, start, stop, kill, restart, rm, prune, pause, unpause, top,
stats, wait, exec (top level and under `container`). Each parses, makes one engine call, renders."""

from __future__ import annotations

import sys
from typing import Any

from minidock.cli.render import table, table_lines
from minidock.errors import MinidockError


def logs_cmd(name: str, follow: bool, tail: str, timestamps: bool, window: tuple[str, str] = ("", ""), *,
             details: bool = False) -> None:
    """`window`: --since and --until as typed (RFC 3339, a Unix time or a duration like 10m)."""
    from minidock.engine import glance, info
    from minidock.engine.logs import TimeWindow, parse_time

    n = -1 if tail == "all" else int(tail)
    since, until = (parse_time(t) if t else None for t in window)
    for e in info.container_logs(name, follow, n, window=TimeWindow(since, until) if window != ("", "") else None):
        out = sys.stderr if e.stream == "stderr" else sys.stdout
        text = glance.details(dict(e.attrs)) + e.text if details else e.text
        out.write(f"{e.time} {text}" if timestamps else text)
        out.flush()


def each(names: list[str], fn: Any, *args: Any) -> None:
    """Apply `fn` to every container named, print each name; errors go on and set exit code 1 (Docker)."""
    failed = False
    for n in names:
        try:
            fn(n, *args)
            print(n)
        except MinidockError as e:
            print(f"minidock: {e}", file=sys.stderr)
            failed = True
    if failed:
        import typer

        raise typer.Exit(1)


def start_cmd(names: list[str], attach: bool, interactive: bool = False, keys_flag: str = "") -> None:
    """`start`; with -a/-i: the output streamed (-i: our stdin to the container's) until it exits
    (its exit code) or the detach keys are typed."""
    import typer

    from minidock.engine import info, lifecycle

    if not (attach or interactive):
        each(names, lifecycle.start)
        return
    from minidock.cli.watch import stream_attached
    from minidock.engine.attachin import detach_keys

    keys = detach_keys(keys_flag)
    cid = info.container_id(names[0])
    later: list[Any] = []
    entries = info.start_attached(cid, then=lambda: [f() for f in later])
    if stream_attached(cid, entries, keys if interactive else None, True, later):
        raise typer.Exit(0)
    raise typer.Exit(lifecycle.wait_removed(cid))


def top_cmd(name: str, ps_args: list[str] | None = None) -> None:
    import shutil

    from minidock.engine import info

    if ps_args or shutil.which("ps"):  # why: Docker's top is the host's `ps -ef` (or OPTIONS), filtered
        titles, rows = info.top_ps(name, ps_args or ["-ef"])
        table(titles, rows)
        return
    table(["UID", "PID", "PPID", "STIME", "TTY", "TIME", "CMD"],
           [[r.uid, str(r.pid), str(r.ppid), r.stime, r.tty, r.time, r.cmd] for r in info.top(name)])


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.4g}{unit}"
        n /= 1024
    return f"{n}B"


def stats_lines(rows: list[Any], no_trunc: bool = False) -> list[str]:
    """The `docker stats` table of StatsRows (`no_trunc`: full container ids)."""
    return table_lines(["CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "NET I/O", "BLOCK I/O", "PIDS"],
                       [[s.id if no_trunc else s.id[:12], s.name, f"{s.cpu_percent:.2f}%",
                         f"{_size(s.mem_usage)} / {_size(s.mem_limit)}",
                         f"{s.mem_percent:.2f}%", _io_pair(s.net_rx, s.net_tx), _io_pair(s.blk_read, s.blk_write),
                         str(s.pids)] for s in rows])


def _io_pair(a: int, b: int) -> str:
    """docker stats's `1.2kB / 648B` (decimal units, three significant digits)."""
    from minidock.engine.humanize import human_size

    return f"{human_size(a)} / {human_size(b)}"


STATS_HEADERS = {"Container": "CONTAINER", "Name": "NAME", "ID": "CONTAINER ID", "CPUPerc": "CPU %",
                 "MemUsage": "MEM USAGE / LIMIT", "MemPerc": "MEM %", "NetIO": "NET I/O", "BlockIO": "BLOCK I/O",
                 "PIDs": "PIDS"}


STATS_DEFAULT = ("table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}"
                 "\t{{.PIDs}}")


def stats_row(s: Any, no_trunc: bool = False) -> Any:
    """docker stats's fields (docker/cli's statsContext) for one StatsRow."""
    from minidock.cli.formatting import row

    short = s.id if no_trunc else s.id[:12]
    return row("*formatter.statsContext", {
        "BlockIO": _io_pair(s.blk_read, s.blk_write), "CPUPerc": f"{s.cpu_percent:.2f}%", "Container": short,
        "ID": short, "MemPerc": f"{s.mem_percent:.2f}%", "MemUsage": f"{_size(s.mem_usage)} / {_size(s.mem_limit)}",
        "Name": s.name, "NetIO": _io_pair(s.net_rx, s.net_tx), "PIDs": str(s.pids)})


def stats_cmd(names: list[str], no_stream: bool = True, fmt: str = "", no_trunc: bool = False) -> None:
    """One table with --no-stream; else a table a second until Ctrl-C (cli/watch.py)."""
    from minidock.engine import info

    if not no_stream and not fmt:
        from minidock.cli.watch import stream_stats

        stream_stats(names, sys.stdout, no_trunc)
        return
    rows = info.stats(names)
    if not fmt:
        print("\n".join(stats_lines(rows, no_trunc)))
        return
    from minidock.cli.formatting import render_rows

    print(render_rows(fmt, [stats_row(s, no_trunc) for s in rows], STATS_HEADERS, STATS_DEFAULT), end="")


def exec_cmd(name: str, cmd: list[str], flags: dict[str, Any]) -> None:
    import typer

    from minidock.engine import execs
    from minidock.engine.attachin import check_tty, detach_keys

    keys = detach_keys(flags.get("detach_keys", ""), exec_=True)  # why: Docker refuses a bad one even with -d
    check_tty(flags["i"] and flags["t"] and not flags["d"], 0)
    req = execs.ExecRequest(name, tuple(cmd), flags["i"], flags["t"], flags["d"], tuple(flags["e"]),
                            flags["u"], flags["w"], tuple(flags.get("env_file") or ()), flags.get("privileged", False),
                            detach_keys=keys)
    raise typer.Exit(execs.exec_in(req))


def register(app: Any) -> None:
    """Add the container commands at top level and under `container`; make `inspect` see containers."""
    from minidock.cli import containers_cmds

    containers_cmds.register(app)
