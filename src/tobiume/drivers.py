"""Talking to the database driver directly, for the few statements that run on every request.

SQLAlchemy Core builds and compiles every statement of the server; executing through it costs,
per statement, its cache-key and result machinery and, on SQLite, one hand-off to aiosqlite's
thread for each DBAPI call (three or four per statement). On these machines a thread hand-off
costs about 100 µs and a primary-key select through SQLAlchemy 170 µs on asyncpg against 70 µs
directly (DESIGN.md, "Speed"). So:

* `Prepared` holds a statement of fixed shape, compiled once per dialect; it runs on asyncpg
  directly (which prepares it once per connection), or on SQLite as one function in aiosqlite's
  thread, with the SQLAlchemy column types' own bind and result processors, so that values
  read and written here are exactly those SQLAlchemy reads and writes elsewhere.
* `sqlite_call` runs any function on the SQLite connection in that thread: `storage.writes`
  stores a whole version (resource, history and index rows) in one hand-off.

Statements built per request (searches) run on the driver through `tobiume.compiled`.

The statements run in whatever transaction the connection is in (`db.Database`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement, Executable

T = TypeVar("T")


async def driver_connection(conn: AsyncConnection) -> Any:
    """The driver's connection under an `AsyncConnection`: asyncpg's, or aiosqlite's."""
    raw = await conn.get_raw_connection()
    return raw.driver_connection


async def sqlite_call(conn: AsyncConnection, fn: Callable[[sqlite3.Connection], T]) -> T:
    """Run `fn` with the sqlite3 connection, in aiosqlite's thread, in one hand-off.

    aiosqlite (pinned) queues functions for its thread through `Connection._execute`; its
    public methods are built on it. `fn` must not block on anything but SQLite.
    """
    aio = await driver_connection(conn)
    result: T = await aio._execute(lambda: fn(aio._conn))
    return result


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    names: tuple[str, ...]
    binds: tuple[Callable[[Any], Any] | None, ...]
    results: tuple[Callable[[Any], Any] | None, ...]


def _compile(statement: Executable, dialect: Dialect) -> _Compiled:
    clause = cast(ClauseElement, statement)
    compiled = cast(SQLCompiler, clause.compile(dialect=dialect))
    names = tuple(compiled.positiontup or ())
    if dialect.name == "postgresql":  # asyncpg encodes Python values by itself
        return _Compiled(str(compiled), names, (), ())
    binds = tuple(
        compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names
    )
    columns = getattr(statement, "selected_columns", ())
    results = tuple(
        column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns
    )
    return _Compiled(str(compiled), names, binds, results)


class Prepared:
    """A statement of fixed shape, compiled once per dialect and run with named parameters
    on the driver directly (see the module docstring)."""

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._compiled: dict[str, _Compiled] = {}

    def _for(self, conn: AsyncConnection) -> _Compiled:
        name = conn.dialect.name
        compiled = self._compiled.get(name)
        if compiled is None:
            compiled = self._compiled[name] = _compile(self.statement, conn.dialect)
        return compiled

    async def fetch(
        self, conn: AsyncConnection, params: Mapping[str, Any]
    ) -> Sequence[Sequence[Any]]:
        """Every row."""
        c = self._for(conn)
        if conn.dialect.name == "postgresql":
            driver = await driver_connection(conn)
            rows: Sequence[Sequence[Any]] = await driver.fetch(c.sql, *(params[n] for n in c.names))
            return rows
        args = _bound(c, params)
        raw = await sqlite_call(conn, lambda db: db.execute(c.sql, args).fetchall())
        return [_processed(c, row) for row in raw]

    async def first(self, conn: AsyncConnection, params: Mapping[str, Any]) -> Sequence[Any] | None:
        """The first row, or None."""
        c = self._for(conn)
        if conn.dialect.name == "postgresql":
            driver = await driver_connection(conn)
            row: Sequence[Any] | None = await driver.fetchrow(c.sql, *(params[n] for n in c.names))
            return row
        args = _bound(c, params)
        raw = await sqlite_call(conn, lambda db: db.execute(c.sql, args).fetchone())
        return None if raw is None else _processed(c, raw)


def _bound(c: _Compiled, params: Mapping[str, Any]) -> list[Any]:
    values = [params[n] for n in c.names]
    return [v if p is None else p(v) for v, p in zip(values, c.binds, strict=True)]


def _processed(c: _Compiled, row: Sequence[Any]) -> tuple[Any, ...]:
    if not c.results:
        return tuple(row)
    return tuple(v if p is None else p(v) for v, p in zip(row, c.results, strict=True))
