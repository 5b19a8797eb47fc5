"""`_sort` (https://hl7.org/fhir/R4/search.html#sort) and the keyset that pages a sorted search.

`_sort=-date,name` orders by each key in turn (`-` descending), then by the resource's key, so
ties always come out in the same order. A resource with several values of a parameter sorts by
the least of them ascending and the greatest descending (a date by the start, or the end, of
its range); one without a value sorts last either way. A string sorts by its folded index form
(`indexing.normalize.fold`) compared code point by code point (SQLite's BINARY; PostgreSQL under
the database's collation, "C" in the tested setup): for kana that is the あいうえお order with
voiced and plain kana together, as JP Core's `_sort=jp-kana-sort` wants
(https://jpfhir.jp/fhir/core/1.2.0-dev/toc.html, JP_Patient_KanaSort_SP). The next-page link
carries the last row's sort values and key, and the next page starts strictly after them: a
keyset, stable while others write (no OFFSET over a moving set).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import and_, false, func, or_, select
from sqlalchemy.sql.elements import ColumnElement

from tobiume.errors import BadRequest
from tobiume.fhir.searchparams import SearchParam, registry
from tobiume.storage.tables import (
    idx_date,
    idx_number,
    idx_quantity,
    idx_reference,
    idx_string,
    idx_token,
    idx_uri,
    resource,
)

_VALUE_COLUMNS = {
    "string": idx_string.c.value_norm,
    "token": idx_token.c.code,
    "reference": idx_reference.c.target_id,
    "number": idx_number.c.value,
    "quantity": idx_quantity.c.value,
    "uri": idx_uri.c.value,
}


@dataclass(frozen=True, slots=True)
class SortKey:
    name: str
    descending: bool
    param: SearchParam | None = None


def parse_sort(res_type: str, raw: str) -> tuple[SortKey, ...]:
    keys: list[SortKey] = []
    for item in raw.split(","):
        name = item.strip()
        descending = name.startswith("-")
        name = name.removeprefix("-")
        if name in ("_id", "_lastUpdated"):
            keys.append(SortKey(name, descending))
            continue
        param = registry().for_type(res_type).get(name)
        if (
            param is None
            or not param.expression
            or (param.type not in _VALUE_COLUMNS and param.type != "date")
        ):
            raise BadRequest(f"_sort: {name!r} is not a parameter {res_type} can be sorted by")
        keys.append(SortKey(name, descending, param))
    if not keys:
        raise BadRequest("_sort needs at least one parameter")
    return tuple(keys)


@lru_cache(maxsize=1024)
def expression(res_type: str, key: SortKey) -> ColumnElement[Any]:
    """The value a resource sorts by on `key` (NULL when it has none)."""
    if key.name == "_id":
        return resource.c.res_id
    if key.name == "_lastUpdated":
        return resource.c.last_updated
    assert key.param is not None
    if key.param.type == "date":
        column = idx_date.c.high if key.descending else idx_date.c.low
    else:
        column = _VALUE_COLUMNS[key.param.type]
    table = column.table
    pick = func.max(column) if key.descending else func.min(column)
    # GROUP BY the one key keeps PostgreSQL from answering min/max by walking the match index
    # (type, parameter, value, ...) in value order until it meets this resource's row, which
    # reads most of the index for every row sorted; grouped, it reads the resource's own rows.
    return (
        select(pick)
        .where(
            table.c.res_pk == resource.c.pk,
            table.c.res_type == res_type,
            table.c.param == key.name,
        )
        .group_by(table.c.res_pk)
        .scalar_subquery()
    )


def order_by(
    keys: Sequence[SortKey], exprs: Sequence[ColumnElement[Any]], *, backward: bool = False
) -> list[Any]:
    """The order of the keys then the resource key; `backward`, exactly its reverse (for a
    previous page, read from its end)."""
    ordering: list[Any] = []
    for key, expr in zip(keys, exprs, strict=True):
        ordered = expr.desc() if key.descending != backward else expr.asc()
        ordering.append(ordered.nulls_first() if backward else ordered.nulls_last())
    ordering.append(resource.c.pk.desc() if backward else resource.c.pk.asc())
    return ordering


def after(
    keys: Sequence[SortKey],
    exprs: Sequence[ColumnElement[Any]],
    values: Sequence[Any],
    pk: int,
    *,
    backward: bool = False,
) -> ColumnElement[bool]:
    """Rows strictly after (values, pk) in the order `order_by` gives; `backward`, strictly
    before it (after it in the reversed order, where missing values come first)."""
    alternatives: list[ColumnElement[bool]] = []
    equal_so_far: list[ColumnElement[bool]] = []
    for key, expr, value in zip(keys, exprs, values, strict=True):
        if value is None:
            # Missing values sort last: nothing is after one, everything else is before it.
            beyond: ColumnElement[bool] = expr.is_not(None) if backward else false()
            same = expr.is_(None)
        else:
            further = expr < value if key.descending != backward else expr > value
            beyond = further if backward else or_(further, expr.is_(None))
            same = expr == value
        alternatives.append(and_(*equal_so_far, beyond))
        equal_so_far.append(same)
    alternatives.append(and_(*equal_so_far, resource.c.pk < pk if backward else resource.c.pk > pk))
    return or_(*alternatives)
