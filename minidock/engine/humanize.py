"""Docker's human forms: sizes ("4.27MB", go-units HumanSizeWithPrecision) and ages ("2 weeks ago")."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    import datetime as _dt

_UNITS = ("B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB")


def human_size(size: float, precision: int = 3) -> str:
    """Decimal units with `precision` significant digits, like `docker images` shows SIZE."""
    i = 0
    while size >= 1000.0 and i < len(_UNITS) - 1:
        size /= 1000.0
        i += 1
    return f"{size:.{precision}g}{_UNITS[i]}"


def human_duration(seconds: float) -> str:
    """go-units HumanDuration: "Less than a second", "About a minute", "3 weeks", ..."""
    s = int(seconds)
    minutes, hours = int(seconds / 60), int(seconds / 3600 + 0.5)
    if s < 1:
        return "Less than a second"
    if s == 1:
        return "1 second"
    if s < 60:
        return f"{s} seconds"
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{int(seconds / 3600 / 24 / 365)} years"


def parse_time(rfc3339: str) -> _dt.datetime | None:
    """An RFC 3339 timestamp (fractions of any length, Z or offset), None when empty or malformed."""
    import datetime as _dt  # why: lazily (~4 ms): ps and inspect format durations without it

    text = rfc3339.strip().replace("Z", "+00:00")
    if "." in text:  # Python wants at most 6 fraction digits
        head, _, rest = text.partition(".")
        digits = "".join(c for c in rest if c.isdigit())
        text = f"{head}.{digits[:6]}{rest[len(digits):]}"
    try:
        t = _dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=_dt.UTC)


def ago(rfc3339: str, now: _dt.datetime | None = None) -> str:
    """"2 weeks ago" for an RFC 3339 time; "N/A" when unknown."""
    import datetime as _dt

    t = parse_time(rfc3339)
    if t is None or t.year <= 1:
        return "N/A"
    now = now or _dt.datetime.now(_dt.UTC)
    return human_duration((now - t).total_seconds()) + " ago"


def docker_time(rfc3339: str) -> str:
    """The CreatedAt form of `--format json` ("2024-01-01 00:00:00 +0000 UTC")."""
    import datetime as _dt

    t = parse_time(rfc3339)
    return t.astimezone(_dt.UTC).strftime("%Y-%m-%d %H:%M:%S +0000 UTC") if t else ""
