"""Docker's `--format` rules over the Go template evaluator (minidock/gotemplate), for every command.

Listings (ps, images, network ls, volume ls, history, stats, system df) follow docker/cli's
formatter: an empty format or `table` is the command's default table; `table TEMPLATE` prints a
header (the template run over the column names, with json/lower/... returning their argument) and
aligns the cells with Go's tabwriter (min width 10, padding 3); `json` is `{{json .}}` (Docker 23's
shorthand); anything else is one template per row. `\\t` and `\\n` typed literally become a tab and a
newline, and the format is trimmed. Objects (inspect, version, info) run the template once per
object and end it with a newline.

    print(render_rows(fmt, rows, HEADERS, DEFAULT), end="")          # a listing
    print(render_object(fmt, obj), end="")                           # one object

`rows` are `gotemplate.Struct`s (a missing field is an error, like a Go struct); `to_struct` turns
an engine's JSON shape into one (Docker's map-typed fields stay maps).
"""

from __future__ import annotations

from minidock.errors import PlainError

TYPE_CHECKING = False
if TYPE_CHECKING:  # why: no typing import at run time (ps and inspect start in ~20 ms)
    from collections.abc import Callable, Mapping, Sequence
    from typing import Any


class Errors:
    """How one command reports a bad template: (prefix, exit code) for parsing and for running."""

    __slots__ = ("parse", "run")

    def __init__(self, parse: tuple[str, int], run: tuple[str, int]) -> None:
        self.parse, self.run = parse, run


# What docker 20.10 prints and returns (checked against its CLI; see tests/cli/test_docker_compat.py).
LISTING = Errors(("template parsing error: ", 1), ("template parsing error: ", 1))
PS = Errors(("failed to parse template: ", 1), ("failed to execute template: ", 1))
INSPECT = Errors(("template parsing error: ", 64), ("template parsing error: ", 1))
OBJECT = Errors(("template parsing error: ", 64), ("", 1))  # version, info


def prepare(fmt: str) -> tuple[bool, str]:
    """(is a table, the template text): docker/cli's preFormat."""
    table = fmt.startswith("table")
    text = fmt[len("table"):] if table else fmt
    text = text.strip(" ").replace("\\t", "\t").replace("\\n", "\n")
    return table, text


def _parse(text: str, errors: Errors, name: str = "") -> Any:
    from minidock.gotemplate import TemplateError, parse
    from minidock.gotemplate.funcs import DOCKER

    try:
        return parse(text, DOCKER, name)
    except TemplateError as e:
        raise PlainError(errors.parse[0] + str(e), errors.parse[1]) from None


def _execute(tmpl: Any, data: Any, errors: Errors, funcs: Mapping[str, Callable[..., Any]] | None = None) -> str:
    from minidock.gotemplate import TemplateError

    try:
        return str(tmpl.execute(data, funcs))
    except TemplateError as e:
        raise PlainError(errors.run[0] + str(e), errors.run[1]) from None


def render_rows(fmt: str, rows: Sequence[Any], headers: Mapping[str, Any], default: str,
                errors: Errors = LISTING) -> str:
    """A listing as Docker prints it for `--format fmt` (`default`: the command's table template)."""
    if fmt in ("", "table"):
        plain = _plain_columns(default)
        if plain is not None:  # why: the everyday table needs no template engine (start-up time)
            cells = ["\t".join(headers[c] for c in plain)] + ["\t".join(str(r[c]) for c in plain) for r in rows]
            return tabwrite("\n".join(cells) + "\n")
        fmt = default
    elif fmt == "json":
        fmt = "{{json .}}"
    table, text = prepare(fmt)
    tmpl = _parse(text, errors)
    body = "".join(_execute(tmpl, row, errors) + "\n" for row in rows)
    if not table:
        return body
    from minidock.gotemplate.funcs import DOCKER_HEADER

    header = _execute(tmpl, dict(headers), errors, DOCKER_HEADER)
    return tabwrite(header + "\n" + body)


def _plain_columns(default: str) -> list[str] | None:
    """The field names of a default table like `table {{.ID}}\t{{.Image}}`; None when it is more."""
    cells = default.removeprefix("table").strip().split("\t")
    names = [c[3:-2] for c in cells if c.startswith("{{.") and c.endswith("}}")]
    return names if len(names) == len(cells) and all(n.isalnum() for n in names) else None


