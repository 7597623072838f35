"""Entry point: build the typer app from the noun modules and map MinidockError to exit codes."""

from __future__ import annotations

import sys


def build_app() -> object:
    """The typer app with every command group registered."""
    import typer

    from minidock.cli import registry as noun_modules

    app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                      help="minidock: a daemonless mini-Docker. Pull, build and run Linux containers.")
    for register in noun_modules.REGISTERS:
        register(app)
    return app


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; a MinidockError becomes one `minidock: ...` line on stderr and its exit code."""
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] in ("run", "create"):  # latency-critical: never imports typer
        from minidock.cli.run import run_main

        return run_main(args[1:], args[0])
    if args and args[0] == "build":  # the edit-build loop: argparse too (cli/buildargs.py)
        from minidock.cli.build import build_main

        return build_main(args[1:])
    from minidock.cli.failures import guarded

    return guarded(lambda: _run_app(args))


def _run_app(args: list[str]) -> int:
    """The typer app on `args`; click's own exits, usage errors and aborts mapped to exit codes."""
    import click

    app = build_app()
    try:
        rc = app(args=args, prog_name="minidock", standalone_mode=False)  # type: ignore[operator]
    except click.exceptions.Exit as e:
        return int(e.exit_code)
    except click.ClickException as e:
        e.show()
        return 125 if e.exit_code == 2 else int(e.exit_code)
    except click.exceptions.Abort:
        return 130
    return rc if isinstance(rc, int) else 0  # click returns typer.Exit(n)'s code when not standalone


if __name__ == "__main__":
    sys.exit(main())
