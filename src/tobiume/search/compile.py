"""Compiling a parsed search into one SQL statement with the access predicate inside it
(DESIGN.md, "Access: three gates, one predicate"): paging and counts only ever see what the
requester may see. `_id` and `_lastUpdated` are columns of `resource`
(https://hl7.org/fhir/R4/search.html#all); every other parameter is `pk IN` a subquery of its
type's index table, compiled by the module for that type in `search.params`; `:missing` is the
same on any type (https://hl7.org/fhir/R4/search.html#modifiers) and is compiled here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import lru_cache, partial
from typing import Any, cast

from sqlalchemy import Integer, Select, Table, and_, func, literal, or_, select, true
from sqlalchemy.sql.elements import ColumnElement

from tobiume.compiled import Shaped
from tobiume.errors import BadRequest
from tobiume.fhir.compartment import OWN_ID, PATIENT_COMPARTMENT
from tobiume.indexing.dates import parse_range
from tobiume.search import sort
from tobiume.search.cursor import Cursor
from tobiume.search.local import local_reference
from tobiume.search.params import compilers
from tobiume.search.params.base import (
    driver_rank,
    keys_in_order,
    keys_of,
    range_clause,
    split_prefix,
    with_rows,
)
from tobiume.search.query import Criterion, Link, SearchQuery
from tobiume.search.sort import SortKey
from tobiume.storage.tables import idx_reference, resource

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def where_clauses(query: SearchQuery, visible: ColumnElement[bool]) -> list[ColumnElement[bool]]:
    """The predicates a resource must satisfy to be a match, access first."""
    return [*_base_clauses(query, visible), *_criteria_clauses(query, visible)]


def _base_clauses(query: SearchQuery, visible: ColumnElement[bool]) -> list[ColumnElement[bool]]:
    """Live, visible, and (for a compartment search) in the Patient's compartment.

    The type is a predicate on `resource` only when no criterion carries it: each positive index
    subquery selects rows of `query.res_type` already, and SQLite, offered `res_type = ?` on the
    resource, scans the type through its index instead of looking the few matches up by key.
    """
    clauses: list[ColumnElement[bool]] = [resource.c.deleted.is_(False), visible]
    if query.patient is not None or not any(_narrows_to_type(c) for c in query.criteria):
        clauses.insert(0, resource.c.res_type == query.res_type)
    if query.patient is not None:
        clauses.append(_compartment_clause(query.res_type, query.patient, query.base_url))
    return clauses


def _criteria_clauses(
    query: SearchQuery, visible: ColumnElement[bool]
) -> list[ColumnElement[bool]]:
    """One predicate per criterion, in the query's order."""
    return [_clause(query.res_type, c, visible) for c in query.criteria]


def criteria_clause(query: SearchQuery) -> ColumnElement[bool]:
    """Every criterion of `query` as one predicate over `resource`, without the base clauses
    (live, of the type, visible): an access policy written as search criteria compiles to
    this (`access.scoped`). Chained and `_has` links inside it see every resource; the policy
    decides what its criteria match, not what its requester may see."""
    return and_(*_criteria_clauses(query, true()))


@dataclass(frozen=True, slots=True)
class _Layout:
    """What the assembly of a search statement decides by, apart from its parts: a search is
    run as a `compiled.Shaped` (compiled once per layout and parts' shapes)."""

    base: int
    """How many of the parts are `_base_clauses`; the criteria follow them."""
    keyed: tuple[bool, ...]
    """For each criterion: its clause is a set of index keys (`keys_of`)."""
    driver: int | None
    """The criterion whose keys drive the search (`matching`)."""
    inside: bool
    """The other keyed criteria test the driver's keys inside its table."""
    count: bool = False
    """`count(*)` rather than a page."""
    sort: tuple[SortKey, ...] = ()
    """A page's sort keys; their expressions follow the criteria among the parts."""
    backward: bool | None = None
    """A page cursor's direction (None: the first page); its clause follows the sort
    expressions, and the page's limit comes last."""


def _layout(query: SearchQuery, visible: ColumnElement[bool]) -> tuple[_Layout, list[Any]]:
    """How `query` is matched, and its base clauses and criteria (the first parts)."""
    base = _base_clauses(query, visible)
    clauses = _criteria_clauses(query, visible)
    keyed = tuple(keys_of(clause) is not None for clause in clauses)
    ranked = [(driver_rank(c), i) for i, c in enumerate(query.criteria) if keyed[i]]
    driver = min(ranked)[1] if ranked else None
    inside = driver is not None and keys_in_order(query.criteria[driver])
    return _Layout(len(base), keyed, driver, inside), [*base, *clauses]


