"""Dates as ranges (https://hl7.org/fhir/R4/search.html#date)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tobiume.indexing.dates import DATE_MAX, DATE_MIN, parse_range

US = 1_000_000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def micros(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, us: int = 0
) -> int:
    moment = datetime(year, month, day, hour, minute, second, us, tzinfo=UTC)
    return (moment - EPOCH) // timedelta(microseconds=1)


@pytest.mark.parametrize(
    ("text", "low", "high"),
    [
        ("1940", micros(1940, 1, 1), micros(1941, 1, 1) - 1),
        ("1940-03", micros(1940, 3, 1), micros(1940, 4, 1) - 1),
        ("1940-12", micros(1940, 12, 1), micros(1941, 1, 1) - 1),
        ("2024-02", micros(2024, 2, 1), micros(2024, 3, 1) - 1),
        ("1940-03-02", micros(1940, 3, 2), micros(1940, 3, 3) - 1),
        ("2024-02-29", micros(2024, 2, 29), micros(2024, 3, 1) - 1),
        ("2020-01-01T10:00", micros(2020, 1, 1, 10), micros(2020, 1, 1, 10, 1) - 1),
        ("2020-01-01T10:00:05Z", micros(2020, 1, 1, 10, 0, 5), micros(2020, 1, 1, 10, 0, 6) - 1),
        ("2020-01-01T10:00:05", micros(2020, 1, 1, 10, 0, 5), micros(2020, 1, 1, 10, 0, 6) - 1),
        ("2020-01-01T09:00:05+09:00", micros(2020, 1, 1, 0, 0, 5), micros(2020, 1, 1, 0, 0, 6) - 1),
        ("2019-12-31T20:00:00-05:00", micros(2020, 1, 1, 1), micros(2020, 1, 1, 1, 0, 1) - 1),
        (
            "2020-01-01T10:00:05.123Z",
            micros(2020, 1, 1, 10, 0, 5, 123_000),
            micros(2020, 1, 1, 10, 0, 5, 124_000) - 1,
        ),
        (
            "2020-01-01T10:00:05.1234567+00:00",
            micros(2020, 1, 1, 10, 0, 5, 123_456),
            micros(2020, 1, 1, 10, 0, 5, 123_456),
        ),
        ("1969-12-31", -86_400 * US, -1),
        ("0001", DATE_MIN, micros(2, 1, 1) - 1),
        ("9999", micros(9999, 1, 1), DATE_MAX),
        ("9999-12", micros(9999, 12, 1), DATE_MAX),
        ("9999-12-31T23:30:00-05:00", DATE_MAX, DATE_MAX),
    ],
)
def test_ranges(text: str, low: int, high: int) -> None:
    assert parse_range(text) == (low, high)


def test_bounds() -> None:
    assert micros(1, 1, 1) == DATE_MIN
    assert micros(9999, 12, 31, 23, 59, 59, 999_999) == DATE_MAX


@pytest.mark.parametrize(
    "text",
    [
        "",
        "abc",
        "0000",
        "20",
        "2020-1-1",
        "2020-13",
        "2020-02-30",
        "2023-02-29",
        "2020-01-01T",
        "2020-01-01T25:00",
        "2020-01-01T10:60",
        "2020-01-01T10:00:60Z",
        "2020-01-01T10:00:00+15:00",
        "2020-01-01T10:00:00+09",
        "2020-01-01 10:00:00",
        "2020-01-01T10:00:00Zjunk",
    ],
)
def test_garbage_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"date|time|zone|Year|day|month"):
        parse_range(text)
