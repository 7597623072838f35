"""JSON for the quick commands (ps, images, inspect, logs, network ls, `--format`) and the `run` path
(records, the store's journals, the runtime's pipe messages) without the json package: the same C
scanner and encoder (`_json`) that json uses, none of its Python layer.

Why: `import json` loads re (and with it enum, functools, collections): ~4 ms of CPU on this
machine, a third of what `minidock ps` costs once the interpreter is up; ~1 ms of a `run` even
when re is loaded anyway. Every function here gives
exactly what its json counterpart gives; anything unusual (invalid text, a BOM, UTF-16, a type
json would reject or convert) goes to json itself, so values, errors and messages stay json's.
"""

from __future__ import annotations

import _json

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_SPACE = " \t\n\r"  # json.decoder.WHITESPACE


class _Context:
    """What json.scanner.c_make_scanner reads from a JSONDecoder (json.loads's defaults)."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = {"-Infinity": float("-inf"), "Infinity": float("inf"), "NaN": float("nan")}.__getitem__


_scan = _json.make_scanner(_Context())  # type: ignore[arg-type]  # typeshed: a JSONDecoder; reads these six
quote = _json.encode_basestring  # json.dumps(text, ensure_ascii=False) of a str


def loads(data: bytes | str) -> Any:
    """json.loads(data)."""
    try:
        text = data if isinstance(data, str) else data.decode()
        obj, end = _scan(text, len(text) - len(text.lstrip(_SPACE)))
    except (StopIteration, ValueError, SystemError):  # invalid, a BOM, not UTF-8: json's value or error
        # why SystemError: _json raises json.decoder.JSONDecodeError only when json.decoder is loaded
        obj, end, text = None, -1, ""
    if end < 0 or text[end:].strip(_SPACE):
        import json

        return json.loads(data)
    return obj


class _UnusualError(Exception):
    """A value the fast encoders leave to json (json converts or rejects it)."""


def _refuse(value: object) -> object:
    raise _UnusualError


_ENCODERS: dict[tuple[bool, bool], Any] = {}


def _encoder(sort_keys: bool, ensure_ascii: bool) -> Any:
    """json's C encoder for separators (",", ":") (what c_make_encoder gets from json.dumps)."""
    key = (sort_keys, ensure_ascii)
    if key not in _ENCODERS:
        _ENCODERS[key] = _json.make_encoder({}, _refuse, _quote(ensure_ascii), None, ":", ",", sort_keys, False,
                                            True)
    return _ENCODERS[key]


def _quote(ensure_ascii: bool) -> Any:
    return _json.encode_basestring_ascii if ensure_ascii else quote


def dumps_compact(value: Any, *, sort_keys: bool = False, ensure_ascii: bool = False) -> str:
    """json.dumps(value, ensure_ascii=ensure_ascii, sort_keys=sort_keys, separators=(",", ":"))."""
    try:
        return "".join(_encoder(sort_keys, ensure_ascii)(value, 0))
    except _UnusualError:
        import json

        return json.dumps(value, ensure_ascii=ensure_ascii, sort_keys=sort_keys, separators=(",", ":"))


class _Style:
    """How dumps_indent writes: the indent unit, how strings are quoted, whether keys are sorted."""

    __slots__ = ("quote", "sort_keys", "unit")

    def __init__(self, indent: int, sort_keys: bool, ensure_ascii: bool) -> None:
        self.unit, self.sort_keys, self.quote = " " * indent, sort_keys, _quote(ensure_ascii)


def dumps_indent(value: Any, *, indent: int = 4, sort_keys: bool = False, ensure_ascii: bool = False) -> str:
    """json.dumps(value, indent=indent, sort_keys=sort_keys, ensure_ascii=ensure_ascii)."""
    out: list[str] = []
    try:
        _indented(value, out, "\n", _Style(indent, sort_keys, ensure_ascii))
    except (_UnusualError, RecursionError, TypeError):  # TypeError: keys sort_keys cannot order
        import json

        return json.dumps(value, indent=indent, sort_keys=sort_keys, ensure_ascii=ensure_ascii)
    return "".join(out)


def _indented(value: Any, out: list[str], newline: str, style: _Style) -> None:
    """json.encoder._make_iterencode's output for an int indent (str keys, finite floats only)."""
    if isinstance(value, str):
        out.append(style.quote(value))
    elif value is None or value is True or value is False:
        out.append("null" if value is None else "true" if value else "false")
    elif isinstance(value, int):
        out.append(int.__repr__(value))
    elif isinstance(value, float) and value - value == 0.0:  # finite (nan and inf are json's)
        out.append(float.__repr__(value))
    elif isinstance(value, dict):
        items = sorted(value.items()) if style.sort_keys else list(value.items())
        _container(items, out, newline, "{}", style)
    elif isinstance(value, (list, tuple)):
        _container([(None, v) for v in value], out, newline, "[]", style)
    else:
        raise _UnusualError


def _container(items: list[tuple[Any, Any]], out: list[str], newline: str, marks: str, style: _Style) -> None:
    """An object (key, value pairs) or an array ((None, value) pairs) over several lines."""
    if not items:
        out.append(marks)
        return
    inner = newline + style.unit
    out.append(marks[0])
    for i, (key, item) in enumerate(items):
        out.append(inner if not i else "," + inner)
        if marks == "{}":
            if not isinstance(key, str):
                raise _UnusualError
            out.append(style.quote(key) + ": ")
        _indented(item, out, inner, style)
    out.append(newline + marks[1])
