"""Quantity search (https://hl7.org/fhir/R4/search.html#quantity): `[prefix]number|system|code`,
`number||code` (a code, or the unit as written, in any system) or a bare number (any unit). The
number compares as in `number`."""

from __future__ import annotations

from sqlalchemy import and_, or_
from sqlalchemy.sql.elements import ColumnElement

from tobiume.errors import BadRequest
from tobiume.search.params.base import check_modifier, with_rows
from tobiume.search.params.number import compare
from tobiume.search.query import Criterion
from tobiume.storage.tables import idx_quantity


class QuantityCompiler:
    table = idx_quantity

    def clause(self, res_type: str, criterion: Criterion) -> ColumnElement[bool]:
        check_modifier(criterion)
        alternatives = [_value_clause(criterion.name, value) for value in criterion.values]
        return with_rows(idx_quantity, res_type, criterion.name, or_(*alternatives))


def _value_clause(name: str, value: str) -> ColumnElement[bool]:
    number, _, unit = value.partition("|")
    system, bar, code = unit.partition("|")
    if not bar and unit:
        raise BadRequest(f"{name}: {value!r} is not number|system|code")
    parts = [compare(idx_quantity.c.value, name, number)]
    if system:
        parts.append(idx_quantity.c.system == system)
    if code and system:
        parts.append(idx_quantity.c.code == code)
    elif code:
        parts.append(or_(idx_quantity.c.code == code, idx_quantity.c.unit == code))
    return and_(*parts)
