"""The quick path of the commands typed most (ps, inspect, logs, version, images, network ls): plain
command lines are read here and answered without typer, click or rich (~60 ms of imports), like
`run`'s (cli/quickargs.py). Anything else (--help, an unknown or unusual flag, --follow) returns
None and goes to the typer app, so every message and corner case stays the typer commands'.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# word -> (attribute, kind): "true" a switch, "store" a value (last wins), "append" repeatable, "int"
_PS = {"-a": ("all", "true"), "--all": ("all", "true"), "-q": ("quiet", "true"), "--quiet": ("quiet", "true"),
       "--no-trunc": ("no_trunc", "true"), "--format": ("format", "store"), "-f": ("filter", "append"),
       "--filter": ("filter", "append"), "-n": ("last", "int"), "--last": ("last", "int"),
       "-l": ("latest", "true"), "--latest": ("latest", "true"), "-s": ("size", "true"), "--size": ("size", "true")}
_CONTAINER_INSPECT = {"-f": ("format", "store"), "--format": ("format", "store"), "-s": ("size", "true"),
                      "--size": ("size", "true")}
_INSPECT = {**_CONTAINER_INSPECT, "--type": ("type", "store")}
_FORMAT_ONLY = {"-f": ("format", "store"), "--format": ("format", "store")}  # image inspect, network inspect
_LOGS = {"-n": ("tail", "store"), "--tail": ("tail", "store"), "-t": ("timestamps", "true"),
         "--timestamps": ("timestamps", "true"), "--details": ("details", "true")}
_VERSION = {"-f": ("format", "store"), "--format": ("format", "store")}
_IMAGES = {"-q": ("quiet", "true"), "--quiet": ("quiet", "true"), "--format": ("format", "store"),
           "--no-trunc": ("no_trunc", "true"), "--digests": ("digests", "true"), "-a": ("all", "true"),
           "--all": ("all", "true"), "-f": ("filter", "append"), "--filter": ("filter", "append")}
_NETWORKS = {"-q": ("quiet", "true"), "--quiet": ("quiet", "true"), "--format": ("format", "store"),
             "--no-trunc": ("no_trunc", "true"), "-f": ("filter", "append"), "--filter": ("filter", "append")}
SPECS: dict[str, dict[str, tuple[str, str]]] = {
    "ps": _PS, "container ls": _PS, "container ps": _PS, "container list": _PS, "inspect": _INSPECT,
    "container inspect": _CONTAINER_INSPECT, "logs": _LOGS, "container logs": _LOGS, "version": _VERSION,
    "images": _IMAGES, "image ls": _IMAGES, "image list": _IMAGES, "image inspect": _FORMAT_ONLY,
    "network ls": _NETWORKS, "network list": _NETWORKS, "network inspect": _FORMAT_ONLY}
GROUPS = ("container", "image", "network")
FIRST_WORDS = frozenset(w.split()[0] for w in SPECS)


def read(argv: list[str], spec: dict[str, tuple[str, str]]) -> tuple[dict[str, Any], list[str]] | None:
    """(options, positionals) of a plain command line, else None (the typer command judges it)."""
    opts: dict[str, Any] = {}
    words: list[str] = []
    i = 0
    while i < len(argv):
        word = argv[i]
        i += 1
        if not word.startswith("-") or word == "-":
            words.append(word)
            continue
        name, eq, inline = word.partition("=") if word.startswith("--") else (word, "", "")
        if name not in spec and not word.startswith("--") and len(word) > 2:
            shorts = [f"-{c}" for c in word[1:]]  # -aq
            if not all(spec.get(s, ("", ""))[1] == "true" for s in shorts):
                return None
            opts.update({spec[s][0]: True for s in shorts})
            continue
        attr, kind = spec.get(name, ("", ""))
        if not attr or (kind == "true" and eq):
            return None
        if kind == "true":
            opts[attr] = True
            continue
        if not eq:
            if i >= len(argv):
                return None
            inline, i = argv[i], i + 1
        if kind == "int":
            if not inline.lstrip("-").isdigit():
                return None
            opts[attr] = int(inline)
        elif kind == "append":
            opts.setdefault(attr, []).append(inline)
        else:
            opts[attr] = inline
    return opts, words


def main(args: list[str]) -> int | None:
    """The exit code of a command answered here, or None for the typer app."""
    command = " ".join(args[:2]) if args[0] in GROUPS else args[0]
    spec = SPECS.get(command)
    if spec is None or "--help" in args:
        return None
    parsed = read(args[len(command.split()):], spec)
    if parsed is None:
        return None
    opts, words = parsed
    from minidock.cli.failures import guarded

    verb = command.split()[-1]
    handler = {"ps": _ps, "ls": _ps, "list": _ps, "inspect": _inspect, "logs": _logs, "version": _version,
               "images": _images}[verb]
    if command.startswith("image "):
        handler = _inspect if verb == "inspect" else _images
    elif command.startswith("network "):
        handler = _network_inspect if verb == "inspect" else _networks
    if verb == "inspect" and command.startswith(("container", "image")):
        opts["type"] = command.split()[0]
    result: list[int | None] = [None]

    def body() -> int:
        result[0] = handler(opts, words)
        return result[0] if result[0] is not None else 0
    code = guarded(body, failure=1)
    return None if result[0] is None and code == 0 else code


def _ps(opts: dict[str, Any], words: list[str]) -> int | None:
    if words:
        return None
    from minidock.cli.listing import PsOptions, ps

    ps(PsOptions(opts.get("all", False), opts.get("quiet", False), opts.get("no_trunc", False),
                 opts.get("format", ""), filters=opts.get("filter"), last=1 if opts.get("latest") else
                 opts.get("last", -1), size=opts.get("size", False)))
    return 0


def _inspect(opts: dict[str, Any], words: list[str]) -> int | None:
    if not words or opts.get("type", "") not in ("", "container", "image"):
        return None
    from minidock.cli.listing import inspect

    return inspect(words, opts.get("type", ""), opts.get("format", ""), opts.get("size", False))


def _logs(opts: dict[str, Any], words: list[str]) -> int | None:
    tail = opts.get("tail", "all")
    if len(words) != 1 or not (tail == "all" or tail.isdigit()):
        return None
    from minidock.engine import glance

    d = glance.find(words[0])
    if ((d.get("host_config") or {}).get("LogConfig") or {}).get("Type", "json-file") not in ("json-file", "local"):
        return None
    stamps, detailed = opts.get("timestamps", False), opts.get("details", False)
    for stream, text, at, attrs in glance.log_entries(str(d["id"]), -1 if tail == "all" else int(tail)):
        out = sys.stderr if stream == "stderr" else sys.stdout
        text = glance.details(attrs) + text if detailed else text
        out.write(f"{at} {text}" if stamps else text)
        out.flush()  # why: stdout and stderr on one terminal keep the logged order
    return 0


def _images(opts: dict[str, Any], words: list[str]) -> int | None:
    if len(words) > 1:
        return None
    from minidock.cli.listing import images

    images(opts.get("quiet", False), opts.get("format", ""), opts.get("no_trunc", False),
           opts.get("digests", False), repository=words[0] if words else "", filters=opts.get("filter"))
    return 0


def _networks(opts: dict[str, Any], words: list[str]) -> int | None:
    if words:
        return None
    from minidock.cli.network import ls_cmd

    ls_cmd(opts.get("quiet", False), opts.get("format", ""), opts.get("no_trunc", False), opts.get("filter"))
    return 0


def _network_inspect(opts: dict[str, Any], words: list[str]) -> int | None:
    if not words:
        return None
    from minidock.cli.network import inspect_cmd

    return inspect_cmd(words, opts.get("format", ""))


def _version(opts: dict[str, Any], words: list[str]) -> int | None:
    if words:
        return None
    from minidock.cli.system import render, version_lines
    from minidock.engine.version import version_report

    v = version_report()
    fmt = opts.get("format", "")
    text = render(fmt, v.to_json(), "system.versionInfo", "version") if fmt else "\n".join(version_lines(v)) + "\n"
    sys.stdout.write(text)
    return 0
