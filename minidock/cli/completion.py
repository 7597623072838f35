"""`minidock completion bash|zsh|fish`: the shell script that completes minidock's commands and flags.

The script calls minidock back with `_MINIDOCK_COMPLETE` set (click's shell completion): commands,
sub-commands and flags of the typer app are completed. Install with, for bash:
`minidock completion bash > /etc/bash_completion.d/minidock` (or `source <(minidock completion bash)`).
"""

from __future__ import annotations

from typing import Any

SHELLS = ("bash", "zsh", "fish")


def script(app: Any, shell: str) -> str:
    """The completion script for `shell`."""
    import typer.main
    from click.shell_completion import get_completion_class
    from typer._completion_classes import completion_init

    from minidock.errors import UsageError

    completion_init()  # typer's classes: the script then asks in typer's words (complete_bash)

    cls = get_completion_class(shell) if shell in SHELLS else None
    if cls is None:
        raise UsageError(f"unsupported shell {shell!r}: want bash, zsh or fish")
    command = typer.main.get_command(app)
    return str(cls(command, {}, "minidock", "_MINIDOCK_COMPLETE").source())


def register(app: Any) -> None:
    """Add `completion SHELL`."""
    import typer

    @app.command("completion")  # type: ignore[untyped-decorator]
    def completion(shell: str = typer.Argument(..., help="bash, zsh or fish")) -> None:
        """Output the shell completion script for bash, zsh or fish."""
        print(script(app, shell))
