"""logs --since/--until: parse_time (RFC 3339, Unix time, durations) and TimeWindow over entries."""

from __future__ import annotations

import pytest

from minidock.engine.logs import LogEntry, TimeWindow, entry_time, parse_time, rfc3339_nano
from minidock.errors import UsageError

T = 1704164645.0  # 2024-01-02T03:04:05Z


@pytest.mark.parametrize(("text", "want"), [
    ("2024-01-02T03:04:05Z", T), ("2024-01-02T03:04:05.25Z", T + 0.25), ("2024-01-02T04:04:05+01:00", T),
    ("2024-01-02T03:04:05.123456789Z", T + 0.123456789), ("2024-01-02T03:04:05", T),
    ("2024-01-02T03:04Z", T - 5), ("2024-01-02", T - 3 * 3600 - 4 * 60 - 5), ("2024-01-02T04:04:05+0100", T),
    ("1704164645", T), ("1704164645.5", T + 0.5),
    ("10m", T - 600), ("1h30m", T - 5400), ("45s", T - 45), ("250ms", T - 0.25), ("1.5h", T - 5400),
])
def test_parse_time(text: str, want: float) -> None:
    assert parse_time(text, now=T) == pytest.approx(want, abs=1e-6)


@pytest.mark.parametrize("bad", ["yesterday", "10x", "", "2024-13-45", "-10m"])
def test_parse_time_rejects(bad: str) -> None:
    with pytest.raises(UsageError, match="invalid time"):
        parse_time(bad, now=T)


def test_window_over_entries() -> None:
    def at(t: float) -> LogEntry:
        return LogEntry("stdout", "x\n", rfc3339_nano(int(t * 1e9)))

    assert entry_time(at(T).time) == pytest.approx(T) and entry_time("garbage") == 0.0
    w = TimeWindow(since=T - 10, until=T)
    assert [w.contains(at(t)) for t in (T - 11, T - 10, T, T + 0.001)] == [False, True, True, False]
    assert TimeWindow().contains(LogEntry("stdout", "", ""))
