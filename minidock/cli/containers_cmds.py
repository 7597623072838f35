"""The typer wiring of the container commands (cli/containers.py holds their bodies)."""

from __future__ import annotations

from typing import Any

from minidock.cli import containers as c
from minidock.cli.groups import sub_app

TOP_LEVEL = ("ps", "logs", "start", "stop", "kill", "restart", "rm", "pause", "unpause", "top", "stats", "wait",
             "exec", "attach")


def _commands() -> dict[str, Any]:
    return {**_reading_commands(), **_state_commands(), **_pause_remove_commands()}


def _reading_commands() -> dict[str, Any]:
    """Commands that look at containers: ps, logs, top, stats, wait."""
    import typer

    names = typer.Argument(..., help="CONTAINER (name, id or id prefix)")
    maybe_names = typer.Argument(None, help="CONTAINER (default: all running)")
    filter_opt = typer.Option([], "-f", "--filter", help="status=exited, name=REGEX, id=, ancestor=IMAGE, exited=CODE")

    def ps(*, a: bool = typer.Option(False, "-a", "--all", help="show all containers (default: running)"),
           q: bool = typer.Option(False, "-q", "--quiet", help="only show IDs"),
           no_trunc: bool = typer.Option(False, "--no-trunc", help="do not truncate output"),
           fmt: str = typer.Option("", "--format", help="Go template, 'table TEMPLATE' or 'json'"),
           filters: list[str] = filter_opt,
           last: int = typer.Option(-1, "-n", "--last", help="show the N last created containers (all states)"),
           latest: bool = typer.Option(False, "-l", "--latest", help="show the latest created container"),
           size: bool = typer.Option(False, "-s", "--size", help="display total file sizes")) -> None:
        """List containers."""
        from minidock.cli.listing import PsOptions
        from minidock.cli.listing import ps as ps_list

        ps_list(PsOptions(a, q, no_trunc, fmt, filters=filters, last=1 if latest else last, size=size))

    def logs(*, name: str = typer.Argument(...), f: bool = typer.Option(False, "-f", "--follow", help="follow output"),
             tail: str = typer.Option("all", "-n", "--tail", help="lines from the end"),
             t: bool = typer.Option(False, "-t", "--timestamps", help="show timestamps"),
             since: str = typer.Option("", "--since", help="logs since a time (2013-01-02T13:23:37Z) or for 42m"),
             until: str = typer.Option("", "--until", help="logs before a time (RFC 3339) or 42m ago"),
             details: bool = typer.Option(False, "--details", help="show extra details (--log-opt attrs)")) -> None:
        """Fetch the logs of a container."""
        c.logs_cmd(name, f, tail, t, (since, until), details=details)

    def top(name: str = typer.Argument(...),
            ps_args: list[str] = typer.Argument(None, metavar="[ps OPTIONS]")) -> None:  # noqa: B008
        """Display the running processes of a container (the host's ps with OPTIONS, as Docker's)."""
        c.top_cmd(name, ps_args)

    def stats(containers: list[str] = maybe_names,
              no_stream: bool = typer.Option(False, "--no-stream", help="one sample, then exit"),
              fmt: str = typer.Option("", "--format", help="Go template (one sample)"),
              a: bool = typer.Option(False, "-a", "--all", help="(running containers are shown)"),
              no_trunc: bool = typer.Option(False, "--no-trunc", help="do not truncate output")) -> None:
        """Display resource usage (CPU %, memory, pids) of containers, refreshed every second until Ctrl-C."""
        c.stats_cmd(containers or [], no_stream, fmt, no_trunc)

    def wait(containers: list[str] = names) -> None:
        """Block until containers stop, then print their exit codes."""
        from minidock.engine import lifecycle
        for n in containers:
            print(lifecycle.wait(n))

    return {"ps": ps, "logs": logs, "top": top, "stats": stats, "wait": wait, "attach": _attach_command()}


