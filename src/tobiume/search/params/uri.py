"""URI search (https://hl7.org/fhir/R4/search.html#uri): the whole URI, as written. `:below`
matches stored URIs that start with the value, `:above` stored URIs the value starts with
(a canonical's parents)."""

from __future__ import annotations

from sqlalchemy import func, literal, or_
from sqlalchemy.sql.elements import ColumnElement

from tobiume.search.params.base import check_modifier, with_rows
from tobiume.search.query import Criterion
from tobiume.storage.tables import idx_uri


class UriCompiler:
    table = idx_uri

    def clause(self, res_type: str, criterion: Criterion) -> ColumnElement[bool]:
        check_modifier(criterion, "above", "below")
        alternatives = [_value_clause(value, criterion.modifier) for value in criterion.values]
        return with_rows(idx_uri, res_type, criterion.name, or_(*alternatives))


def _value_clause(value: str, modifier: str | None) -> ColumnElement[bool]:
    if modifier == "below":
        return idx_uri.c.value.startswith(value, autoescape=True)
    if modifier == "above":
        # The stored URI is the value's beginning (substr, not LIKE: a URI may hold a % sign).
        prefix = func.substr(literal(value), 1, func.length(idx_uri.c.value))
        return prefix == idx_uri.c.value
    return idx_uri.c.value == value
