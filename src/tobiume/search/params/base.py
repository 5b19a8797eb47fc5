"""The protocol every parameter-type compiler follows, and the prefix arithmetic on ranges that
date, number and quantity share (https://hl7.org/fhir/R4/search.html#prefix)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Protocol

from sqlalchemy import Select, Table, and_, not_, or_, select
from sqlalchemy.sql.elements import BinaryExpression, ColumnElement
from sqlalchemy.sql.operators import in_op
from sqlalchemy.sql.selectable import ScalarSelect

from tobiume.errors import BadRequest
from tobiume.search.query import Criterion
from tobiume.storage.tables import resource

PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap")


class ParamCompiler(Protocol):
    """Compiles one criterion of its type into a predicate over the `resource` table."""

    table: Table
    """The index table of the type (`:missing` asks whether a resource has rows in it)."""

    def clause(self, res_type: str, criterion: Criterion) -> ColumnElement[bool]: ...


def with_rows(
    table: Table, res_type: str, param: str, *conditions: ColumnElement[bool]
) -> ColumnElement[bool]:
    """The resource has a row of `param` in `table` that meets `conditions`.

    `resource.pk IN (SELECT res_pk FROM ... WHERE ...)`, not a correlated EXISTS: SQLite runs an
    EXISTS once per resource of the type (a scan), while the IN list is read from the value
    index first; PostgreSQL plans both as the same semi-join.
    """
    return resource.c.pk.in_(
        select(table.c.res_pk).where(of_param(table, res_type, param), *conditions)
    )


@lru_cache(maxsize=4096)
def of_param(table: Table, res_type: str, param: str) -> ColumnElement[bool]:
    """`table`'s rows of `param` on `res_type`: built once per triple, shared by statements."""
    return and_(table.c.res_type == res_type, table.c.param == param)


def keys_of(clause: ColumnElement[bool]) -> Select[Any] | None:
    """The `SELECT res_pk ...` of a `with_rows` clause (None for any other clause, a negated
    one included): the keys a criterion's index rows give, for `search.compile.matching`."""
    if (
        isinstance(clause, BinaryExpression)
        and clause.operator is in_op
        and clause.left is resource.c.pk
        and isinstance(clause.right, ScalarSelect)
    ):
        inner = clause.right.element
        return inner if isinstance(inner, Select) else None
    return None


_DRIVER_RANK = {"reference": 0, "token": 1, "uri": 1, "string": 2, "quantity": 3, "number": 3}
"""How selective a criterion of each type tends to be, most first: a reference names one
resource's dependants, a token one code, a string prefix a slice of names; a range (date,
quantity) often half of everything. Chains and `_has` rank last: their far end is unknown."""


def driver_rank(criterion: Criterion) -> int:
    """Where `criterion` ranks as the driver of a search: lower is chosen first."""
    if criterion.chain is not None or criterion.has is not None or criterion.param is None:
        return 9
    if criterion.param.type == "token" and criterion.name in ("identifier", "_id"):
        return 0
    return _DRIVER_RANK.get(criterion.param.type, 4)


_WIDENING_MODIFIERS = frozenset({"text", "above", "below", "contains", "missing", "not"})


def keys_in_order(criterion: Criterion) -> bool:
    """True when `criterion` is one value that fixes every column of its match index before
    the resource key, so that the index gives its keys in key order: a token as
    `system|code` or `|code` (its index is type, parameter, code, system, key: a bare code
    leaves the system open), a reference to one target type (`Type/id`, `:Type`, or a
    parameter with one target), a uri compared whole. PostgreSQL also estimates such a
    criterion from its most-common-value statistics rather than from histograms every
    parameter shares (`search.compile.matching`)."""
    param = criterion.param
    if (
        param is None
        or criterion.chain is not None
        or criterion.has is not None
        or len(criterion.values) != 1
        or criterion.modifier in _WIDENING_MODIFIERS
    ):
        return False
    (value,) = criterion.values
    if param.type == "token":
        _, bar, code = value.partition("|")
        return bool(bar and code) and criterion.modifier is None
    if param.type == "reference":
        if criterion.modifier == "identifier":
            return False
        if ":" in value:  # an absolute URL or a urn: matched by the stored URL
            return False
        return "/" in value or criterion.modifier is not None or len(param.target) == 1
    return param.type == "uri" and criterion.modifier is None


def check_modifier(criterion: Criterion, *allowed: str) -> None:
    """400 unless the criterion's modifier is absent or one of `allowed`."""
    if criterion.modifier is not None and criterion.modifier not in allowed:
        raise BadRequest(f"The modifier :{criterion.modifier} is not supported on {criterion.name}")


def split_prefix(value: str) -> tuple[str, str]:
    """`ge2024-01-01` -> ("ge", "2024-01-01"); no prefix means `eq`."""
    if len(value) > 2 and value[:2] in PREFIXES and not value[2].isalpha():
        return value[:2], value[2:]
    return "eq", value


def range_clause(
    prefix: str,
    low: object,
    high: object,
    col_low: ColumnElement[Any],
    col_high: ColumnElement[Any],
) -> ColumnElement[bool]:
    """Compare the stored range [col_low, col_high] with the searched range [low, high]."""
    if prefix == "eq":
        # `col_low <= high` follows from the other two; said, it bounds the scan of an index
        # on the start of the range at both ends.
        return and_(col_low >= low, col_low <= high, col_high <= high)
    if prefix == "ne":
        return not_(and_(col_low >= low, col_high <= high))
    if prefix == "gt":
        return col_high > high
    if prefix == "lt":
        return col_low < low
    if prefix == "ge":
        return or_(col_high > high, and_(col_low >= low, col_high <= high))
    if prefix == "le":
        return or_(col_low < low, and_(col_low >= low, col_high <= high))
    if prefix == "sa":
        return col_low > high
    if prefix == "eb":
        return col_high < low
    raise BadRequest(f"The prefix {prefix!r} is not supported here")
