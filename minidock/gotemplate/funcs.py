"""Go text/template's built-in functions and Docker's additions (json, split, join, title, lower,
upper, pad, truncate: docker/cli templates.basicFunctions), with Go's error texts."""

from __future__ import annotations

from minidock.gotemplate.gofmt import sprint, sprintf, sprintln
from minidock.gotemplate.values import MISSING, NIL, Struct, truth, type_name
from minidock.plainjson import dumps_compact

TYPE_CHECKING = False
if TYPE_CHECKING:  # why: no typing import at run time (templates run on the quick path)
    from collections.abc import Callable
    from typing import Any


class CallError(Exception):
    """A function failed: shown as `error calling NAME: message`."""


class ArgError(Exception):
    """Argument `index` is not of Go type `expected` (the executor words it as Go does)."""

    def __init__(self, index: int, expected: str, got: Any) -> None:
        super().__init__(f"wrong type for value; expected {expected}; got {type_name(got)}")
        self.index, self.expected = index, expected


def arity(fn: Callable[..., Any]) -> int | None:
    """How many arguments `fn` takes; None when it is variadic or not a plain function."""
    code = getattr(fn, "__code__", None)
    if code is None or code.co_flags & 0x04 or getattr(fn, "__defaults__", None):
        return None
    return int(code.co_argcount)


def _want(v: Any, kind: type, index: int = 0) -> Any:
    if not isinstance(v, kind) or (kind is int and isinstance(v, bool)):
        raise ArgError(index, {str: "string", int: "int"}[kind], v)
    return v


def go_len(v: Any) -> int:
    if isinstance(v, str):
        return len(v.encode())
    if isinstance(v, list | tuple | dict):
        return len(v)
    raise CallError(f"len of type {type_name(v)}")


def go_index(item: Any, *indexes: Any) -> Any:
    """index x 1 2: x[1][2]; a missing map key gives the map's zero value."""
    for i in indexes:
        if item is None or item is MISSING:
            raise CallError("index of untyped nil")
        if isinstance(item, dict):
            if i in item:
                item = item[i]
            elif isinstance(item, Struct):
                raise CallError(f"can't index item of type {type_name(item)}")
            else:
                item = "" if all(isinstance(x, str) for x in item.values()) else MISSING
        elif isinstance(item, list | tuple | str):
            if not isinstance(i, int) or isinstance(i, bool):
                raise CallError(f"cannot index slice/array with type {type_name(i)}")
            if not 0 <= i < len(item):
                raise CallError(f"index out of range: {i}")
            item = item.encode()[i] if isinstance(item, str) else item[i]
        else:
            raise CallError(f"can't index item of type {type_name(item)}")
    return item


def go_slice(item: Any, *indexes: Any) -> Any:
    if not isinstance(item, list | tuple | str):
        raise CallError(f"can't slice item of type {type_name(item)}")
    if len(indexes) > 2:
        raise CallError(f"too many slice indexes: {len(indexes)}")
    start, end = (list(indexes) + [0, len(item)][len(indexes):])[:2]
    for i in (start, end):
        if not 0 <= i <= len(item):
            raise CallError(f"index out of range: {i}")
    if start > end:
        raise CallError(f"invalid slice index: {start} > {end}")
    return item[start:end]


def _kind(v: Any) -> str:
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float"
    if isinstance(v, str):
        return "string"
    if v is None or v is MISSING:
        return "nil"
    raise CallError("invalid type for comparison")


def go_eq(a: Any, *others: Any) -> bool:
    if not others:
        raise CallError("missing argument for comparison")
    for b in others:
        if _kind(a) != _kind(b):
            if "nil" in (_kind(a), _kind(b)):
                continue
            raise CallError("incompatible types for comparison")
        if a == b or (a is MISSING and b is None) or (a is None and b is MISSING):
            return True
    return False


def go_ne(a: Any, b: Any) -> bool:
    return not go_eq(a, b)


def go_lt(a: Any, b: Any) -> bool:
    ka, kb = _kind(a), _kind(b)
    if ka in ("bool", "nil") or kb in ("bool", "nil"):
        raise CallError("invalid type for comparison")
    if ka != kb:
        raise CallError("incompatible types for comparison")
    return bool(a < b)


