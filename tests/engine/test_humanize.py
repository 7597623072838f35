"""Docker's human sizes and ages."""

from __future__ import annotations

import datetime as dt

import pytest

from minidock.engine.humanize import ago, docker_time, human_duration, human_size


@pytest.mark.parametrize(("size", "want"), [(0, "0B"), (999, "999B"), (1000, "1kB"), (4_270_000, "4.27MB"),
                                            (7_797_760, "7.8MB"), (123_456_789, "123MB"), (2 * 10**9, "2GB")])
def test_human_size(size: int, want: str) -> None:
    assert human_size(size) == want


@pytest.mark.parametrize(("seconds", "want"), [(0.5, "Less than a second"), (1, "1 second"), (59, "59 seconds"),
                                               (60, "About a minute"), (600, "10 minutes"), (3600, "About an hour"),
                                               (5 * 3600, "5 hours"), (3 * 86400, "3 days"),
                                               (15 * 86400, "2 weeks"), (90 * 86400, "3 months"),
                                               (800 * 86400, "2 years")])
def test_human_duration(seconds: float, want: str) -> None:
    assert human_duration(seconds) == want


def test_ago_and_docker_time() -> None:
    now = dt.datetime(2024, 1, 15, tzinfo=dt.UTC)
    assert ago("2024-01-01T00:00:00.123456789Z", now) == "2 weeks ago"
    assert ago("", now) == "N/A" and ago("0001-01-01T00:00:00Z", now) == "N/A"
    assert docker_time("2024-01-01T01:02:03+01:00") == "2024-01-01 00:02:03 +0000 UTC"


def test_four_digits_as_system_df_shows_them() -> None:
    """go-units HumanSize (system df) against HumanSizeWithPrecision(3) (ps, images): Docker 20.10's
    `system df` printed 1.986MB and 123.5kB where `images`/`ps -s` printed 1.99MB and 123kB."""
    assert (human_size(1986118, 4), human_size(123459, 4)) == ("1.986MB", "123.5kB")
    assert (human_size(1986118), human_size(123459)) == ("1.99MB", "123kB")
