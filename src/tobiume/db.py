"""The database engine: one async SQLAlchemy engine per process, PostgreSQL or SQLite.

Transactions are opened only through `Database.read()` and `Database.write()`, so the two
dialects behave alike where it matters:

* PostgreSQL runs READ COMMITTED. SQLAlchemy sees every connection in AUTOCOMMIT mode and the
  transaction is the driver's own (asyncpg `Connection.transaction()`), so statements sent
  through SQLAlchemy and the fast paths that talk to asyncpg directly (`Prepared`,
  `storage.writes`) run in the same transaction. It is begun lazily, by `atomic(conn)`: a
  request whose whole effect is one statement (a read by id, a create, the compare-and-set of
  an update) needs no BEGIN and COMMIT, which would cost two of its three round trips
  (DESIGN.md, "Speed"; a single statement is atomic by itself). Whatever must commit together
  with another statement calls `atomic(conn)` first; `lock_criteria`, `savepoint` and the
  transaction Bundle do so themselves, and the edge commits what was begun. Conditional writes
  take a transaction-level advisory lock on their criteria (`lock_criteria`); updates never
  lock rows, they compare and set the version (`storage.writes.replace_resource`).
* SQLite allows one writer at a time. A deferred transaction that reads and later writes fails
  with SQLITE_BUSY when another writer got in first, so write transactions begin with
  `BEGIN IMMEDIATE` (https://www.sqlite.org/lang_transaction.html) and wait up to the busy
  timeout; read transactions begin deferred and run beside the writer under WAL.

`savepoint(conn)` nests a transaction that can fail alone (a batch entry, an import line) on
either dialect.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import event, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

from tobiume.drivers import driver_connection

_WRITE_OPTION = "tobiume_write"
_LAZY = "tobiume_lazy_transaction"
"""`conn.info` key of a PostgreSQL write connection: None until `atomic` begins its transaction."""

DATABASE_ERRORS: tuple[type[Exception], ...] = (DBAPIError, asyncpg.PostgresError)
"""What a failed statement raises: SQLAlchemy's wrapper, or asyncpg's own on the fast paths."""

_CONCURRENCY_STATES = ("40001", "40P01")  # serialization_failure, deadlock_detected

PG_SESSION_SETTINGS = {
    "plan_cache_mode": "force_custom_plan",
    "enable_material": "off",
    "enable_mergejoin": "off",
}
"""Settings of every PostgreSQL session this server opens.

