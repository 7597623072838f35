"""Go's time.ParseDuration ("1h30m", "1.5h", "-2s", "250ms"), with Go's error texts, in seconds.

Docker passes its users' durations to Go and shows Go's words when one is bad (`builder prune
--filter until=10`: `time: missing unit in duration "10"`); this module says the same. Pure, no
imports: it sits on paths whose start-up is timed.
"""

from __future__ import annotations

_UNITS = {"ns": 1e-9, "us": 1e-6, "\u00b5s": 1e-6, "\u03bcs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


class DurationError(ValueError):
    """A text Go's time.ParseDuration refuses; str() is Go's message."""


def _go_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _number(s: str) -> tuple[float, str]:
    """The leading `digits[.digits]` of `s` as a number, and the rest; -1.0 when `s` starts with neither."""
    i = 0
    while i < len(s) and "0" <= s[i] <= "9":
        i += 1
    whole, rest = s[:i], s[i:]
    frac = ""
    if rest.startswith("."):
        j = 1
        while j < len(rest) and "0" <= rest[j] <= "9":
            j += 1
        frac, rest = rest[1:j], rest[j:]
    if not whole and not frac:
        return -1.0, rest
    return float(f"{whole or '0'}.{frac or '0'}"), rest


def parse_duration(text: str) -> float:
    """`text` as Go parses a duration, in seconds; DurationError with Go's message when it cannot."""
    s, sign = text, 1.0
    if s[:1] in ("-", "+"):
        sign, s = (-1.0 if s[0] == "-" else 1.0), s[1:]
    if s == "0":
        return 0.0
    if not s:
        raise DurationError(f"time: invalid duration {_go_quote(text)}")
    total = 0.0
    while s:
        if not (s[0] == "." or "0" <= s[0] <= "9"):
            raise DurationError(f"time: invalid duration {_go_quote(text)}")
        value, s = _number(s)
        if value < 0:
            raise DurationError(f"time: invalid duration {_go_quote(text)}")
        i = 0
        while i < len(s) and not (s[i] == "." or "0" <= s[i] <= "9"):
            i += 1
        if i == 0:
            raise DurationError(f"time: missing unit in duration {_go_quote(text)}")
        unit, s = s[:i], s[i:]
        if unit not in _UNITS:
            raise DurationError(f"time: unknown unit {_go_quote(unit)} in duration {_go_quote(text)}")
        total += value * _UNITS[unit]
    return sign * total
