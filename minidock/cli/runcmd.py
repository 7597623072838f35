"""`run`, `create` and `build` as typer commands, only so `minidock --help` lists them; argparse does the work."""

from __future__ import annotations

import typer

from minidock.cli.build import build_main
from minidock.cli.run import run_main

_SETTINGS = {"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []}


def register(app: typer.Typer) -> None:
    """Add run/create/build; their arguments go to argparse untouched (cli/runargs.py, cli/buildargs.py)."""

    @app.command("run", help="Create and run a new container from an image", context_settings=_SETTINGS,
                 add_help_option=False)
    def run(ctx: typer.Context) -> None:
        raise typer.Exit(run_main(list(ctx.args), "run"))

    @app.command("create", help="Create a new container", context_settings=_SETTINGS, add_help_option=False)
    def create(ctx: typer.Context) -> None:
        raise typer.Exit(run_main(list(ctx.args), "create"))

    @app.command("build", help="Build an image from a Dockerfile", context_settings=_SETTINGS,
                 add_help_option=False)
    def build(ctx: typer.Context) -> None:
        raise typer.Exit(build_main(list(ctx.args)))