def matching(query: SearchQuery, visible: ColumnElement[bool], *columns: Any) -> Select[Any]:
    """`columns` of the resources that match `query`, read from one criterion's index rows.

    Every criterion is `resource.pk IN (SELECT res_pk ...)`, which PostgreSQL plans as a
    semi-join: right for a selective criterion, whose few keys then look up the rest, but for a
    common one (fourteen thousand Conditions of hypertension) it hashes every key before the
    page can take twenty. One criterion, the driver, is therefore joined as a table of its
    distinct keys instead: read from its match index, which ends in the key, an equality comes
    out in key order and a first page stops after twenty-one rows. The driver is the criterion
    most likely to be selective (`driver_rank`); SQLite plans both shapes alike.

    When the driver is an equality (`keys_in_order`), the other index criteria test its keys
    inside that table, before any `resource` row (and the body beside it) is read: tested
    after the join instead, the admissions search of the city read 260 resources to keep 21
    (1.3 ms of execution against 0.8). A range or prefix driver keeps them outside: inside, the
    planner is free to start from whichever range it believes smallest, and ranges over an
    index table that every parameter shares are estimated badly (a birth year estimated at one
    row of the 1,119 it holds), so the kana-name search probed a thousand names per birth date
    (7 to 88 ms against 1). Negated criteria and those on `resource` itself (`_id`,
    `_lastUpdated`, `_has`) always stay outside.
    """
    layout, parts = _layout(query, visible)
    return _match(layout, parts, columns)


def _match(layout: _Layout, parts: Sequence[Any], columns: Sequence[Any]) -> Select[Any]:
    base = parts[: layout.base]
    clauses = parts[layout.base : layout.base + len(layout.keyed)]
    stmt = select(*columns)
    if layout.driver is None:
        return stmt.select_from(resource).where(*base, *clauses)
    keyed = [keys_of(c) if k else None for c, k in zip(clauses, layout.keyed, strict=True)]
    keys = keyed[layout.driver]
    assert keys is not None
    key = keys.selected_columns[0]
    probes = [
        key.in_(k.correlate(None))  # never correlated with the driver's own table
        for i, k in enumerate(keyed)
        if layout.inside and k is not None and i != layout.driver
    ]
    rest = [
        clause
        for i, (clause, k) in enumerate(zip(clauses, keyed, strict=True))
        if i != layout.driver and (k is None or not layout.inside)
    ]
    driver = keys.where(*probes).distinct().subquery("driver")
    joined = resource.join(driver, resource.c.pk == driver.c.res_pk)
    return stmt.select_from(joined).where(*base, *rest)


def _compartment_clause(res_type: str, patient: str, base_url: str | None) -> ColumnElement[bool]:
    """In the Patient's compartment: referring to the Patient by one of the parameters the
    CompartmentDefinition lists for the type (the Patient itself is in its own)."""
    codes = [c for c in PATIENT_COMPARTMENT.get(res_type, ()) if c != OWN_ID]
    if not codes and res_type != "Patient":
        raise BadRequest(f"{res_type} is not in the Patient compartment")
    referring = resource.c.pk.in_(
        select(idx_reference.c.res_pk).where(
            idx_reference.c.res_type == res_type,
            idx_reference.c.param.in_(codes),
            idx_reference.c.target_type == "Patient",
            idx_reference.c.target_id == patient,
            local_reference(base_url),
        )
    )
    return or_(resource.c.res_id == patient, referring) if res_type == "Patient" else referring


def _narrows_to_type(criterion: Criterion) -> bool:
    """True when the criterion's clause matches resources of its type only."""
    return criterion.name not in ("_id", "_lastUpdated", "_has") and criterion.modifier not in (
        "missing",
        "not",
    )


def _clause(
    res_type: str, criterion: Criterion, visible: ColumnElement[bool]
) -> ColumnElement[bool]:
    if criterion.has is not None or criterion.chain is not None:
        return _linked_clause(res_type, criterion, _Same(visible))
    return _plain_clause(res_type, criterion)


class _Same:
    """An access predicate as a cache key: the same object, not an equal one (SQL constructs
    overload `==`, and two requesters' predicates may look alike yet must not share)."""

    __slots__ = ("value",)

    def __init__(self, value: ColumnElement[bool]) -> None:
        self.value = value

    def __hash__(self) -> int:
        return id(self.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Same) and other.value is self.value