def _attach_command() -> Any:
    import typer

    def attach(name: str = typer.Argument("", help="CONTAINER", show_default=False),
               sig_proxy: str = typer.Option("true", "--sig-proxy",
                                             help="forward SIGINT/SIGTERM to the container (true|false)"),
               no_stdin: bool = typer.Option(False, "--no-stdin", help="do not attach STDIN"),
               detach_keys: str = typer.Option("", "--detach-keys", help="override the key sequence for detaching "
                                               "(ctrl-p,ctrl-q)")) -> None:
        """Attach our stdin (a container made with -i) and output to a running container until it exits,
        then exit with its code; the detach keys (ctrl-p,ctrl-q with -t) leave it running."""
        from minidock.cli.watch import attach_cmd, parse_sig_proxy
        proxy, name = parse_sig_proxy(sig_proxy, name)
        raise typer.Exit(attach_cmd(name, proxy, not no_stdin, detach_keys))
    return attach


def _state_commands() -> dict[str, Any]:
    """Commands that start or stop containers: start, stop, kill, restart."""
    import typer

    names = typer.Argument(..., help="CONTAINER (name, id or id prefix)")
    timeout = typer.Option(None, "-t", "--time", help="seconds to wait before SIGKILL (default 10)")

    def start(containers: list[str] = names,
              a: bool = typer.Option(False, "-a", "--attach", help="attach output, return the exit code"),
              i: bool = typer.Option(False, "-i", "--interactive", help="attach the container's stdin"),
              detach_keys: str = typer.Option("", "--detach-keys", help="override the key sequence for detaching "
                                              "(ctrl-p,ctrl-q)")) -> None:
        """Start one or more stopped containers."""
        c.start_cmd(containers, a, i, detach_keys)

    def stop(containers: list[str] = names, t: int | None = timeout) -> None:
        """Stop one or more running containers (StopSignal, then SIGKILL)."""
        from minidock.engine import lifecycle
        c.each(containers, lifecycle.stop, t)

    def kill(containers: list[str] = names, s: str = typer.Option("KILL", "-s", "--signal", help="signal")) -> None:
        """Kill one or more running containers."""
        from minidock.engine import lifecycle
        c.each(containers, lifecycle.kill, s)

    def restart(containers: list[str] = names, t: int | None = timeout) -> None:
        """Restart one or more containers."""
        from minidock.engine import lifecycle
        c.each(containers, lifecycle.restart, t)

    return {"start": start, "stop": stop, "kill": kill, "restart": restart}


def _pause_remove_commands() -> dict[str, Any]:
    """Commands that freeze, thaw or remove containers: pause, unpause, rm."""
    import typer

    names = typer.Argument(..., help="CONTAINER (name, id or id prefix)")

    def rm(containers: list[str] = names, f: bool = typer.Option(False, "-f", "--force", help="kill if running"),
           v: bool = typer.Option(False, "-v", "--volumes", help="remove the container's anonymous volumes"),
           link: bool = typer.Option(False, "-l", "--link", help="remove the specified link")) -> None:
        """Remove one or more containers."""
        from functools import partial

        from minidock.engine import lifecycle
        if link:
            from minidock.engine.extraflags import remove_link
            c.each(containers, remove_link)
        else:
            c.each(containers, partial(lifecycle.remove, volumes=v), f)

    def pause(containers: list[str] = names) -> None:
        """Pause all processes within one or more containers."""
        from minidock.engine import lifecycle
        c.each(containers, lifecycle.pause)

    def unpause(containers: list[str] = names) -> None:
        """Unpause all processes within one or more containers."""
        from minidock.engine import lifecycle
        c.each(containers, lifecycle.unpause)

    return {"rm": rm, "pause": pause, "unpause": unpause}


