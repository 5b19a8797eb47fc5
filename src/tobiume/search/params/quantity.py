"""Quantity search (https://hl7.org/fhir/R4/search.html#quantity): `[prefix]number|system|code`,
`number||code` (a code, or the unit as written, in any system) or a bare number (any unit). The
number compares as in `number`."""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import and_, or_
from sqlalchemy.sql.elements import ColumnElement

from tobiume.errors import BadRequest
from tobiume.search.params.base import check_modifier, with_rows
from tobiume.search.params.number import compare
from tobiume.search.query import Criterion
from tobiume.storage.tables import idx_quantity


class QuantityColumns(NamedTuple):
    """Where a quantity is stored (`idx_quantity`, or the quantity slot of `idx_composite`)."""

    value: ColumnElement[float]
    system: ColumnElement[str | None]
    code: ColumnElement[str | None]
    unit: ColumnElement[str | None]


QUANTITY = QuantityColumns(
    idx_quantity.c.value, idx_quantity.c.system, idx_quantity.c.code, idx_quantity.c.unit
)


class QuantityCompiler:
    table = idx_quantity

    def clause(self, res_type: str, criterion: Criterion) -> ColumnElement[bool]:
        check_modifier(criterion)
        alternatives = [quantity_clause(criterion.name, value) for value in criterion.values]
        return with_rows(idx_quantity, res_type, criterion.name, or_(*alternatives))


def quantity_clause(
    name: str, value: str, columns: QuantityColumns = QUANTITY
) -> ColumnElement[bool]:
    """One `[prefix]number[|system|code]` against quantity `columns`."""
    number, _, unit = value.partition("|")
    system, bar, code = unit.partition("|")
    if not bar and unit:
        raise BadRequest(f"{name}: {value!r} is not number|system|code")
    parts = [compare(columns.value, name, number)]
    if system:
        parts.append(columns.system == system)
    if code and system:
        parts.append(columns.code == code)
    elif code:
        parts.append(or_(columns.code == code, columns.unit == code))
    return and_(*parts)
