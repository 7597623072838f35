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
               restart: str = typer.Option("", "--restart", help="restart policy")) -> None:
        """Update the limits and restart policy of one or more containers."""
        from minidock.engine.update import UpdateRequest
        from minidock.engine.update import update as update_containers

        req = UpdateRequest(memory, memory_swap, cpus, cpu_shares, pids_limit, restart)
        for name in update_containers(containers, req):
            print(name)

    return {"cp": cp, "diff": diff, "rename": rename, "update": update}


def register(app: Any) -> None:
    """`cp`, `diff`, `rename`, `update` at top level and in the `container` group."""
    group = sub_app(app, "container", "Manage containers")
    for name, fn in _commands().items():
        app.command(name)(fn)
        group.command(name)(fn)
