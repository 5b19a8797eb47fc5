"""Date rows (https://hl7.org/fhir/R4/search.html#date): the range a value covers.

date, dateTime and instant: their implicit range (`indexing.dates`); Period: start's low to
end's high, an open end being `DATE_MIN` / `DATE_MAX`; Timing: one row per `event`, and its
`repeat.boundsPeriod` as a Period, the span the schedule runs in. Other types
a date expression may select (Age, Range, string in `onset[x]`) have no date range: no row.
A value that does not parse is skipped, as validation is not indexing's job.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tobiume.fhir.fhirpath import Value
from tobiume.indexing.dates import DATE_MAX, DATE_MIN, parse_range
from tobiume.indexing.rows import RowSink

_DATE_TYPES = frozenset({None, "date", "dateTime", "instant"})


def _parse(text: Any) -> tuple[int, int] | None:
    if type(text) is not str:
        return None
    try:
        return parse_range(text)
    except ValueError:
        return None


def _period(code: str, period: dict[str, Any], rows: RowSink) -> None:
    start, end = period.get("start"), period.get("end")
    if start is None and end is None:
        return
    low_range, high_range = _parse(start), _parse(end)
    if (start is not None and low_range is None) or (end is not None and high_range is None):
        return
    low = low_range[0] if low_range else DATE_MIN
    high = high_range[1] if high_range else DATE_MAX
    rows.date(code, low, high)


def index(code: str, values: Sequence[Value], rows: RowSink, /) -> None:
    for value, fhir_type in values:
        if type(value) is str:
            if fhir_type in _DATE_TYPES:
                found = _parse(value)
                if found is not None:
                    rows.date(code, *found)
        elif type(value) is dict:
            if fhir_type == "Period" or (
                fhir_type is None and ("start" in value or "end" in value)
            ):
                _period(code, value, rows)
            elif fhir_type == "Timing" or (fhir_type is None and "event" in value):
                _timing(code, value, rows)


def _timing(code: str, timing: dict[str, Any], rows: RowSink) -> None:
    for event in timing.get("event") or ():
        found = _parse(event)
        if found is not None:
            rows.date(code, *found)
    repeat = timing.get("repeat")
    bounds = repeat.get("boundsPeriod") if type(repeat) is dict else None
    if type(bounds) is dict:
        _period(code, bounds, rows)
