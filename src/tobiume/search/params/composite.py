"""Composite search (https://hl7.org/fhir/R4/search.html#composite): `comp1$comp2[$comp3]`,
each component written as a search value of its own type (a prefix on a quantity or date
component works as on the plain parameter), `\\$` escaping a dollar inside a component.

All components must match one row of `idx_composite`, that is within the same element of the
resource (`indexing.composite`): `component-code-value-quantity=8480-6$gt140` is a systolic
pressure above 140, not some component coded 8480-6 and another one above 140. Each component is
compared by its type's own clause on the columns of its slot, so tokens, quantities, dates,
strings, numbers and references match exactly as the plain parameters do. Composites take no
modifiers (R4 defines none for them).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import and_, or_
from sqlalchemy.sql.elements import ColumnElement

from tobiume.errors import BadRequest
from tobiume.fhir.searchparams import SearchParam
from tobiume.indexing.composite import Component, components
from tobiume.search.params.base import check_modifier, with_rows
from tobiume.search.params.date import date_clause
from tobiume.search.params.number import compare
from tobiume.search.params.quantity import QuantityColumns, quantity_clause
from tobiume.search.params.reference import ReferenceColumns, reference_clause
from tobiume.search.params.string import prefix_clause
from tobiume.search.params.token import TokenColumns, token_clause
from tobiume.search.query import Criterion, split_components
from tobiume.storage.tables import idx_composite

ComponentClause = Callable[[str, str, tuple[str, ...], str | None], ColumnElement[bool]]
"""(parameter name, component value, its slot's column names, base url) -> predicate."""


def _columns(names: tuple[str, ...]) -> list[ColumnElement[Any]]:
    return [idx_composite.c[name] for name in names]


def _token(name: str, value: str, slot: tuple[str, ...], base: str | None) -> ColumnElement[bool]:
    return token_clause(value, TokenColumns(*_columns(slot)))


def _quantity(
    name: str, value: str, slot: tuple[str, ...], base: str | None
) -> ColumnElement[bool]:
    return quantity_clause(name, value, QuantityColumns(*_columns(slot)))


def _date(name: str, value: str, slot: tuple[str, ...], base: str | None) -> ColumnElement[bool]:
    return date_clause(name, value, *_columns(slot))


def _string(name: str, value: str, slot: tuple[str, ...], base: str | None) -> ColumnElement[bool]:
    return prefix_clause(_columns(slot)[0], value)


def _number(name: str, value: str, slot: tuple[str, ...], base: str | None) -> ColumnElement[bool]:
    return compare(_columns(slot)[0], name, value)


def _reference(
    name: str, value: str, slot: tuple[str, ...], base: str | None
) -> ColumnElement[bool]:
    return reference_clause(value, None, base, ReferenceColumns(*_columns(slot)))


_CLAUSES: Mapping[str, ComponentClause] = {
    "token": _token,
    "quantity": _quantity,
    "date": _date,
    "string": _string,
    "number": _number,
    "reference": _reference,
}


def supported(param: SearchParam) -> bool:
    """True when every component of composite `param` can be indexed and searched."""
    parts = components(param)
    return parts is not None and all(part.type in _CLAUSES for part in parts)


class CompositeCompiler:
    table = idx_composite

    def clause(self, res_type: str, criterion: Criterion) -> ColumnElement[bool]:
        check_modifier(criterion)
        param = criterion.param
        parts = components(param) if param is not None and supported(param) else None
        if parts is None:
            raise BadRequest(f"Search by the composite {criterion.name} is not supported")
        alternatives = [_value_clause(criterion, parts, value) for value in criterion.values]
        return with_rows(idx_composite, res_type, criterion.name, or_(*alternatives))


def _value_clause(
    criterion: Criterion, parts: tuple[Component, ...], value: str
) -> ColumnElement[bool]:
    given = split_components(value)
    if len(given) != len(parts):
        raise BadRequest(
            f"{criterion.name} takes {len(parts)} components separated by $, not {value!r}"
        )
    clauses = []
    for part, text in zip(parts, given, strict=True):
        if not text:
            raise BadRequest(f"{criterion.name}: every component needs a value, in {value!r}")
        clauses.append(_CLAUSES[part.type](criterion.name, text, part.fields, criterion.base_url))
    return and_(*clauses)
