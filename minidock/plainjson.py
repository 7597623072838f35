"""JSON for the quick commands (ps, images, inspect, logs, network ls, `--format`) without the json
package: the same C scanner and encoder (`_json`) that json uses, none of its Python layer.

Why: `import json` loads re (and with it enum, functools, collections): ~4 ms of CPU on this
machine, a third of what `minidock ps` costs once the interpreter is up. Every function here gives
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


_compact = _json.make_encoder({}, _refuse, quote, None, ":", ",", False, False, True)


def dumps_compact(value: Any) -> str:
    """json.dumps(value, ensure_ascii=False, separators=(",", ":"))."""
    try:
        return "".join(_compact(value, 0))
    except _UnusualError:
        import json

        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def dumps_indent(value: Any) -> str:
    """json.dumps(value, indent=4, ensure_ascii=False)."""
    out: list[str] = []
    try:
        _indented(value, out, "\n")
    except (_UnusualError, RecursionError):
        import json

        return json.dumps(value, indent=4, ensure_ascii=False)
    return "".join(out)


def _indented(value: Any, out: list[str], newline: str) -> None:
    """json.encoder._make_iterencode's output for indent=4 (str keys, finite floats only)."""
    if isinstance(value, str):
        out.append(quote(value))
    elif value is None or value is True or value is False:
        out.append("null" if value is None else "true" if value else "false")
    elif isinstance(value, int):
        out.append(int.__repr__(value))
    elif isinstance(value, float) and value - value == 0.0:  # finite (nan and inf are json's)
        out.append(float.__repr__(value))
    elif isinstance(value, dict):
        _container(list(value.items()), out, newline, "{}")
    elif isinstance(value, (list, tuple)):
        _container([(None, v) for v in value], out, newline, "[]")
    else:
        raise _UnusualError


def _container(items: list[tuple[Any, Any]], out: list[str], newline: str, marks: str) -> None:
    """An object (key, value pairs) or an array ((None, value) pairs) over several lines."""
    if not items:
        out.append(marks)
        return
    inner = newline + "    "
    out.append(marks[0])
    for i, (key, item) in enumerate(items):
        out.append(inner if not i else "," + inner)
        if marks == "{}":
            if not isinstance(key, str):
                raise _UnusualError
            out.append(quote(key) + ": ")
        _indented(item, out, inner)
    out.append(newline + marks[1])
