"""Go's fmt for templates: Sprint, Sprintln and Sprintf's verbs (%v %s %d %q %x %X %o %b %t %c %f %e %g %%)."""

from __future__ import annotations

from minidock.gotemplate.values import MISSING, go_float, go_string, type_name

TYPE_CHECKING = False
if TYPE_CHECKING:  # why: no typing import at run time (templates run on the quick path)
    from typing import Any

_QUOTE = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v",
          "\\": "\\\\", '"': '\\"'}


def _plain(v: Any) -> str:
    return "<nil>" if v is None or v is MISSING else go_string(v, top=False)


def sprint(*args: Any) -> str:
    """fmt.Sprint: a space between two operands when neither is a string."""
    out: list[str] = []
    for i, a in enumerate(args):
        if i and not isinstance(a, str) and not isinstance(args[i - 1], str):
            out.append(" ")
        out.append(_plain(a))
    return "".join(out)


def sprintln(*args: Any) -> str:
    """fmt.Sprintln: spaces between every operand and a newline."""
    return " ".join(_plain(a) for a in args) + "\n"


def quote(s: str) -> str:
    """strconv.Quote: Go's double-quoted form (printable characters kept, others escaped)."""
    out = []
    for c in s:
        if c in _QUOTE:
            out.append(_QUOTE[c])
        elif c.isprintable():
            out.append(c)
        else:
            n = ord(c)
            out.append(f"\\x{n:02x}" if n < 0x80 else f"\\u{n:04x}" if n < 0x10000 else f"\\U{n:08x}")
    return '"' + "".join(out) + '"'


def _bad(verb: str, v: Any) -> str:
    return f"%!{verb}(<nil>)" if v is None or v is MISSING else f"%!{verb}({type_name(v)}={_plain(v)})"


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _verb(verb: str, v: Any, flags: str, prec: int | None) -> str | None:
    """The text of one verb for `v` (None: a wrong type, shown as %!verb(type=value))."""
    if verb == "v":
        return _plain(v) if not isinstance(v, float) or prec is None else f"{v:.{prec}g}"
    if verb == "s":
        if isinstance(v, str):
            return v if prec is None else v[:prec]
        return _plain(v) if isinstance(v, list | tuple | dict) else None
    if verb == "q":
        return quote(v) if isinstance(v, str) else ("'" + chr(v) + "'" if _is_int(v) else None)
    if verb == "t":
        return ("true" if v else "false") if isinstance(v, bool) else None
    if verb in "xX":
        text = (f"{v:x}" if _is_int(v) else v.encode().hex() if isinstance(v, str) else None)
        if text is not None and "#" in flags:
            text = "0x" + text
        return text.upper() if text is not None and verb == "X" else text
    if verb in "dobc":
        if not _is_int(v):
            return None
        return chr(v) if verb == "c" else format(v, {"d": "d", "o": "o", "b": "b"}[verb])
    if verb in "feEgG":
        if not isinstance(v, float):
            return None
        if verb in "gG" and prec is None:
            return go_float(v)
        return format(v, f".{6 if prec is None else prec}{verb}")
    return None


def _pad(text: str, flags: str, width: int | None, numeric: bool) -> str:
    if width is None or len(text) >= width:
        return text
    if "-" in flags:
        return text.ljust(width)
    if "0" in flags and numeric:
        sign = text[0] if text[:1] in "+-" else ""
        return sign + text[len(sign):].rjust(width - len(sign), "0")
    return text.rjust(width)


def sprintf(fmt: str, *args: Any) -> str:
    """fmt.Sprintf with Go's verbs, flags (-+# 0), width and precision, and its %!verb(...) for misuse."""
    out: list[str] = []
    i, n, used = 0, len(fmt), 0
    while i < n:
        c = fmt[i]
        if c != "%":
            out.append(c)
            i += 1
            continue
        j = i + 1
        while j < n and fmt[j] in "-+# 0":
            j += 1
        flags = fmt[i + 1:j]
        width, j = _number(fmt, j)
        prec = None
        if j < n and fmt[j] == ".":
            prec, j = _number(fmt, j + 1)
            prec = prec or 0
        if j >= n:
            out.append("%!(NOVERB)")
            break
        verb, i = fmt[j], j + 1
        if verb == "%":
            out.append("%")
            continue
        if used >= len(args):
            out.append(f"%!{verb}(MISSING)")
            continue
        v = args[used]
        used += 1
        text = _verb(verb, v, flags, prec)
        if text is None:
            out.append(_bad(verb, v))
            continue
        if "+" in flags and _is_int(v) and v >= 0 and verb == "d":
            text = "+" + text
        out.append(_pad(text, flags, width, verb in "dobxXfeEgG"))
    if used < len(args):
        out.append("%!(EXTRA " + ", ".join(f"{type_name(a)}={_plain(a)}" for a in args[used:]) + ")")
    return "".join(out)


def _number(fmt: str, j: int) -> tuple[int | None, int]:
    start = j
    while j < len(fmt) and fmt[j].isdigit():
        j += 1
    return (int(fmt[start:j]) if j > start else None), j
