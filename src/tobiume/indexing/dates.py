"""Dates as the range of time they cover (https://hl7.org/fhir/R4/search.html#date: "the
date/time ... is an implicit range"; precision: https://hl7.org/fhir/R4/datatypes.html#dateTime).

A value becomes an inclusive range of microseconds since 1970-01-01T00:00:00Z: `1940` covers
the whole year, `1940-03` the month, `1940-03-02` the day, `...T10:00` the minute, `...T10:00:05`
the second, `...T10:00:05.12` a hundredth of a second. A time with a zone is converted to UTC;
a time without one is taken as UTC (R4 requires a zone when a time is given; the search page
leaves zoneless values to the server). Integers keep comparisons exact and index-friendly, and
the same function parses stored values and search parameter values.
"""

from __future__ import annotations

import re
from datetime import date

_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_SECOND = 1_000_000
_DAY = 86_400 * _SECOND

DATE_MIN: int = (date(1, 1, 1).toordinal() - _EPOCH_ORDINAL) * _DAY
"""The low end of an open range (a Period without `start`): 0001-01-01T00:00:00Z."""
DATE_MAX: int = (date(9999, 12, 31).toordinal() - _EPOCH_ORDINAL + 1) * _DAY - 1
"""The high end of an open range (a Period without `end`): 9999-12-31T23:59:59.999999Z."""

_PATTERN = re.compile(
    r"(?P<year>\d{4})(?:-(?P<month>\d{2})(?:-(?P<day>\d{2})"
    r"(?:T(?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:\.(?P<fraction>\d{1,9}))?)?"
    r"(?P<zone>Z|[+-]\d{2}:\d{2})?)?)?)?"
)


def _days(year: int, month: int, day: int) -> int:
    return date(year, month, day).toordinal() - _EPOCH_ORDINAL


def _next_month(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


def parse_range(text: str) -> tuple[int, int]:
    """`(low, high)` in microseconds, both inclusive; ValueError for anything not a FHIR
    date, dateTime or instant (or a year past 9999)."""
    match = _PATTERN.fullmatch(text)
    if match is None:
        raise ValueError(f"Not a FHIR date or dateTime: {text!r}")
    year = int(match["year"])
    if year == 0:
        raise ValueError(f"Year 0000 is not a valid date: {text!r}")
    if match["month"] is None:
        start = _days(year, 1, 1) * _DAY
        end = DATE_MAX if year == 9999 else _days(year + 1, 1, 1) * _DAY - 1
        return start, end
    month = int(match["month"])
    if match["day"] is None:
        start = _days(year, month, 1) * _DAY
        if (year, month) == (9999, 12):
            return start, DATE_MAX
        return start, _days(*_next_month(year, month), 1) * _DAY - 1
    day = _days(year, month, int(match["day"]))
    if match["hour"] is None:
        return day * _DAY, (day + 1) * _DAY - 1
    return _time_range(day, match)


def _time_range(day: int, match: re.Match[str]) -> tuple[int, int]:
    hour, minute = int(match["hour"]), int(match["minute"])
    if hour > 23 or minute > 59:
        raise ValueError(f"Not a valid time: {match.string!r}")
    seconds = (day * 86_400 + hour * 3600 + minute * 60) * _SECOND
    width = 60 * _SECOND
    if match["second"] is not None:
        second = int(match["second"])
        if second > 59:  # R4 allows no leap second (https://hl7.org/fhir/R4/datatypes.html#time)
            raise ValueError(f"Not a valid time: {match.string!r}")
        seconds += second * _SECOND
        width = _SECOND
        fraction = match["fraction"]
        if fraction is not None:
            digits = fraction[:6]
            seconds += int(digits.ljust(6, "0"))
            width = 10 ** (6 - len(digits))
    zone = match["zone"]
    if zone is not None and zone != "Z":
        offset = (int(zone[1:3]) * 60 + int(zone[4:6])) * 60 * _SECOND
        if int(zone[1:3]) > 14 or int(zone[4:6]) > 59:
            raise ValueError(f"Not a valid time zone: {match.string!r}")
        seconds += -offset if zone[0] == "+" else offset
    return _clamp(seconds), _clamp(seconds + width - 1)


def _clamp(micros: int) -> int:
    return DATE_MIN if micros < DATE_MIN else DATE_MAX if micros > DATE_MAX else micros