def _exec_command() -> Any:
    import typer

    command = typer.Argument(..., help="COMMAND [ARG...]")
    env = typer.Option([], "-e", "--env", help="set environment variables")
    env_files = typer.Option([], "--env-file", help="read in a file of environment variables")

    def exec_(*, name: str = typer.Argument(..., help="CONTAINER"), cmd: list[str] = command,
              i: bool = typer.Option(False, "-i", "--interactive", help="keep stdin open"),
              t: bool = typer.Option(False, "-t", "--tty", help="allocate a pseudo-TTY"),
              d: bool = typer.Option(False, "-d", "--detach", help="run in the background"),
              e: list[str] = env,
              u: str = typer.Option("", "-u", "--user", help="user name or uid[:gid]"),
              w: str = typer.Option("", "-w", "--workdir", help="working directory"),
              env_file: list[str] = env_files,
              privileged: bool = typer.Option(False, "--privileged", help="every capability for the command"),
              detach_keys: str = typer.Option("", "--detach-keys", help="override the key sequence for detaching "
                                              "(ctrl-p,ctrl-q)")) -> None:
        """Execute a command in a running container."""
        if name.startswith("-"):  # why: options are not interspersed (the command's own flags follow)
            from minidock.cli.usage import unknown_flag

            raise unknown_flag(name, "minidock exec")
        c.exec_cmd(name, cmd, {"i": i, "t": t, "d": d, "e": e, "u": u, "w": w, "env_file": env_file,
                               "privileged": privileged, "detach_keys": detach_keys})
    return exec_


def _inspect(app: Any) -> Any:
    import typer

    objects = typer.Argument(..., help="CONTAINER or IMAGE")

    def inspect(names: list[str] = objects,
                kind: str = typer.Option("", "--type", help="container or image"),
                fmt: str = typer.Option("", "-f", "--format", help="Go template (per object)"),
                size: bool = typer.Option(False, "-s", "--size", help="display total file sizes (containers)")) -> None:
        """Show low-level information on containers or images (Docker's JSON)."""
        from minidock.cli.listing import inspect as inspect_objects

        raise typer.Exit(inspect_objects(names, kind, fmt, size))
    for info in app.registered_commands:  # why: the image module registers `inspect` too; extend it
        if info.name == "inspect":
            info.callback = inspect
            return None
    return inspect


def register(app: Any) -> None:
    """Top-level verbs, `container ...`, and `inspect` for containers and images."""
    import typer

    group = sub_app(app, "container", "Manage containers")
    cmds = _commands()
    exec_settings = {"allow_interspersed_args": False, "ignore_unknown_options": True}
    for name in TOP_LEVEL:
        if name == "exec":
            app.command("exec", context_settings=exec_settings)(_exec_command())
            group.command("exec", context_settings=exec_settings)(_exec_command())
        elif name == "top":  # why: `top CONTAINER -o pid,comm`: everything after the name is ps's
            app.command("top", context_settings=exec_settings)(cmds["top"])
            group.command("top", context_settings=exec_settings)(cmds["top"])
        else:
            app.command(name)(cmds[name])
            group.command(name)(cmds[name])
    group.command("ls")(cmds["ps"])
    containers = typer.Argument(..., help="CONTAINER")

    def inspect(names: list[str] = containers,
                fmt: str = typer.Option("", "-f", "--format", help="Go template (per object)"),
                size: bool = typer.Option(False, "-s", "--size", help="display total file sizes")) -> None:
        """Show low-level information on containers (Docker's JSON)."""
        from minidock.cli.listing import inspect as inspect_objects

        raise typer.Exit(inspect_objects(names, "container", fmt, size))
    group.command("inspect")(inspect)

    prune_filters = typer.Option([], "--filter", help="until=TIME, label=K[=V], label!=K[=V]")

    def prune(f: bool = typer.Option(False, "-f", "--force", help="do not prompt for confirmation"),
              filters: list[str] = prune_filters) -> None:
        """Remove all stopped containers (Docker's question first, unless -f)."""
        from minidock.cli.prompt import confirm
        from minidock.engine import lifecycle
        from minidock.engine.filters import PruneFilter
        from minidock.engine.humanize import human_size
        from minidock.engine.images import container_bytes

        chosen = PruneFilter.parse(filters)  # a bad filter fails before the question
        warning = "WARNING! This will remove all stopped containers.\nAre you sure you want to continue?"
        if not f and not confirm(warning):
            print("Total reclaimed space: 0B")
            return
        before = container_bytes()
        gone = lifecycle.prune(filters=chosen)
        if gone:
            print("Deleted Containers:", *gone, "", sep="\n")
        print(f"Total reclaimed space: {human_size(before - container_bytes(), 4)}")
    group.command("prune")(prune)
    top_inspect = _inspect(app)
    if top_inspect is not None:
        app.command("inspect")(top_inspect)
