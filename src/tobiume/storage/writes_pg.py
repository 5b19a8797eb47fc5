"""PostgreSQL: a version in one statement (`storage.writes`).

Data-modifying CTEs insert (or compare-and-set update) the resource, append the version and
rewrite the index tables, the index rows travelling as one array per column through `unnest`;
asyncpg prepares the statement once per connection. Only the index tables that get rows are
named (a Patient fills four of seven), so fewer arrays travel and fewer CTEs run; the deletes
of an update name all seven. Every part hangs on the CTE `r`, so a lost compare-and-set writes
nothing. A DELETE and an INSERT on one table in one statement cannot touch each other's rows:
all parts see the same snapshot
(https://www.postgresql.org/docs/current/queries-with.html#QUERIES-WITH-MODIFYING).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from sqlalchemy import Table

from tobiume.storage.tables import INDEX_TABLES, value_columns
from tobiume.storage.version import IndexValues, NewVersion


async def insert(driver: Any, new: NewVersion, index: IndexValues) -> int:
    """The new resource's key; asyncpg's UniqueViolationError if the id is taken."""
    present = _present(index)
    pk: int = await driver.fetchval(
        _insert_sql(present), *_version_args(new), *_arrays(index, present)
    )
    return pk


async def replace(driver: Any, pk: int, expected: int, new: NewVersion, index: IndexValues) -> bool:
    """True if version `expected` was current and `new` replaced it."""
    present = _present(index)
    written = await driver.fetchval(
        _replace_sql(present), pk, expected, *_version_args(new), *_arrays(index, present)
    )
    return written is not None


_VERSION_PARAMS = (
    "res_type",
    "res_id",
    "version",
    "last_updated",
    "deleted",
    "body",
    "patient_id",
    "method",
    "data_class",
    "owner_org",
)
_PG_ARRAY_TYPES = {"BigInteger": "bigint[]", "Integer": "int[]", "Float": "float8[]"}


def _version_args(new: NewVersion) -> tuple[Any, ...]:
    return (
        new.res_type,
        new.res_id,
        new.version,
        new.last_updated,
        new.deleted,
        new.body,
        new.patient_id,
        new.method,
        new.data_class,
        new.owner_org,
    )


def _present(index: IndexValues) -> tuple[Table, ...]:
    """The index tables that get rows, in `INDEX_TABLES` order."""
    return tuple(table for table in INDEX_TABLES if index.get(table))


def _arrays(index: IndexValues, present: tuple[Table, ...]) -> list[list[Any]]:
    """One array per value column of every table in `present`, in that order."""
    arrays: list[list[Any]] = []
    for table in present:
        tuples = index[table]
        for position in range(len(value_columns(table))):
            arrays.append([t[position] for t in tuples])
    return arrays


def array_type(column: Any) -> str:
    return _PG_ARRAY_TYPES.get(type(column.type).__name__, "text[]")


def _index_ctes(present: tuple[Table, ...], first_array: int, key: Mapping[str, str]) -> list[str]:
    """`INSERT ... SELECT FROM unnest($n, ...)` for each table in `present`, arrays numbered from
    `first_array`; `key` gives the placeholder of `res_type` and `patient_id`."""
    parts: list[str] = []
    n = first_array
    for number, table in enumerate(present):
        columns = value_columns(table)
        arrays = ", ".join(f"${n + i}::{array_type(c)}" for i, c in enumerate(columns))
        names = ", ".join(c.name for c in columns)
        n += len(columns)
        parts.append(
            f"i{number} AS (INSERT INTO {table.name} (res_pk, res_type, patient_id, {names}) "
            f"SELECT r.pk, {key['res_type']}, {key['patient_id']}, u.* "
            f"FROM r, unnest({arrays}) AS u)"
        )
    return parts


def _placeholders(first: int) -> dict[str, str]:
    """`_VERSION_PARAMS` numbered from `first`."""
    return {name: f"${first + i}" for i, name in enumerate(_VERSION_PARAMS)}


def _history_cte(p: Mapping[str, str]) -> str:
    return (
        "v AS (INSERT INTO resource_version "
        "(res_pk, version, res_type, res_id, last_updated, method, deleted, body, patient_id) "
        f"SELECT r.pk, {p['version']}, {p['res_type']}, {p['res_id']}, {p['last_updated']}, "
        f"{p['method']}, {p['deleted']}, {p['body']}, {p['patient_id']} FROM r)"
    )


@cache
def _insert_sql(present: tuple[Table, ...]) -> str:
    """Parameters: `_VERSION_PARAMS`, then the index arrays (`_arrays`)."""
    p = _placeholders(1)
    ctes = [
        "r AS (INSERT INTO resource "
        "(res_type, res_id, version, last_updated, deleted, body, patient_id, data_class, "
        "owner_org) "
        f"VALUES ({p['res_type']}, {p['res_id']}, {p['version']}, {p['last_updated']}, "
        f"{p['deleted']}, {p['body']}, {p['patient_id']}, {p['data_class']}, "
        f"{p['owner_org']}) RETURNING pk)",
        _history_cte(p),
        *_index_ctes(present, 1 + len(_VERSION_PARAMS), p),
    ]
    return "WITH " + ",\n".join(ctes) + "\nSELECT pk FROM r"


@cache
def _replace_sql(present: tuple[Table, ...]) -> str:
    """Parameters: the resource's pk, the expected current version, `_VERSION_PARAMS`, then the
    index arrays (`_arrays`)."""
    p = _placeholders(3)
    ctes = [
        f"r AS (UPDATE resource SET version = {p['version']}, "
        f"last_updated = {p['last_updated']}, deleted = {p['deleted']}, body = {p['body']}, "
        f"patient_id = {p['patient_id']}, data_class = {p['data_class']}, "
        f"owner_org = {p['owner_org']} WHERE pk = $1 AND version = $2 RETURNING pk)",
        _history_cte(p),
        *(
            f"d{number} AS (DELETE FROM {table.name} USING r WHERE {table.name}.res_pk = r.pk)"
            for number, table in enumerate(INDEX_TABLES)
        ),
        *_index_ctes(present, 3 + len(_VERSION_PARAMS), p),
    ]
    return "WITH " + ",\n".join(ctes) + "\nSELECT pk FROM r"
