"""Command lines that do not parse, in Docker's words: `unknown flag: --x` and `See 'minidock ps --help'.`

Docker (cobra) says `unknown flag: --x`, `unknown shorthand flag: 'x' in -x`, `flag needs an
argument: --format` (or `'n' in -n`), `invalid argument "x" for "-t, --time" flag: ...`, each
followed by `See 'docker ps --help'.` and exit 125; a wrong number of arguments is
`"docker rm" requires at least 1 argument.` with exit 1. Both parsers minidock uses (click for
most commands, argparse for run/create/build) are translated here into FlagError.
"""

from __future__ import annotations

from typing import Any

from minidock.errors import FlagError


def see(command: str) -> str:
    return f"See '{command} --help'."


def _flag(word: str) -> str:
    """`'m' in -m` for a short flag, `--memory` for a long one (cobra's two forms)."""
    return word if word.startswith("--") else f"'{word.lstrip('-')}' in {word}"


def unknown_flag(word: str, command: str) -> FlagError:
    name = word.split("=", 1)[0]
    text = f"unknown flag: {name}" if name.startswith("--") else \
        f"unknown shorthand flag: '{name[1:2]}' in {name}"
    return FlagError(f"{text}\n{see(command)}")


def needs_argument(word: str, command: str) -> FlagError:
    return FlagError(f"flag needs an argument: {_flag(word)}\n{see(command)}")


def invalid_value(value: str, flags: str, command: str) -> FlagError:
    return FlagError(f'invalid argument "{value}" for "{flags}" flag: strconv.ParseInt: parsing "{value}": '
                     f"invalid syntax\n{see(command)}")


def arguments(command: str, how: str) -> FlagError:
    """`"minidock rm" requires at least 1 argument.` (exit 1, as Docker's)."""
    return FlagError(f'"{command}" requires {how}.\n{see(command)}', exit_code=1)


GROUPS = ("container", "image", "network", "system", "volume", "builder")


def command_path(args: list[str]) -> str:
    """`minidock ps` or `minidock network ls`: the command words at the start of `args`."""
    words = [a for a in args[:2] if not a.startswith("-")]
    return " ".join(["minidock", *words[:2 if words and words[0] in GROUPS else 1]])


def from_click(e: Any, args: list[str]) -> FlagError:
    """A click usage error as Docker words it (`args`: the command line, when click has no context)."""
    import click

    ctx = getattr(e, "ctx", None)
    command = ctx.command_path if ctx is not None else command_path(args)
    if isinstance(e, click.NoSuchOption):
        return unknown_flag(e.option_name, command)
    if isinstance(e, click.BadOptionUsage) and "requires an argument" in e.message:
        return needs_argument(e.option_name, command)
    if isinstance(e, click.MissingParameter):
        return arguments(command, "at least 1 argument")
    message = e.format_message() if hasattr(e, "format_message") else str(e)
    if message.startswith("No such command"):
        word = message.split("'")[1] if "'" in message else message
        return FlagError(f"minidock: '{word}' is not a minidock command.\nSee 'minidock --help'", exit_code=1)
    if isinstance(e, click.BadParameter) and e.param is not None:
        value = message.split("'")[-2] if message.count("'") >= 2 else ""
        flags = ", ".join(sorted(getattr(e.param, "opts", []), key=len))
        if flags and value:
            return invalid_value(value, flags, command)
    if message.startswith("Got unexpected extra argument"):
        return arguments(command, "no more arguments than it takes")
    return FlagError(f"{message[:1].lower()}{message[1:].rstrip('.')}\n{see(command)}")


def from_argparse(message: str, command: str, flags: dict[str, str]) -> FlagError:
    """An argparse error message (run, create, build) as Docker words it.

    `flags` maps every option word to its `-s, --long` pair (for invalid values)."""
    if message.startswith("unrecognized arguments: "):
        word = message.split(": ", 1)[1].split(maxsplit=1)[0]
        return unknown_flag(word, command) if word.startswith("-") else arguments(command, "exactly 1 argument")
    if message.startswith("the following arguments are required"):
        return arguments(command, "at least 1 argument")
    if message.startswith("argument ") and ": " in message:
        names, _, problem = message[len("argument "):].partition(": ")
        words = names.split("/")
        if problem.startswith("expected one argument"):
            return needs_argument(words[-1] if words[-1].startswith("--") else words[0], command)
        if problem.startswith("ignored explicit argument "):  # `--rm=maybe`: a Go bool flag's value
            value = problem.split("argument ", 1)[1].strip("'")
            return FlagError(f'invalid argument "{value}" for "{flags.get(words[0], words[0])}" flag: '
                             f'strconv.ParseBool: parsing "{value}": invalid syntax\n{see(command)}')
        if problem.startswith("invalid") and "value: " in problem:
            value = problem.split("value: ", 1)[1].strip("'")
            return invalid_value(value, flags.get(words[0], ", ".join(words)), command)
    return FlagError(f"{message}\n{see(command)}")
