"""SQLite: a version as a few statements run in aiosqlite's thread in one hand-off
(`storage.writes`, `drivers.sqlite_call`). These functions run in that thread, on the request's
open transaction, and must touch nothing but the sqlite3 connection they are given.

Times are stored as SQLAlchemy stores them (its SQLite DateTime format), so that statements
through SQLAlchemy read them back alike.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from functools import cache
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import sqlite

from tobiume.storage.tables import INDEX_TABLES, resource, value_columns
from tobiume.storage.version import IndexValues, NewVersion

_RESOURCE_INSERT = (
    "INSERT INTO resource (res_type, res_id, version, last_updated, deleted, body, patient_id, "
    "data_class, owner_org) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_RESOURCE_UPDATE = (
    "UPDATE resource SET version = ?, last_updated = ?, deleted = ?, body = ?, patient_id = ?, "
    "data_class = ?, owner_org = ? WHERE pk = ? AND version = ?"
)
_HISTORY_INSERT = (
    "INSERT INTO resource_version "
    "(res_pk, version, res_type, res_id, last_updated, method, deleted, body, patient_id) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def insert(db: sqlite3.Connection, new: NewVersion, index: IndexValues) -> int:
    """The new resource's key; sqlite3.IntegrityError if the id is taken."""
    updated = _timestamp()(new.last_updated)
    cursor = db.execute(
        _RESOURCE_INSERT,
        (
            new.res_type,
            new.res_id,
            new.version,
            updated,
            new.deleted,
            new.body,
            new.patient_id,
            new.data_class,
            new.owner_org,
        ),
    )
    pk = cursor.lastrowid
    assert pk is not None
    _history(db, pk, new, updated)
    _index(db, pk, new, index)
    return pk


def replace(
    db: sqlite3.Connection, pk: int, expected: int, new: NewVersion, index: IndexValues
) -> bool:
    """True if version `expected` was current and `new` replaced it."""
    updated = _timestamp()(new.last_updated)
    cursor = db.execute(
        _RESOURCE_UPDATE,
        (
            new.version,
            updated,
            new.deleted,
            new.body,
            new.patient_id,
            new.data_class,
            new.owner_org,
            pk,
            expected,
        ),
    )
    if cursor.rowcount != 1:
        return False
    _history(db, pk, new, updated)
    for table in INDEX_TABLES:
        db.execute(f"DELETE FROM {table.name} WHERE res_pk = ?", (pk,))
    _index(db, pk, new, index)
    return True


def _history(db: sqlite3.Connection, pk: int, new: NewVersion, updated: str) -> None:
    db.execute(
        _HISTORY_INSERT,
        (
            pk,
            new.version,
            new.res_type,
            new.res_id,
            updated,
            new.method,
            new.deleted,
            new.body,
            new.patient_id,
        ),
    )


def _index(db: sqlite3.Connection, pk: int, new: NewVersion, index: IndexValues) -> None:
    for table, tuples in index.items():
        if tuples:
            key = (pk, new.res_type, new.patient_id)
            db.executemany(_index_insert(table), [key + values for values in tuples])


@cache
def _index_insert(table: Table) -> str:
    names = ["res_pk", "res_type", "patient_id", *(c.name for c in value_columns(table))]
    marks = ", ".join("?" for _ in names)
    return f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({marks})"


@cache
def _timestamp() -> Callable[[Any], Any]:
    """SQLAlchemy's own converter for `resource.last_updated` on SQLite."""
    dialect = sqlite.dialect()
    processor = resource.c.last_updated.type.dialect_impl(dialect).bind_processor(dialect)
    assert processor is not None
    return processor
