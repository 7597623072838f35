"""Docker's confirmation prompt (cli/command/utils.go PromptForConfirmation): the message and
` [y/N] ` on stdout, one line read from stdin (a pipe or EOF too); only `y` or `Y` means yes."""

from __future__ import annotations

import sys


def confirm(message: str) -> bool:
    """Ask `message` (Docker's words); True only for an answer of `y`/`Y`."""
    print(f"{message} [y/N] ", end="", flush=True)
    return sys.stdin.readline().strip().lower() == "y"
