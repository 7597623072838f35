"""Stage state helpers: RFC 3339 timestamps as BuildKit writes them."""

from __future__ import annotations

import datetime

import pytest

from minidock.builder.state import rfc3339


@pytest.mark.parametrize("seconds", [0, 1, 951782400, 1700000000.9, 253402300799, -1])
def test_rfc3339_matches_datetime(seconds: float) -> None:
    want = datetime.datetime.fromtimestamp(int(seconds), datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert rfc3339(seconds) == want


def test_rfc3339_beyond_year_9999_fails_as_datetime_does() -> None:
    with pytest.raises(ValueError, match="year 10000 is out of range"):
        rfc3339(253402300800)