@lru_cache(maxsize=1024)
def _linked_clause(res_type: str, criterion: Criterion, visible: _Same) -> ColumnElement[bool]:
    """A chained or `_has` criterion, built once per access predicate (the cache holds it, so
    its identity is not reused while cached): the link's own search carries the predicate, and
    building it (and SQLAlchemy's cache key of it) cost a care-plan search a third of the
    server's time."""
    if criterion.has is not None:
        return _has_clause(res_type, criterion, visible.value)
    return _chain_clause(res_type, criterion, visible.value)


@lru_cache(maxsize=1024)
def _plain_clause(res_type: str, criterion: Criterion) -> ColumnElement[bool]:
    """A criterion without links (which would carry the access predicate), built once for
    as long as it is asked often: building costs more than running a selective search, and
    common criteria (`status=active`, `class=IMP`, a lab code) recur in every client's queries.
    SQL constructs are immutable, so statements may share one."""
    if criterion.name == "_id":
        return _id_clause(criterion)
    if criterion.name == "_lastUpdated":
        return _last_updated_clause(criterion)
    assert criterion.param is not None
    compiler = compilers().get(criterion.param.type)
    if compiler is None:
        raise BadRequest(
            f"Search by {criterion.name} ({criterion.param.type}) is not supported yet"
        )
    if criterion.modifier == "missing":
        return _missing_clause(compiler.table, res_type, criterion)
    return compiler.clause(res_type, criterion)


def _matching(link: Link, visible: ColumnElement[bool], column: str) -> Select[Any]:
    """`column` of the live, visible resources of `link.res_type` that match its criterion: a
    subquery with its own `resource` (never correlated with the outer one), so the access
    predicate holds at every link of a chain."""
    own = resource.c[column]
    return (
        select(own)
        .where(
            resource.c.res_type == link.res_type,
            resource.c.deleted.is_(False),
            visible,
            _clause(link.res_type, link.criterion, visible),
        )
        .correlate(None)
    )


def _chain_clause(
    res_type: str, criterion: Criterion, visible: ColumnElement[bool]
) -> ColumnElement[bool]:
    """`subject:Patient.name=x`: the reference points at a matching Patient
    (https://hl7.org/fhir/R4/search.html#chaining)."""
    link = criterion.chain
    assert link is not None
    return with_rows(
        idx_reference,
        res_type,
        criterion.name,
        idx_reference.c.target_type == link.res_type,
        idx_reference.c.target_id.in_(_matching(link, visible, "res_id")),
        local_reference(criterion.base_url),
    )


def _has_clause(
    res_type: str, criterion: Criterion, visible: ColumnElement[bool]
) -> ColumnElement[bool]:
    """`_has:Observation:patient:code=x`: a matching Observation's `patient` points here
    (https://hl7.org/fhir/R4/search.html#has)."""
    link = criterion.has
    assert link is not None
    assert criterion.param is not None
    return and_(
        resource.c.res_type == res_type,
        resource.c.res_id.in_(
            select(idx_reference.c.target_id).where(
                idx_reference.c.res_type == link.res_type,
                idx_reference.c.param == criterion.param.code,
                idx_reference.c.target_type == res_type,
                idx_reference.c.res_pk.in_(_matching(link, visible, "pk")),
                local_reference(criterion.base_url),
            )
        ),
    )


def page_shaped(query: SearchQuery, visible: ColumnElement[bool]) -> Shaped:
    """One page of matches, one row more than asked to tell if another page exists, in key
    order or in `_sort` order (then each row also holds its sort values, for the page links).
    A previous page is read backwards from its end: the caller reverses the rows."""
    layout, parts = _layout(query, visible)
    exprs = [sort.expression(query.res_type, key) for key in query.sort]
    parts.extend(exprs)
    backward = None
    if query.cursor is not None:
        backward = query.cursor.backward
        parts.append(
            sort.after(query.sort, exprs, query.cursor.values, query.cursor.pk, backward=backward)
        )
    parts.append(literal(query.count + 1, Integer))
    layout = replace(layout, sort=query.sort, backward=backward)
    return Shaped(layout, tuple(parts), partial(_page, layout))