def json_indent(value: Any) -> str:
    """Docker's inspect JSON: 4-space indents, non-ASCII kept, <, > and & escaped (Go's json)."""
    from minidock.plainjson import dumps_indent

    text = dumps_indent(value)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def render_object(fmt: str, obj: Any, errors: Errors = OBJECT, name: str = "", end: str = "\n") -> str:
    """One object (version, info, one inspected object) through `fmt`, then `end` (`system df -v`: none)."""
    _, text = prepare(fmt)
    return _execute(_parse(text, errors, name), obj, errors) + end


def render_objects(fmt: str, objects: Sequence[Any], errors: Errors = INSPECT) -> str:
    """`inspect -f`: the template once per object (parsed once: a syntax error before any output)."""
    _, text = prepare(fmt)
    tmpl = _parse(text, errors)
    return "".join(_execute(tmpl, o, errors) + "\n" for o in objects)


def tabwrite(text: str, minwidth: int = 10, padding: int = 3) -> str:
    """Go's text/tabwriter (padchar ' ', no flags): tab-terminated cells aligned per column block."""
    lines = [line.split("\t") for line in text.split("\n")]
    out: list[str] = []
    widths: list[int] = []

    def write(line0: int, line1: int) -> None:
        for i in range(line0, line1):
            cells = lines[i]
            parts = [c.ljust(widths[j]) if j < len(widths) else c for j, c in enumerate(cells)]
            out.append("".join(parts) + ("\n" if i + 1 < len(lines) else ""))

    def fmt(line0: int, line1: int) -> None:
        column = len(widths)
        this = line0
        while this < line1:
            if column >= len(lines[this]) - 1:
                this += 1
                continue
            write(line0, this)
            line0 = this
            width = minwidth
            while this < line1 and column < len(lines[this]) - 1:
                width = max(width, len(lines[this][column]) + padding)
                this += 1
            widths.append(width)
            fmt(line0, this)
            widths.pop()
            line0 = this
        write(line0, line1)

    fmt(0, len(lines))
    return "".join(out)


# Docker's inspect fields whose Go type is a map (printed map[...], a missing key is <no value>);
# every other JSON object is a struct.
MAP_FIELDS = frozenset(("Labels", "ExposedPorts", "Ports", "Volumes", "Networks", "Options", "DriverOpts",
                        "Containers", "Sysctls", "StorageOpt", "Tmpfs", "Data", "PortBindings", "Annotations",
                        "LogConfig.Config"))


# Go field names whose JSON name differs (`{{.ID}}` and `{{.Id}}` both work in docker inspect).
GO_NAMES = {"ID": "Id", "APIVersion": "ApiVersion", "MinAPIVersion": "MinAPIVersion"}


def to_struct(value: Any, key: str = "", parent: str = "") -> Any:
    """A JSON shape (dicts, lists, scalars) as Go values: objects become Structs except map fields."""
    from minidock.gotemplate import Struct

    if isinstance(value, dict):
        inner = {k: to_struct(v, k, key) for k, v in value.items()}
        if key in MAP_FIELDS or f"{parent}.{key}" in MAP_FIELDS:
            return inner
        out = Struct(inner)
        out.aliases = {go: k for go, k in GO_NAMES.items() if k in inner and go not in inner}
        return out
    if isinstance(value, list):
        return [to_struct(v, "", key) for v in value]
    return value


def row(type_name: str, fields: Mapping[str, Any]) -> Any:
    """A listing row: a Go struct named like Docker's formatter context (for its error messages)."""
    from minidock.gotemplate import Struct

    return Struct(dict(fields), type_name, escape_html=True)


def label_method(labels: Mapping[str, str]) -> Callable[[str], str]:
    """The `.Label "key"` method of ps, volume ls and network ls rows."""
    def label(key: str) -> str:
        return str(labels.get(key, ""))
    return label


def label_header(key: str) -> str:
    """The column title of `{{.Label "com.example.my-key"}}` in a table: `my key` (docker/cli's rule)."""
    return key.rsplit(".", maxsplit=1)[-1].replace("-", " ").replace("_", " ")
