"""The database engine: one async SQLAlchemy engine per process, PostgreSQL or SQLite.

Transactions are opened only through `Database.read()` and `Database.write()`, so the two
dialects behave alike where it matters:

* PostgreSQL runs READ COMMITTED; writers that must serialise on a row lock it with
  `SELECT ... FOR UPDATE` (see `storage.store`), and conditional writes take a transaction-level
  advisory lock on their criteria (`lock_criteria`).
* SQLite allows one writer at a time. A deferred transaction that reads and later writes fails
  with SQLITE_BUSY when another writer got in first, so write transactions begin with
  `BEGIN IMMEDIATE` (https://www.sqlite.org/lang_transaction.html) and wait up to the busy
  timeout; read transactions begin deferred and run beside the writer under WAL.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

_WRITE_OPTION = "tobiume_write"


class Database:
    """Owns the engine and hands out transactional connections."""

    def __init__(self, url: str, *, pool_size: int = 10, echo: bool = False) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        kwargs: dict[str, Any] = {"echo": echo}
        if not self.is_sqlite:
            kwargs.update(pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=False)
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if self.is_sqlite:
            _configure_sqlite(self.engine)

    @property
    def dialect(self) -> str:
        return "sqlite" if self.is_sqlite else "postgresql"

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A transaction that only reads; it is rolled back at the end."""
        async with self.engine.connect() as conn, conn.begin():
            yield conn

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """A transaction that may write; committed when the block ends without an exception.

        The commit happens inside the block's exit, before the caller answers, so a transaction
        that fails at commit is reported as a failure, never as a success.
        """
        async with self.engine.connect() as conn:
            await conn.execution_options(**{_WRITE_OPTION: True})
            async with conn.begin():
                yield conn

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()


async def lock_criteria(conn: AsyncConnection, key: str) -> None:
    """Serialise writers that act on the same conditional criteria until the transaction ends.

    On PostgreSQL this is `pg_advisory_xact_lock`; on SQLite the write transaction already holds
    the database's only write lock (BEGIN IMMEDIATE), so nothing more is needed.
    """
    if conn.dialect.name != "postgresql":
        return
    digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
    lock_id = int.from_bytes(digest, "big", signed=True)
    await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock_id})


def _configure_sqlite(engine: AsyncEngine) -> None:
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # Take BEGIN out of the driver's hands so that `_on_begin` decides its kind.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get(_WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
