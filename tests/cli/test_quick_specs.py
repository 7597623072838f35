"""The quick path's option tables (cli/quick.py) cannot drift from the typer commands they stand for.

Every option word the quick path reads must be an option of the same typer command, of the same
kind: a switch where typer has a flag, repeatable where typer takes it many times, a value where
typer takes one. (A word typer has and the quick path lacks is fine: such lines go to typer.)
"""

from __future__ import annotations

from typing import Any

import click
import pytest
import typer.main

from minidock.cli import quick
from minidock.cli.main import build_app


def _command(group: click.Group, words: list[str]) -> click.Command:
    cmd: click.Command = group
    for w in words:
        assert isinstance(cmd, click.Group), words
        ctx = click.Context(cmd)
        found = cmd.get_command(ctx, w)
        assert found is not None, f"no typer command {' '.join(words)}"
        cmd = found
    return cmd


def _options(cmd: click.Command) -> dict[str, Any]:
    return {name: p for p in cmd.params if isinstance(p, click.Option) for name in p.opts}


@pytest.mark.parametrize("command", sorted(quick.SPECS))
def test_quick_options_are_the_typer_commands(command: str) -> None:
    group = typer.main.get_command(build_app())  # type: ignore[arg-type]
    assert isinstance(group, click.Group)
    options = _options(_command(group, command.split()))
    for word, (_attr, kind) in quick.SPECS[command].items():
        assert word in options, f"{command}: the quick path reads {word}, typer does not know it"
        opt = options[word]
        if kind == "true":
            assert opt.is_flag, f"{command} {word}: a switch on the quick path, a value in typer"
        elif kind == "append":
            assert opt.multiple, f"{command} {word}: repeatable on the quick path, not in typer"
        else:
            assert not opt.is_flag and not opt.multiple, f"{command} {word}: one value on the quick path"
