"""A container's files, name and limits: `cp`, `diff`, `rename`, `update` (top level and under `container`)."""

from __future__ import annotations

from typing import Any

from minidock.cli.groups import sub_app


def _commands() -> dict[str, Any]:
    import typer

    def cp(src: str = typer.Argument(..., metavar="SRC", help="CONTAINER:SRC_PATH, a host path, or - (a tar)"),
           dest: str = typer.Argument(..., metavar="DEST", help="CONTAINER:DEST_PATH, a host path, or -"),
           archive: bool = typer.Option(False, "-a", "--archive", help="keep uid/gid of the copied files"),
           follow: bool = typer.Option(False, "-L", "--follow-link", help="follow a symbolic link in SRC")) -> None:
        """Copy files between a container and the host."""
        from minidock.engine.copy import cp as copy

        copy(src, dest, archive, follow)

    def diff(container: str = typer.Argument(..., help="CONTAINER")) -> None:
        """Show files added (A), changed (C) and deleted (D) in a container's file system."""
        from minidock.engine.changes import changes

        for kind, path in changes(container):
            print(f"{kind} {path}")

    def rename(container: str = typer.Argument(...), new_name: str = typer.Argument(...)) -> None:
        """Rename a container."""
        from minidock.engine.lifecycle import rename as rename_container

        rename_container(container, new_name)

    def update(*, containers: list[str] = typer.Argument(..., help="CONTAINER..."),  # noqa: B008
               memory: str = typer.Option("", "-m", "--memory", help="memory limit"),
               memory_swap: str = typer.Option("", "--memory-swap", help="memory + swap limit (-1: unlimited)"),
               cpus: str = typer.Option("", "--cpus", help="number of CPUs"),
               cpu_shares: int = typer.Option(0, "-c", "--cpu-shares", help="CPU shares (relative weight)"),
               pids_limit: int = typer.Option(0, "--pids-limit", help="process number limit (-1: unlimited)"),
               restart: str = typer.Option("", "--restart", help="restart policy"),
               cpuset_cpus: str = typer.Option("", "--cpuset-cpus", help="CPUs in which to allow execution (0-3, 0,1)"),
               cpuset_mems: str = typer.Option("", "--cpuset-mems", help="memory nodes in which to allow execution"),
               cpu_quota: int = typer.Option(0, "--cpu-quota", help="limit the CPU CFS quota"),
               cpu_period: int = typer.Option(0, "--cpu-period", help="limit the CPU CFS period"),
               memory_reservation: str = typer.Option("", "--memory-reservation", help="memory soft limit"),
               blkio_weight: str = typer.Option("", "--blkio-weight", help="block IO weight (10 to 1000)"),
               cpu_rt_period: int = typer.Option(0, "--cpu-rt-period", help="CPU real-time period (microseconds)"),
               cpu_rt_runtime: int = typer.Option(0, "--cpu-rt-runtime", help="CPU real-time runtime (microseconds)"),
               ) -> None:
        """Update the limits and restart policy of one or more containers."""
        from minidock.cli.runargs import go_typed
        from minidock.engine.update import UpdateRequest
        from minidock.engine.update import update as update_containers

        typed = go_typed({"blkio_weight": blkio_weight or None, "memory_reservation": memory_reservation}, "update")
        req = UpdateRequest(memory, memory_swap, cpus, cpu_shares, pids_limit, restart, cpuset_cpus, cpuset_mems,
                            cpu_quota, cpu_period, memory_reservation, typed.get("blkio_weight", 0), cpu_rt_period,
                            cpu_rt_runtime)
        for name in update_containers(containers, req):
            print(name)

    return {"cp": cp, "diff": diff, "rename": rename, "update": update}


def events_command(app: Any) -> None:
    """`events [--since] [--until] [-f K=V] [--format]`: the store's event journal, then live events."""
    import typer

    def events(since: str = typer.Option("", "--since", help="show events created since a time or duration"),
               until: str = typer.Option("", "--until", help="stream events until this time or duration"),
               filters: list[str] = typer.Option([], "-f", "--filter",  # noqa: B008
                                                 help="container=, event=, image=, label=, type=, volume=, network="),
               fmt: str = typer.Option("", "--format", help="Go template ('{{json .}}': one JSON object a line)")
               ) -> None:
        """Get real time events from the store (minidock has no daemon: its commands journal them)."""
        import sys

        from minidock.engine import events as ev
        from minidock.engine.filterargs import grouped
        from minidock.engine.logs import parse_time

        render = _event_renderer(fmt)
        lo, hi = (parse_time(t) if t else None for t in (since, until))
        try:
            for e in ev.stream(lo, hi, grouped(filters, "events", ev.FILTERS)):
                print(render(e), flush=True)
        except KeyboardInterrupt:
            sys.exit(0)
    app.command("events")(events)


def _event_renderer(fmt: str) -> Any:
    from minidock.engine import events as ev

    if not fmt:
        return ev.line
    import json

    from minidock.gotemplate import parse

    tmpl = parse(fmt)
    funcs = {"json": lambda v: json.dumps(v, separators=(",", ":"))}
    return lambda e: tmpl.execute(e, funcs)


def register(app: Any) -> None:
    """`cp`, `diff`, `rename`, `update` at top level and in the `container` group."""
    events_command(app)
    group = sub_app(app, "container", "Manage containers")
    for name, fn in _commands().items():
        app.command(name)(fn)
        group.command(name)(fn)