def go_le(a: Any, b: Any) -> bool:
    return go_lt(a, b) or go_eq(a, b)


def go_gt(a: Any, b: Any) -> bool:
    return not go_le(a, b)


def go_ge(a: Any, b: Any) -> bool:
    return not go_lt(a, b)


def go_html(*args: Any) -> str:
    text = args[0] if len(args) == 1 and isinstance(args[0], str) else sprint(*args)
    for c, esc in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&#34;"), ("'", "&#39;"), ("\0", "\ufffd")):
        text = text.replace(c, esc)
    return text


def go_urlquery(*args: Any) -> str:
    from urllib.parse import quote_plus

    return quote_plus(args[0] if len(args) == 1 and isinstance(args[0], str) else sprint(*args), safe="")


def go_not(v: Any) -> bool:
    return not truth(v)


def _and(*args: Any) -> Any:  # evaluated lazily by the executor; here for the name table
    return args[-1]


BUILTINS: dict[str, Callable[..., Any]] = {
    "and": _and, "or": _and, "not": go_not, "len": go_len, "index": go_index, "slice": go_slice,
    "print": sprint, "printf": sprintf, "println": sprintln, "eq": go_eq, "ne": go_ne, "lt": go_lt,
    "le": go_le, "gt": go_gt, "ge": go_ge, "html": go_html, "urlquery": go_urlquery,
}


def to_json(v: Any) -> str:
    """Docker's `json`: Go's encoding/json with SetEscapeHTML(false), compact, no trailing newline
    (a Struct marked escape_html was marshalled by Docker first: <, > and & come out escaped)."""
    escape = isinstance(v, Struct) and v.escape_html
    text = dumps_compact(None if v is MISSING or v is NIL else _marshalled(v))
    if escape:
        text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return text


def _marshalled(v: Any) -> Any:
    """What encoding/json sees: a Struct without its methods and omitted nils, at any depth."""
    if isinstance(v, Struct):
        return {k: _marshalled(x) for k, x in v.items() if not callable(x) and x is not NIL}
    if isinstance(v, list):
        return [_marshalled(x) for x in v]
    if isinstance(v, dict):
        return {k: _marshalled(x) for k, x in v.items()}
    return v


def split(s: Any, sep: Any) -> list[str]:
    text, by = _want(s, str), _want(sep, str, 1)
    return list(text) if by == "" else text.split(by)


def join(items: Any, sep: Any) -> str:
    if not isinstance(items, list | tuple) or not all(isinstance(x, str) for x in items):
        raise ArgError(0, "[]string", items)
    return str(_want(sep, str, 1)).join(items)


def title(s: Any) -> str:
    """strings.Title: the first letter of every word upper-cased (a word follows a non-letter, non-digit)."""
    out, prev = [], " "
    for c in _want(s, str):
        out.append(c.upper() if not (prev.isalnum() or prev == "_") else c)
        prev = c
    return "".join(out)


def lower(s: Any) -> str:
    return str(_want(s, str)).lower()


def upper(s: Any) -> str:
    return str(_want(s, str)).upper()


def pad(s: Any, prefix: Any, suffix: Any) -> str:
    """docker/cli's padWithSpace: an empty string stays empty."""
    text = str(_want(s, str))
    return " " * int(_want(prefix, int, 1)) + text + " " * int(_want(suffix, int, 2)) if text else text


def truncate(s: Any, length: Any) -> str:
    text, n = _want(s, str), _want(length, int, 1)
    return str(text[:n] if len(text) > n else text)


DOCKER: dict[str, Callable[..., Any]] = {"json": to_json, "split": split, "join": join, "title": title,
                                         "lower": lower, "upper": upper, "pad": pad, "truncate": truncate}


def _first(v: Any, *_: Any) -> Any:
    return v


# docker/cli templates.HeaderFunctions: a `table` header runs the template over the column names,
# where these return their first argument unchanged.
DOCKER_HEADER: dict[str, Callable[..., Any]] = dict.fromkeys(DOCKER, _first)
