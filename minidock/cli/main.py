"""Entry point: build the typer app from the noun modules and map MinidockError to exit codes."""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:  # why: no typing import at run time (the quick commands start in ~20 ms)
    from typing import NoReturn


def build_app() -> object:
    """The typer app with every command group registered."""
    import typer

    from minidock.cli import registry as noun_modules

    app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                      help="minidock: a daemonless mini-Docker. Pull, build and run Linux containers.")
    for register in noun_modules.REGISTERS:
        register(app)
    from minidock.cli.groups import mirror

    mirror(app)
    return app


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; a MinidockError becomes one `minidock: ...` line on stderr and its exit code."""
    args = sys.argv[1:] if argv is None else argv
    if args[:2] in (["container", "run"], ["container", "create"], ["image", "build"], ["builder", "build"]):
        args = args[1:]  # `container run`, `image build`, `builder build`: the same lean paths as `run`, `build`
    if args and args[0] in ("run", "create", "build"):
        if args[0] == "build":
            with_site_packages()
        return _lean(args) if argv is not None else _fast_path(args)
    if args and args[0] in _QUICK_FIRST_WORDS:  # ps, images, inspect...: the standard library only
        code = _quick(args)
        if code is not None:
            return code if argv is not None else _exit(code)
    with_site_packages()
    if args[:1] == ["pull"]:
        code = _quick_pull(args[1:])
        if code is not None:
            return code if argv is not None else _exit(code)
    if args in (["--version"], ["-v"]):
        from minidock import __version__

        print(f"minidock version {__version__}")
        return 0
    from minidock.cli.failures import guarded

    return guarded(lambda: _run_app(args), failure=1)


def with_site_packages() -> None:
    """Add the site-packages directories (requests, typer, rich...) when the launcher skipped them.

    why: the venv's launcher starts Python with -S (no `site`: ~2 ms of every start-up, Debian's
    apport hook included) and puts only minidock itself on sys.path; `run`, `create` and the quick
    commands (cli/quick.py) need nothing else (unless a run pulls). Every other command, a quick
    command's fallback to typer, and a run's pull call this first. A launcher without -S (pip's)
    has done it already: then this does nothing."""
    if sys.flags.no_site and "site" not in sys.modules:
        import site

        site.main()


_QUICK_FIRST_WORDS = ("ps", "container", "inspect", "logs", "version", "images", "image", "network")


def _quick(args: list[str]) -> int | None:
    """ps, inspect, logs, version: plain command lines without typer (cli/quick.py)."""
    from minidock.cli import quick

    return quick.main(args) if args[0] in quick.FIRST_WORDS else None


def _quick_pull(args: list[str]) -> int | None:
    """`pull [-q|--quiet] [--platform P] NAME` without typer and click (~55 ms of a pull's start-up);
    None for anything else (`--help`, an unknown flag, no name), which the typer command reads."""
    quiet, platform = False, ""
    names: list[str] = []
    rest = iter(args)
    for a in rest:
        if a in ("-q", "--quiet"):
            quiet = True
        elif a == "--platform":
            platform = next(rest, "")
            if not platform or platform.startswith("-"):
                return None
        elif a.startswith("--platform="):
            platform = a.partition("=")[2]
        elif a.startswith("-") or names:
            return None
        else:
            names.append(a)
    if not names:
        return None
    from minidock.cli.failures import guarded
    from minidock.cli.pull import pull_and_render

    def go() -> int:
        pull_and_render(names[0], platform, quiet)
        return 0
    return guarded(go, failure=1)


def _exit(code: int) -> NoReturn:
    """End the process now (see _fast_path: stdio flushed, no interpreter teardown)."""
    for stream in (sys.stdout, sys.stderr):
        try:  # noqa: SIM105 - not contextlib.suppress: one import less on every quick command
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


def _lean(args: list[str]) -> int:
    """`run`/`create` (latency-critical) and `build` (the edit-build loop) never import typer."""
    if args[0] == "build":
        from minidock.cli.build import build_main

        return build_main(args[1:])
    from minidock.cli.run import run_main

    return run_main(args[1:], args[0])


def _fast_path(args: list[str]) -> NoReturn:
    """`run`, `create` and `build` from the command line: argparse, no typer, and a lean process.

    why gc: start-up allocates ~100k objects and frees none; the collector would scan them
    several times (~8 ms). They are frozen once the command's modules are in, and collection
    resumes for whatever the command itself allocates (a `run -it` may last for hours).
    why os._exit: tearing the interpreter down (every module and object) costs ~15 ms and nothing
    is left to release: files are closed by their `with` blocks, children are reaped, stdio is
    flushed here."""
    import gc

    gc.disable()
    if args[0] == "build":  # why: its modules load inside the build itself; only the entry is frozen
        from minidock.cli import build  # noqa: F401

        gc.freeze()
        gc.enable()
    _exit(_lean(args))


def _run_app(args: list[str]) -> int:
    """The typer app on `args`; click's own exits, usage errors and aborts mapped to exit codes."""
    import click

    app = build_app()
    try:
        rc = app(args=args, prog_name="minidock", standalone_mode=False)  # type: ignore[operator]
    except click.exceptions.Exit as e:
        return int(e.exit_code)
    except click.UsageError as e:
        if type(e).__name__ == "NoArgsIsHelpError":  # `minidock`, `minidock network`: help, exit 0 (Docker's)
            print(e.format_message())
            return 0
        from minidock.cli.usage import from_click

        raise from_click(e, args) from None
    except click.ClickException as e:
        e.show()
        return int(e.exit_code)
    except click.exceptions.Abort:
        return 130
    return rc if isinstance(rc, int) else 0  # click returns typer.Exit(n)'s code when not standalone


if __name__ == "__main__":
    sys.exit(main())
