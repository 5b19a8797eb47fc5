"""Writing a version: the current row, the history row and the index rows, together.

Implements the storage side of create, update and delete (https://hl7.org/fhir/R4/http.html#create,
#update, #delete: a delete is a version with no body). Every function runs on the request's
open transaction and never commits (STYLE.md, habit 6). On update the previous index rows are
deleted and the new ones inserted (HAPI FHIR JPA diffs old against new instead; a measurement
may ask for that later, the interface would not change). A tombstone keeps no index rows, so
searches never find deleted resources.

Two paths, one behaviour, both run by the whole test suite:

* PostgreSQL: one statement per write. Data-modifying CTEs insert (or update) the resource,
  append the version and rewrite all seven index tables, the index rows travelling as arrays
  through `unnest`; it is sent to asyncpg directly (`db.Prepared`), prepared once per
  connection. A create costs BEGIN, this statement and COMMIT, where the portable path costs
  up to ten round trips (the benchmark in `bench/` measured the difference). The sibling DELETE
  and INSERT on one index table cannot touch each other's rows: all parts of a statement see
  the same snapshot (https://www.postgresql.org/docs/current/queries-with.html#QUERIES-WITH-MODIFYING).
* SQLite (and the reference for the above): SQLAlchemy Core, one statement per table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Table, delete, insert, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from tobiume.db import driver_connection
from tobiume.errors import Conflict
from tobiume.storage.tables import (
    INDEX_TABLES,
    resource,
    resource_version,
    value_columns,
)

IndexValues = Mapping[Table, Sequence[tuple[Any, ...]]]
"""Per index table, the rows to store, each a tuple in `value_columns(table)` order."""


@dataclass(frozen=True, slots=True)
class NewVersion:
    """What a write stores: the body already carries `meta.versionId` and `meta.lastUpdated`."""

    res_type: str
    res_id: str
    version: int
    last_updated: datetime
    body: str | None
    patient_id: str | None
    method: str
    deleted: bool = False


async def insert_resource(conn: AsyncConnection, new: NewVersion, index: IndexValues) -> int:
    """Store the first version of a new resource with its index rows; returns its key.

    A concurrent create of the same type and id loses on the unique constraint and is answered
    409, never as a second version 1.
    """
    if conn.dialect.name == "postgresql":
        import asyncpg  # type: ignore[import-untyped]

        driver = await driver_connection(conn)
        try:
            pk: int = await driver.fetchval(_pg_insert_sql(), *_version_args(new), *_arrays(index))
        except asyncpg.UniqueViolationError as exc:
            raise _concurrent_create(new) from exc
        return pk
    try:
        pk = (
            await conn.execute(
                insert(resource).values(_resource_values(new)).returning(resource.c.pk)
            )
        ).scalar_one()
    except IntegrityError as exc:
        raise _concurrent_create(new) from exc
    await conn.execute(insert(resource_version).values(_history_values(pk, new)))
    await _insert_index(conn, pk, new, index)
    return int(pk)


async def replace_resource(
    conn: AsyncConnection, pk: int, expected: int, new: NewVersion, index: IndexValues
) -> bool:
    """Make `new` the current version of resource `pk`, append it to history and replace its
    index rows (a tombstone passes none), if version `expected` is still the current one.

    Compare-and-set instead of a row lock (https://hl7.org/fhir/R4/http.html#concurrency): False
    means a concurrent writer got there first and nothing was written; the caller reads again.
    """
    if conn.dialect.name == "postgresql":
        driver = await driver_connection(conn)
        written = await driver.fetchval(
            _pg_replace_sql(), pk, expected, *_version_args(new), *_arrays(index)
        )
        return written is not None
    changed = await conn.execute(
        update(resource)
        .where(resource.c.pk == pk, resource.c.version == expected)
        .values(_resource_values(new))
    )
    if changed.rowcount != 1:
        return False
    await conn.execute(insert(resource_version).values(_history_values(pk, new)))
    for table in INDEX_TABLES:
        await conn.execute(delete(table).where(table.c.res_pk == pk))
    await _insert_index(conn, pk, new, index)
    return True


def _concurrent_create(new: NewVersion) -> Conflict:
    return Conflict(f"{new.res_type}/{new.res_id} was created concurrently; retry")


def _resource_values(new: NewVersion) -> dict[str, Any]:
    return {
        "res_type": new.res_type,
        "res_id": new.res_id,
        "version": new.version,
        "last_updated": new.last_updated,
        "deleted": new.deleted,
        "body": new.body,
        "patient_id": new.patient_id,
    }


def _history_values(pk: int, new: NewVersion) -> dict[str, Any]:
    return {**_resource_values(new), "res_pk": pk, "method": new.method}


async def _insert_index(
    conn: AsyncConnection, pk: int, new: NewVersion, index: IndexValues
) -> None:
    key = {"res_pk": pk, "res_type": new.res_type, "patient_id": new.patient_id}
    for table, tuples in index.items():
        if tuples:
            names = [c.name for c in value_columns(table)]
            await conn.execute(
                insert(table), [{**key, **dict(zip(names, t, strict=True))} for t in tuples]
            )


# PostgreSQL: one statement per write --------------------------------------------------------

_VERSION_PARAMS = (
    "res_type",
    "res_id",
    "version",
    "last_updated",
    "deleted",
    "body",
    "patient_id",
    "method",
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
    )


def _arrays(index: IndexValues) -> list[list[Any]]:
    """One array per value column of every index table, in `INDEX_TABLES` order."""
    arrays: list[list[Any]] = []
    for table in INDEX_TABLES:
        tuples = index.get(table, ())
        for position in range(len(value_columns(table))):
            arrays.append([t[position] for t in tuples])
    return arrays


def _array_type(column: Any) -> str:
    return _PG_ARRAY_TYPES.get(type(column.type).__name__, "text[]")


def _index_ctes(first_array: int, key: Mapping[str, str]) -> list[str]:
    """`INSERT ... SELECT FROM unnest($n, ...)` for each index table, arrays numbered from
    `first_array`; `key` gives the placeholder of `res_type` and `patient_id`."""
    parts: list[str] = []
    n = first_array
    for number, table in enumerate(INDEX_TABLES):
        columns = value_columns(table)
        arrays = ", ".join(f"${n + i}::{_array_type(c)}" for i, c in enumerate(columns))
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
def _pg_insert_sql() -> str:
    """Parameters: `_VERSION_PARAMS`, then the index arrays (`_arrays`)."""
    p = _placeholders(1)
    ctes = [
        "r AS (INSERT INTO resource "
        "(res_type, res_id, version, last_updated, deleted, body, patient_id) "
        f"VALUES ({p['res_type']}, {p['res_id']}, {p['version']}, {p['last_updated']}, "
        f"{p['deleted']}, {p['body']}, {p['patient_id']}) RETURNING pk)",
        _history_cte(p),
        *_index_ctes(1 + len(_VERSION_PARAMS), p),
    ]
    return "WITH " + ",\n".join(ctes) + "\nSELECT pk FROM r"


@cache
def _pg_replace_sql() -> str:
    """Parameters: the resource's pk, the expected current version, `_VERSION_PARAMS`, then the
    index arrays (`_arrays`). Every part hangs on `r`, so a lost compare-and-set (no row
    updated) writes nothing at all."""
    p = _placeholders(3)
    ctes = [
        f"r AS (UPDATE resource SET version = {p['version']}, "
        f"last_updated = {p['last_updated']}, deleted = {p['deleted']}, body = {p['body']}, "
        f"patient_id = {p['patient_id']} WHERE pk = $1 AND version = $2 RETURNING pk)",
        _history_cte(p),
        *(
            f"d{number} AS (DELETE FROM {table.name} USING r WHERE {table.name}.res_pk = r.pk)"
            for number, table in enumerate(INDEX_TABLES)
        ),
        *_index_ctes(3 + len(_VERSION_PARAMS), p),
    ]
    return "WITH " + ",\n".join(ctes) + "\nSELECT pk FROM r"
