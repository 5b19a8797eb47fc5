"""Storing many new resources at once, for `tobiume import` (no FHIR interaction of its own:
each resource is stored exactly as an update-as-create would store its version 1,
https://hl7.org/fhir/R4/http.html#upsert).

`insert_absent` stores those of a batch whose ids are not taken yet, resource, history and index
rows, and says which it stored; the caller sends the others down the update path:

* PostgreSQL: one statement for the whole batch. Data-modifying CTEs insert the resources from
  arrays (`unnest ... WITH ORDINALITY`), join the returned keys back to their positions and
  insert history and index rows from arrays that carry each row's position; one round trip and
  one plan for hundreds of resources, where one statement per resource (`writes_pg`) spends
  most of its time on the round trip. `ON CONFLICT DO NOTHING` skips the taken ids, so no
  lookup precedes the insert (during a load the planner's statistics of `resource` are stale,
  and a lookup of 500 ids chose a scan of the whole type).
* SQLite: `writes_sqlite.insert` for each, all in one hand-off to aiosqlite's thread.

"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from functools import cache

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncConnection

from tobiume.drivers import driver_connection, sqlite_call
from tobiume.storage import writes_sqlite
from tobiume.storage.tables import INDEX_TABLES, resource, value_columns
from tobiume.storage.version import IndexValues, NewVersion
from tobiume.storage.writes_pg import array_type

Item = tuple[NewVersion, IndexValues]


async def insert_absent(conn: AsyncConnection, items: Sequence[Item]) -> set[tuple[str, str]]:
    """Store each item whose (type, id) is not stored yet as a new resource; returns the keys
    stored. The items' keys must be distinct. A concurrent writer of the same id makes this
    wait for it and then skip the id, never fail."""
    if not items:
        return set()
    if conn.dialect.name == "postgresql":
        driver = await driver_connection(conn)
        present = tuple(t for t in INDEX_TABLES if any(index.get(t) for _, index in items))
        rows = await driver.fetch(_insert_sql(present), *_arguments(items, present))
        return {(row[0], row[1]) for row in rows}
    return await sqlite_call(conn, lambda db: _insert_sqlite(db, items))


def _insert_sqlite(db: sqlite3.Connection, items: Sequence[Item]) -> set[tuple[str, str]]:
    """In the write transaction (BEGIN IMMEDIATE: no other writer runs meanwhile)."""
    stored: set[tuple[str, str]] = set()
    db.execute("SAVEPOINT bulk")
    try:
        for new, index in items:
            key = (new.res_type, new.res_id)
            if db.execute(_TAKEN, key).fetchone() is None:
                writes_sqlite.insert(db, new, index)
                stored.add(key)
    except BaseException:
        db.execute("ROLLBACK TO SAVEPOINT bulk")
        db.execute("RELEASE SAVEPOINT bulk")
        raise
    db.execute("RELEASE SAVEPOINT bulk")
    return stored


_TAKEN = "SELECT 1 FROM resource WHERE res_type = ? AND res_id = ?"


_RESOURCE_ARRAYS = (
    ("res_type", "text[]"),
    ("res_id", "text[]"),
    ("version", "int[]"),
    ("last_updated", "timestamptz[]"),
    ("deleted", "bool[]"),
    ("body", "text[]"),
    ("patient_id", "text[]"),
    ("method", "text[]"),
    ("data_class", "text[]"),
    ("owner_org", "text[]"),
)


def _arguments(items: Sequence[Item], present: tuple[Table, ...]) -> list[list[object]]:
    arguments: list[list[object]] = [
        [new.res_type for new, _ in items],
        [new.res_id for new, _ in items],
        [new.version for new, _ in items],
        [new.last_updated for new, _ in items],
        [new.deleted for new, _ in items],
        [new.body for new, _ in items],
        [new.patient_id for new, _ in items],
        [new.method for new, _ in items],
        [new.data_class for new, _ in items],
        [new.owner_org for new, _ in items],
    ]
    for table in present:
        width = len(value_columns(table))
        columns: list[list[object]] = [[] for _ in range(width + 1)]
        for position, (_, index) in enumerate(items, start=1):
            for row in index.get(table, ()):
                columns[0].append(position)
                for i in range(width):
                    columns[i + 1].append(row[i])
        arguments.extend(columns)
    return arguments


@cache
def _insert_sql(present: tuple[Table, ...]) -> str:
    arrays = ", ".join(f"${n}::{kind}" for n, (_, kind) in enumerate(_RESOURCE_ARRAYS, start=1))
    names = ", ".join(name for name, _ in _RESOURCE_ARRAYS)
    ctes = [
        f"s AS (SELECT * FROM unnest({arrays}) WITH ORDINALITY AS s({names}, ord))",
        "r AS (INSERT INTO resource "
        "(res_type, res_id, version, last_updated, deleted, body, patient_id, data_class, "
        "owner_org) "
        "SELECT res_type, res_id, version, last_updated, deleted, body, patient_id, data_class, "
        "owner_org FROM s ORDER BY ord ON CONFLICT (res_type, res_id) DO NOTHING "
        "RETURNING pk, res_type, res_id)",
        "k AS (SELECT r.pk, s.* FROM r JOIN s USING (res_type, res_id))",
        "v AS (INSERT INTO resource_version "
        "(res_pk, version, res_type, res_id, last_updated, method, deleted, body, patient_id) "
        "SELECT pk, version, res_type, res_id, last_updated, method, deleted, body, patient_id "
        "FROM k)",
    ]
    n = len(_RESOURCE_ARRAYS) + 1
    for number, table in enumerate(present):
        columns = value_columns(table)
        typed = ", ".join(
            [f"${n}::bigint[]", *(f"${n + 1 + i}::{array_type(c)}" for i, c in enumerate(columns))]
        )
        names = ", ".join(c.name for c in columns)
        selected = ", ".join(f"u.{c.name}" for c in columns)
        n += len(columns) + 1
        ctes.append(
            f"i{number} AS (INSERT INTO {table.name} (res_pk, res_type, patient_id, {names}) "
            f"SELECT k.pk, k.res_type, k.patient_id, {selected} "
            f"FROM unnest({typed}) AS u(ord, {names}) JOIN k ON k.ord = u.ord)"
        )
    return "WITH " + ",\n".join(ctes) + "\nSELECT res_type, res_id FROM r"


async def any_stored(conn: AsyncConnection) -> bool:
    """True if the database holds any resource at all (deleted ones included)."""
    return (await conn.execute(select(resource.c.pk).limit(1))).first() is not None