def _page(layout: _Layout, parts: Sequence[Any]) -> Select[Any]:
    start = layout.base + len(layout.keyed)
    exprs = parts[start : start + len(layout.sort)]
    columns = (resource.c.pk, resource.c.res_id, resource.c.body, *exprs)
    stmt = _match(layout, parts, columns)
    if layout.backward is not None:
        stmt = stmt.where(parts[start + len(layout.sort)])
    ordering = sort.order_by(layout.sort, exprs, backward=bool(layout.backward))
    return stmt.order_by(*ordering).limit(parts[-1])


def page_statement(query: SearchQuery, visible: ColumnElement[bool]) -> Select[Any]:
    return cast(Select[Any], page_shaped(query, visible).statement())


def counts_everything(query: SearchQuery) -> bool:
    """True when the query matches every live resource of its type: no criteria, no
    compartment (its count is then the one `storage.counts` keeps)."""
    return bool(query.res_type) and not query.criteria and query.patient is None


def count_shaped(query: SearchQuery, visible: ColumnElement[bool]) -> Shaped:
    """How many resources match `query` (counted in SQL)."""
    layout, parts = _layout(query, visible)
    layout = replace(layout, count=True)
    return Shaped(layout, tuple(parts), partial(_count, layout))


def _count(layout: _Layout, parts: Sequence[Any]) -> Select[Any]:
    return _match(layout, parts, (func.count(),))


def count_statement(query: SearchQuery, visible: ColumnElement[bool]) -> Select[int]:
    return cast(Select[int], count_shaped(query, visible).statement())


def system_match(
    queries: Sequence[SearchQuery], visible: ColumnElement[bool]
) -> ColumnElement[bool]:
    """A system-level search (https://hl7.org/fhir/R4/search.html#all): a match of any one of
    `queries`, one per type of `_type`. With no `_type` there is one query with no type, and
    only the criteria on `resource` itself (`_id`, `_lastUpdated`) apply."""
    typed = [q for q in queries if q.res_type]
    if typed:
        return or_(*(and_(*where_clauses(q, visible)) for q in typed))
    (query,) = queries
    for criterion in query.criteria:
        if criterion.name not in ("_id", "_lastUpdated") or criterion.has or criterion.chain:
            raise BadRequest(f"Search by {criterion.name} across all types needs _type")
    return and_(
        resource.c.deleted.is_(False),
        visible,
        *(_clause("", c, visible) for c in query.criteria),
    )


def system_page_statement(
    match: ColumnElement[bool], start: Cursor | None, count: int
) -> Select[Any]:
    """A page of a system-level search, in key order (backwards for a previous page)."""
    stmt = select(resource.c.pk, resource.c.res_type, resource.c.res_id, resource.c.body)
    stmt = stmt.where(match)
    backward = start is not None and start.backward
    if start is not None:
        stmt = stmt.where(sort.after((), (), (), start.pk, backward=backward))
    return stmt.order_by(*sort.order_by((), (), backward=backward)).limit(count + 1)


def system_count_statement(match: ColumnElement[bool]) -> Select[int]:
    return select(func.count()).select_from(resource).where(match)


def _missing_clause(table: Table, res_type: str, criterion: Criterion) -> ColumnElement[bool]:
    """`:missing=true`: no index row of the parameter; `false`: at least one
    (https://hl7.org/fhir/R4/search.html#modifiers)."""
    if criterion.values not in (("true",), ("false",)):
        raise BadRequest(f"{criterion.name}:missing takes true or false")
    present = with_rows(table, res_type, criterion.name)
    return ~present if criterion.values == ("true",) else present


def _id_clause(criterion: Criterion) -> ColumnElement[bool]:
    if criterion.modifier is not None:
        raise BadRequest(f"The modifier :{criterion.modifier} is not supported on _id")
    return resource.c.res_id.in_(criterion.values)


def _last_updated_clause(criterion: Criterion) -> ColumnElement[bool]:
    if criterion.modifier is not None:
        raise BadRequest(f"The modifier :{criterion.modifier} is not supported on _lastUpdated")
    alternatives = []
    for value in criterion.values:
        prefix, text = split_prefix(value)
        try:
            low, high = parse_range(text)
        except ValueError as exc:
            raise BadRequest(f"_lastUpdated: {text!r} is not a date or instant") from exc
        col = resource.c.last_updated
        alternatives.append(range_clause(prefix, _datetime(low), _datetime(high), col, col))
    return or_(*alternatives) if len(alternatives) > 1 else and_(*alternatives)


def _datetime(micros: int) -> datetime:
    return _EPOCH + timedelta(microseconds=micros)
