"""Date search (https://hl7.org/fhir/R4/search.html#date): a value is a date, dateTime or instant
of any precision with an optional prefix. Both the searched value and every stored one are
ranges (`indexing.dates`: `2024` is the whole year), compared by `base.range_clause`. `ap`
widens the searched range by a tenth of its distance from now, as the specification suggests.
"""

from __future__ import annotations

import time

from sqlalchemy import and_, or_
from sqlalchemy.sql.elements import ColumnElement

from tobiume.errors import BadRequest
from tobiume.indexing.dates import parse_range
from tobiume.search.params.base import check_modifier, range_clause, split_prefix, with_rows
from tobiume.search.query import Criterion
from tobiume.storage.tables import idx_date


class DateCompiler:
    table = idx_date

    def clause(self, res_type: str, criterion: Criterion) -> ColumnElement[bool]:
        check_modifier(criterion)
        alternatives = [date_clause(criterion.name, value) for value in criterion.values]
        return with_rows(idx_date, res_type, criterion.name, or_(*alternatives))


def date_clause(
    name: str,
    value: str,
    col_low: ColumnElement[int | None] = idx_date.c.low,
    col_high: ColumnElement[int | None] = idx_date.c.high,
) -> ColumnElement[bool]:
    """One prefixed date against a stored range (`idx_date`, or a composite's date slot)."""
    prefix, text = split_prefix(value)
    try:
        low, high = parse_range(text)
    except ValueError as exc:
        raise BadRequest(f"{name}: {text!r} is not a date, dateTime or instant") from exc
    if prefix == "ap":
        now = int(time.time() * 1_000_000)
        slack = abs(now - (low + high) // 2) // 10
        return and_(col_low <= high + slack, col_high >= low - slack)
    return range_clause(prefix, low, high, col_low, col_high)
