"""Writing a version: the current row, the history row and the index rows, together.

Implements the storage side of create, update and delete (https://hl7.org/fhir/R4/http.html#create,
#update, #delete: a delete is a version with no body). Every function runs on the request's
open transaction and never commits (STYLE.md, habit 6). On update the previous index rows are
deleted and the new ones inserted (HAPI FHIR JPA diffs old against new instead; a measurement
may ask for that later, the interface would not change). A tombstone keeps no index rows, so
searches never find deleted resources.

Two paths, one behaviour, both run by the whole test suite, both on the driver directly
(`drivers`): a version is written many times more often than anything else is.

* PostgreSQL (`writes_pg`): one statement per write, data-modifying CTEs with the index rows
  as arrays; one round trip where the obvious way takes up to ten.
* SQLite (`writes_sqlite`): the same statements one by one, all in one hand-off to aiosqlite's
  thread.
"""

from __future__ import annotations

import sqlite3

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy.ext.asyncio import AsyncConnection

from tobiume.drivers import driver_connection, sqlite_call
from tobiume.errors import Conflict
from tobiume.storage import writes_pg, writes_sqlite
from tobiume.storage.version import IndexValues, NewVersion

__all__ = ["IndexValues", "NewVersion", "insert_resource", "replace_resource"]


async def insert_resource(conn: AsyncConnection, new: NewVersion, index: IndexValues) -> int:
    """Store the first version of a new resource with its index rows; returns its key.

    A concurrent create of the same type and id loses on the unique constraint and is answered
    409, never as a second version 1.
    """
    try:
        if conn.dialect.name == "postgresql":
            driver = await driver_connection(conn)
            return await writes_pg.insert(driver, new, index)
        return await sqlite_call(conn, lambda db: writes_sqlite.insert(db, new, index))
    except (asyncpg.UniqueViolationError, sqlite3.IntegrityError) as exc:
        raise Conflict(f"{new.res_type}/{new.res_id} was created concurrently; retry") from exc


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
        return await writes_pg.replace(driver, pk, expected, new, index)
    return await sqlite_call(conn, lambda db: writes_sqlite.replace(db, pk, expected, new, index))
