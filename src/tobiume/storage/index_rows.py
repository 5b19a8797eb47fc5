"""Rewriting the index rows of stored resources (`tobiume reindex`), with the current version's
body left as it is.

Index rows are written with every version (`storage.writes`), so they only fall behind when the
server learns to index something new: a migration that adds an index table or columns
(0004: composite parameters, token display text) leaves the rows written before it without
them until each resource is written again. This reads the live resources in key order, a batch
at a time, and replaces each batch's rows in one transaction, so a search sees either a
resource's old rows or its new ones, never a mixture. The batch's resources are locked as they
are read (PostgreSQL; SQLite's write transaction already excludes other writers): an update
committed between reading a body and rewriting its rows would otherwise have its new rows
replaced by those of the version before it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from tobiume.storage.tables import INDEX_TABLES, resource, value_columns
from tobiume.storage.version import IndexValues

Stored = tuple[int, str, str, str | None]
"""(pk, type, body, compartment owner) of a live resource."""

Indexed = tuple[int, str, str | None, IndexValues]
"""(pk, type, compartment owner, index rows) of a resource to rewrite."""


async def live_batch(
    conn: AsyncConnection, after: int, limit: int, types: Sequence[str] = ()
) -> list[Stored]:
    """The next `limit` live resources with a key above `after` (of `types`, if given),
    locked until the transaction ends."""
    stmt = (
        select(resource.c.pk, resource.c.res_type, resource.c.body, resource.c.patient_id)
        .where(resource.c.pk > after, resource.c.deleted.is_(False))
        .order_by(resource.c.pk)
        .limit(limit)
        .with_for_update()
    )
    if types:
        stmt = stmt.where(resource.c.res_type.in_(types))
    return [(int(pk), str(t), str(body), owner) for pk, t, body, owner in await conn.execute(stmt)]


async def replace(conn: AsyncConnection, items: Sequence[Indexed]) -> int:
    """Delete every index row of `items` and insert their new ones; returns the rows written.
    The caller runs it in one transaction."""
    if not items:
        return 0
    keys = [pk for pk, *_ in items]
    written = 0
    for table in INDEX_TABLES:
        await conn.execute(delete(table).where(table.c.res_pk.in_(keys)))
        names = [c.name for c in value_columns(table)]
        rows: list[dict[str, Any]] = [
            {
                "res_pk": pk,
                "res_type": res_type,
                "patient_id": owner,
                **dict(zip(names, values, strict=True)),
            }
            for pk, res_type, owner, index in items
            for values in index.get(table, ())
        ]
        if rows:
            await conn.execute(insert(table), rows)
            written += len(rows)
    return written
