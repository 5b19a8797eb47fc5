"""Number search (https://hl7.org/fhir/R4/search.html#number), and the value part of quantity
search. A value's precision is implicit in how it is written: `100` means [99.5, 100.5) and
`100.0` means [99.95, 100.05), so `eq` matches a stored value inside that range. The other
prefixes compare with the value itself; `ap` allows 10% either way.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from sqlalchemy import and_, not_, or_
from sqlalchemy.sql.elements import ColumnElement

from tobiume.errors import BadRequest
from tobiume.search.params.base import check_modifier, split_prefix, with_rows
from tobiume.search.query import Criterion
from tobiume.storage.tables import idx_number


class NumberCompiler:
    table = idx_number

    def clause(self, res_type: str, criterion: Criterion) -> ColumnElement[bool]:
        check_modifier(criterion)
        alternatives = [
            compare(idx_number.c.value, criterion.name, value) for value in criterion.values
        ]
        return with_rows(idx_number, res_type, criterion.name, or_(*alternatives))


def compare(column: ColumnElement[float], name: str, value: str) -> ColumnElement[bool]:
    """`column` against one prefixed number."""
    prefix, text = split_prefix(value)
    try:
        number = Decimal(text)
    except InvalidOperation as exc:
        raise BadRequest(f"{name}: {text!r} is not a number") from exc
    if not number.is_finite():
        raise BadRequest(f"{name}: {text!r} is not a number")
    exponent = number.as_tuple().exponent
    assert isinstance(exponent, int)
    half = Decimal(5).scaleb(exponent - 1)
    low, high, exact = float(number - half), float(number + half), float(number)
    if prefix == "eq":
        return and_(column >= low, column < high)
    if prefix == "ne":
        return not_(and_(column >= low, column < high))
    if prefix in ("gt", "sa"):
        return column > exact
    if prefix in ("lt", "eb"):
        return column < exact
    if prefix == "ge":
        return column >= exact
    if prefix == "le":
        return column <= exact
    slack = abs(exact) / 10
    return and_(column >= exact - slack, column <= exact + slack)
