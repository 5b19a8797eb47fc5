"""`tobiume reindex`: rewrite the search index rows of every live resource from its stored body
(`storage.index_rows` says when that is needed), with the same extraction every write runs
(`indexing.extract`). Bodies are not validated again or changed, versions and history are left
alone, and the compartment owner stays the one stored with the resource. On PostgreSQL the
index tables are analysed at the end, as after an import."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import orjson
from sqlalchemy import text

from tobiume.config import Settings
from tobiume.db import Database, atomic
from tobiume.indexing.extract import extract
from tobiume.indexing.values import table_values
from tobiume.storage import index_rows
from tobiume.storage.tables import INDEX_TABLES

BATCH = 500


@dataclass(slots=True)
class ReindexReport:
    resources: int = 0
    rows: int = 0


async def reindex(
    settings: Settings, types: Sequence[str] = (), batch: int = BATCH
) -> ReindexReport:
    """Rewrite the index rows of the live resources (of `types`, if given), `batch` at a time,
    each batch in one transaction."""
    report = ReindexReport()
    database = Database(settings.database_url)
    try:
        after = 0
        while True:
            async with database.write() as conn:
                await atomic(conn)
                stored = await index_rows.live_batch(conn, after, batch, types)
                if not stored:
                    break
                items = [
                    (pk, res_type, owner, table_values(extract(orjson.loads(body))))
                    for pk, res_type, body, owner in stored
                ]
                report.rows += await index_rows.replace(conn, items)
            report.resources += len(stored)
            after = stored[-1][0]
        if not database.is_sqlite and report.resources:
            async with database.read() as conn:
                for table in INDEX_TABLES:
                    await conn.execute(text(f"ANALYZE {table.name}"))
    finally:
        await database.dispose()
    return report
