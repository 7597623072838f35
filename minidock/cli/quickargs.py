"""Plain command lines of the latency-critical commands (run, create, build), read without argparse.

`import argparse` brings gettext and locale with it, and they compile their regular expressions:
with building the parser that is ~8 ms of every `run` and cached `build`. `read()` takes the
command lines people type — known options, each value a separate word or `--flag=value`, the
positional, then (for `run`) the command; a lone `-` (stdin) is a word like any other, as argparse
reads it — and returns None for anything else (`--help`, combined short flags like `-it`,
abbreviations, unknown options, a value that looks like a flag, a bad int).
Those go to argparse, so every message and corner case stays argparse's; tests/cli check that both
read every plain command line the same way.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from argparse import ArgumentParser
    from collections.abc import Mapping
    from typing import Any

KINDS = ("append", "store", "int", "true")  # repeatable, last wins, last wins as int, a switch


def read(argv: list[str], options: Mapping[str, tuple[str, str]], defaults: Mapping[str, Any],
         positional: str, rest: str = "") -> dict[str, Any] | None:
    """argparse's namespace (as a dict) for a plain `argv`, else None (see the module docstring).

    `options` maps each option word to (attribute, kind); `rest` names the attribute that takes
    every word after the positional (argparse.REMAINDER), or is empty when nothing may follow."""
    ns = {k: list(v) if isinstance(v, list) else v for k, v in defaults.items()}
    i = 0
    while i < len(argv):
        word = argv[i]
        i += 1
        name, eq, inline = word.partition("=") if word.startswith("--") else (word, "", "")
        option = options.get(name)
        if option is None:
            if (word.startswith("-") and word != "-") or ns[positional] is not None:
                return None  # a flag argparse must judge, or a second positional (its error)
            ns[positional] = word
            if rest:
                ns[rest] = argv[i:]
                break
            continue
        if (value := _value(option[1], eq, inline, argv, i)) is None:
            return None
        i += 0 if eq or option[1] == "true" else 1
        attr = option[0]
        if option[1] == "append":
            ns[attr].append(value)
        else:
            ns[attr] = value
    return ns if ns[positional] is not None else None


def _value(kind: str, eq: str, inline: str, argv: list[str], i: int) -> object:
    """The option's value (True for a switch), or None when argparse must read this line."""
    if kind == "true":
        return None if eq else True
    if eq:
        value = inline
    elif i < len(argv) and (argv[i] == "-" or not argv[i].startswith("-")):
        value = argv[i]
    else:
        return None
    if kind != "int":
        return value
    try:
        return int(value)
    except ValueError:
        return None


def pflag_joined(argv: list[str], options: Mapping[str, tuple[str, str]], interspersed: bool = False) -> list[str]:
    """argv with each value that starts with '-' joined to its flag (`--env -X` -> `--env=-X`, `-e -X`
    -> `-e-X`): Docker's pflag takes the word after a value flag whatever it looks like, argparse
    refuses it as a missing value (negative numbers aside). Up to the positional (`run`'s IMAGE: the
    rest is the command's), or to `--` when flags may follow positionals (`build`)."""
    out, i = [], 0
    while i < len(argv):
        word = argv[i]
        out.append(word)
        i += 1
        if word == "--" or (not interspersed and (not word.startswith("-") or word == "-")):
            break  # the end of the flags: the rest is not ours
        if i < len(argv) and _takes_value(word, options):
            value = argv[i]
            i += 1
            if value.startswith("-") and value not in ("-", "--"):  # argparse drops a `--` value: left to refuse
                out[-1] = f"{word}={value}" if word.startswith("--") else word + value
            else:
                out.append(value)
    return out + argv[i:]


def parser_options(parser: ArgumentParser) -> dict[str, tuple[str, str]]:
    """Every option word of an argparse parser -> (attribute, "true" for a switch, else "store")."""
    return {word: (a.dest, "true" if a.nargs == 0 else "store")
            for word, a in parser._option_string_actions.items()}


def _takes_value(word: str, options: Mapping[str, tuple[str, str]]) -> bool:
    """`--env`, `-e`, or switches ending in a value flag (`-de`), as pflag reads them."""
    if word in options:
        return options[word][1] != "true"
    if word.startswith("--") or "=" in word or len(word) < 3:
        return False
    letters = [f"-{c}" for c in word[1:]]
    return all(options.get(w, ("", ""))[1] == "true" for w in letters[:-1]) and \
        options.get(letters[-1], ("", "true"))[1] != "true"
