"""Go's view of Python values: the error type, structs, the missing value, truth and `%v` printing."""

from __future__ import annotations

import math

from minidock.errors import MinidockError

TYPE_CHECKING = False
if TYPE_CHECKING:  # why: no typing import at run time (listings build Structs on the quick path)
    from typing import Any


class TemplateError(MinidockError):
    """A template that does not parse (`parsing`) or fails while it runs; the message is Go's."""

    def __init__(self, message: str, parsing: bool = False) -> None:
        super().__init__(message)
        self.parsing = parsing


class Struct(dict[str, "Any"]):
    """A Go struct: fields in declaration order, printed `{v1 v2}`; a missing field is an error.

    Callable fields are methods: `json` leaves them out. `type_name` goes into Go's "can't evaluate
    field X in type T"; empty, the message is the one a map with missingkey=error gives
    (`map has no entry for key "X"`: what `docker inspect` says)."""

    __slots__ = ("aliases", "escape_html", "type_name")

    def __init__(self, fields: dict[str, Any] | None = None, type_name: str = "", escape_html: bool = False) -> None:
        super().__init__(fields or {})
        self.type_name = type_name
        self.escape_html = escape_html  # `json` of it escapes <, > and & (Go's json.Marshal default)
        self.aliases: dict[str, str] = {}  # Go field name -> key, where the JSON name differs (APIVersion)

    def field(self, name: str) -> tuple[bool, Any]:
        """(found, value) of the field `name`, by its key or its Go name."""
        if name in self:
            return True, self[name]
        key = self.aliases.get(name)
        return (True, self[key]) if key is not None and key in self else (False, None)


class _Missing:
    """What a map gives for a key it does not have (Go's invalid reflect.Value): `<no value>`."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Any = _Missing()


class _Nil:
    """A nil pointer in a field tagged omitempty (Docker's SizeRw without --size): printed `<nil>`,
    `null` in `json .Field`, left out of its struct's `json`."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "NIL"

    def __bool__(self) -> bool:
        return False


NIL: Any = _Nil()


def type_name(v: Any) -> str:
    """Go's name for the type of `v` (for messages)."""
    if isinstance(v, Struct):
        return v.type_name or "map[string]interface {}"
    for t, name in ((bool, "bool"), (int, "int"), (float, "float64"), (str, "string"), (list, "[]interface {}"),
                    (tuple, "[]interface {}"), (dict, "map[string]interface {}")):
        if isinstance(v, t):
            return name
    return "<nil>" if v is None or v is MISSING else type(v).__name__


def truth(v: Any) -> bool:
    """Go's `if`: false, 0, nil and empty strings, slices and maps are false; structs are true."""
    if isinstance(v, Struct):
        return True
    return bool(v)


def go_float(f: float) -> str:
    """Go's %v of a float64: the shortest digits; the exponent form below 1e-4 and from 1e6 on (1e+06)."""
    if math.isnan(f):
        return "NaN"
    if f in (float("inf"), float("-inf")):
        return "+Inf" if f > 0 else "-Inf"
    if f == 0:
        return "-0" if str(f).startswith("-") else "0"
    sign = "-" if f < 0 else ""
    mantissa, _, exp_text = f"{abs(f)!r}".partition("e")
    whole, _, frac = mantissa.partition(".")
    digits = (whole + frac).lstrip("0")
    point = len(whole) + int(exp_text or 0) - (len(whole + frac) - len((whole + frac).lstrip("0")))
    digits = digits.rstrip("0") or "0"
    exp = point - 1
    if exp < -4 or exp >= 6:  # why: strconv's 'g' with the shortest digits decides at precision 6
        tail = f"{digits[0]}.{digits[1:]}" if len(digits) > 1 else digits
        return f"{sign}{tail}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    if point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return sign + digits + "0" * (point - len(digits))
    return f"{sign}{digits[:point]}.{digits[point:]}"


def go_string(v: Any, top: bool = True) -> str:
    """Go's `%v` of a value as text/template prints it (`<no value>` for a missing one)."""
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return go_float(v)
    if v is MISSING or (v is None and top):
        return "<no value>"
    if v is None or v is NIL:
        return "<nil>"
    if isinstance(v, Struct):
        return "{" + " ".join(go_string(x, False) for x in v.values()) + "}"
    if isinstance(v, dict):
        return "map[" + " ".join(f"{go_string(k, False)}:{go_string(v[k], False)}" for k in sorted(v)) + "]"
    if isinstance(v, list | tuple):
        return "[" + " ".join(go_string(x, False) for x in v) + "]"
    return str(v)