Statements are prepared once per connection and executed many times (asyncpg's statement
cache). After five executions PostgreSQL may switch a prepared statement to a generic plan,
made without the bound values (https://www.postgresql.org/docs/15/sql-prepare.html, "Notes").
For a search that is ruinous: `code = $1` plans the same for a code held by three resources
and one held by three hundred thousand. On the 30,000-citizen city (bench/search.py) the
patient, code and date search of Observations ran at 12 requests/s with generic plans and
162 with custom ones (p95 4.7 s and 231 ms). A custom plan costs a planning per execution,
well under a millisecond for a search and a few microseconds for a read by key. Measured
again on 2026-12-01 with today's statements: generic plans ran the benchmark's searches up
to 1.7 times faster, until a few searches of skewed values taught them plans that took the
same Observation search from 2 ms to 500 ms and the whole benchmark scenario to 130 requests/s.

`enable_material` off: a search's sets are estimated from statistics that every parameter of
an index table shares (migration 0005), and a set believed to hold one row is joined by
materialising it and comparing each of its rows with each row of the other side. A birth year
believed to be one row of 1,119 made the kana-name search compare 521 names with 1,119
Patients (43 ms; a hash or merge join takes 1). Without materialisation the planner joins such
sets by hashing them, or probes an index; nothing this server runs needs it.

`enable_mergejoin` off: a page of matches joins a few keys to `resource`, and a merge join
does it by reading `resource` in key order from its first row until it meets them. The
planner, which assumes the keys spread evenly, chose it for the 68,000 Observations of a
common code (whose keys begin a third of the way into the table): 373,749 resources read,
220 ms, where a nested loop by key takes 12."""


def is_concurrency_failure(exc: Exception) -> bool:
    """True when `exc` says a concurrent transaction got in the way (retrying may succeed)."""
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    state = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    return state in _CONCURRENCY_STATES or "database is locked" in str(orig)


class Database:
    """Owns the engine and hands out transactional connections."""

    def __init__(self, url: str, *, pool_size: int = 10, echo: bool = False) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        kwargs: dict[str, Any] = {"echo": echo}
        if not self.is_sqlite:
            # No overflow: connections past the pool would be opened and closed per request,
            # and a new PostgreSQL connection costs more than waiting for a pooled one.
            kwargs.update(pool_size=pool_size, max_overflow=0, pool_pre_ping=False)
            kwargs.update(isolation_level="AUTOCOMMIT")
            kwargs.update(connect_args={"server_settings": PG_SESSION_SETTINGS})
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if self.is_sqlite:
            _configure_sqlite(self.engine)
        # Requests queue here, not in the pool: SQLAlchemy's pool hands a freed connection to a
        # waiter through `asyncio.wait_for` and a greenlet, which at 32 concurrent reads on a
        # pool of 10 doubled the p95 latency of a read (bench/); a semaphore in front of it
        # makes every checkout find a free connection.
        self._slots = asyncio.Semaphore(pool_size) if not self.is_sqlite else None

    @asynccontextmanager
    async def _connect(self) -> AsyncIterator[AsyncConnection]:
        if self._slots is None:
            async with self.engine.connect() as conn:
                yield conn
            return
        async with self._slots, self.engine.connect() as conn:
            yield conn

    @property
    def dialect(self) -> str:
        return "sqlite" if self.is_sqlite else "postgresql"

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A connection that only reads: no transaction on PostgreSQL, a deferred (rolled back)
        one on SQLite."""
        async with self._connect() as conn:
            if self.is_sqlite:
                async with conn.begin():
                    yield conn
            else:
                yield conn

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """A transaction that may write; committed when the block ends without an exception.

        The commit happens inside the block's exit, before the caller answers, so a transaction
        that fails at commit is reported as a failure, never as a success.
        """
        async with self._connect() as conn:
            if self.is_sqlite:
                await conn.execution_options(**{_WRITE_OPTION: True})
                async with conn.begin():
                    yield conn
                return
            conn.info[_LAZY] = None
            try:
                yield conn
            except BaseException:
                begun = conn.info.pop(_LAZY, None)
                if begun is not None:
                    await begun.rollback()
                raise
            begun = conn.info.pop(_LAZY, None)
            if begun is not None:
                await begun.commit()

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()


async def atomic(conn: AsyncConnection) -> None:
    """Make sure the write connection's transaction has begun (PostgreSQL; SQLite write
    transactions begin at once). Idempotent; a no-op on a read connection."""
    if _LAZY in conn.info and conn.info[_LAZY] is None:
        transaction = (await driver_connection(conn)).transaction()
        await transaction.start()
        conn.info[_LAZY] = transaction


@asynccontextmanager
async def savepoint(conn: AsyncConnection) -> AsyncIterator[None]:
    """A nested transaction: rolled back alone when the block raises, kept otherwise."""
    if conn.dialect.name == "postgresql":
        await atomic(conn)
        driver = await driver_connection(conn)
        async with driver.transaction():  # nested inside the request's: a SAVEPOINT
            yield
    else:
        async with conn.begin_nested():
            yield


async def lock_criteria(conn: AsyncConnection, key: str) -> None:
    """Serialise writers that act on the same conditional criteria until the transaction ends.

    On PostgreSQL this is `pg_advisory_xact_lock`; on SQLite the write transaction already holds
    the database's only write lock (BEGIN IMMEDIATE), so nothing more is needed.
    """
    if conn.dialect.name != "postgresql":
        return
    await atomic(conn)
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
