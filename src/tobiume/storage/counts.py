"""How many live resources a type has, answered without counting them (PostgreSQL).

An accurate `_total` over every Observation of a city is a count of 720,000 index entries,
half a second of a core each time. PostgreSQL keeps the number instead: row triggers on
`resource` (migration 0003) add a row of `(type, +1 or -1)` to `resource_count` for every
resource created, deleted or revived (about 4 µs an insert; an update that does neither is
not touched), in the same transaction, so a rollback takes its change with it and nothing a
client can do bypasses it. Rows of changes, not one
counter per type: a counter row would be locked by every transaction that writes the type
until it commits, and transactions of the same type would queue behind each other. Reading
sums a type's rows; when they have piled up, the reader folds them into one
(`_FOLD_AFTER`), in one statement that only takes rows it deleted itself, so concurrent
writers and readers stay right. One reader folds a type at a time (a transaction-level
advisory lock, tried, never waited for): thirty-two readers folding the same 720,000 rows at
once queued on each other's row locks for longer than a benchmark run. A bulk import, which
adds a row for every resource, folds every type when it ends (`fold_all`).

SQLite counts: its databases are the small, embedded ones.

The number is of every live resource of the type: it answers a search only when the
requester may see every one of them (`AccessPolicy.sees_everything`) and the search has no
criteria (`search.compile.counts_everything`).
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import Select, func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement

from tobiume.storage.tables import resource

_FOLD_AFTER = 64
"""Rows of changes a type may have before a reader folds them into one."""

_SUM = text(
    "SELECT coalesce(sum(delta), 0), count(*) FROM resource_count WHERE res_type = :res_type"
)
_SUM_ALL = text("SELECT coalesce(sum(delta), 0), count(*) FROM resource_count")
_FOLD = text(
    "WITH mine AS (SELECT pg_try_advisory_xact_lock(hashtext('resource_count ' || :res_type))"
    " AS got), "
    "gone AS (DELETE FROM resource_count WHERE res_type = :res_type"
    " AND (SELECT got FROM mine) RETURNING delta) "
    "INSERT INTO resource_count (res_type, delta) "
    "SELECT :res_type, sum(delta) FROM gone HAVING count(*) > 0"
)
_FOLD_ALL = text(
    "WITH gone AS (DELETE FROM resource_count RETURNING res_type, delta) "
    "INSERT INTO resource_count (res_type, delta) "
    "SELECT res_type, sum(delta) FROM gone GROUP BY res_type"
)


async def live_count(conn: AsyncConnection, res_type: str | None) -> int:
    """Live resources of `res_type` (of every type when None)."""
    if conn.dialect.name != "postgresql":
        stmt = select(func.count()).select_from(resource).where(resource.c.deleted.is_(False))
        if res_type is not None:
            stmt = stmt.where(resource.c.res_type == res_type)
        return int((await conn.execute(stmt)).scalar_one())
    if res_type is None:
        total, _rows = (await conn.execute(_SUM_ALL)).one()
        return int(total)
    total, rows = (await conn.execute(_SUM, {"res_type": res_type})).one()
    if rows > _FOLD_AFTER:
        await conn.execute(_FOLD, {"res_type": res_type})
    return int(total)


async def fold_all(conn: AsyncConnection) -> None:
    """Fold every type's rows of changes into one (PostgreSQL; after a bulk import, which
    leaves a row for every resource it stored). Concurrent writers keep adding rows beside it."""
    if conn.dialect.name == "postgresql":
        await conn.execute(_FOLD_ALL)


class _Explain(Executable, ClauseElement):
    """`EXPLAIN (FORMAT JSON) <select>`, with the select's parameters bound as usual."""

    inherit_cache = False

    def __init__(self, statement: Select[Any]) -> None:
        self.statement = statement


@compiles(_Explain, "postgresql")
def _compile_explain(element: _Explain, compiler: SQLCompiler, **kw: Any) -> str:
    return "EXPLAIN (FORMAT JSON) " + compiler.process(element.statement, **kw)


async def estimated_rows(conn: AsyncConnection, statement: Select[Any]) -> int | None:
    """How many rows PostgreSQL's planner expects `statement` to give (`_total=estimate`,
    https://hl7.org/fhir/R4/search.html#total): a plan, not a run, so it costs about a
    millisecond whatever the count. None on SQLite, which keeps no such estimate."""
    if conn.dialect.name != "postgresql":
        return None
    plan = (await conn.execute(_Explain(statement))).scalar_one()
    parsed = orjson.loads(plan) if isinstance(plan, str | bytes) else plan
    return int(parsed[0]["Plan"]["Plan Rows"])
