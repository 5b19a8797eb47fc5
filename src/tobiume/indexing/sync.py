"""Writing a resource's index rows in the same transaction as the resource itself.

On update the previous rows are deleted and the new ones inserted, one multi-row statement per
index table that has rows (HAPI FHIR JPA diffs old against new; a measurement may ask for that
later, the interface would not change). A deleted resource keeps no index rows, so searches
never find tombstones.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, delete, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from tobiume.indexing.rows import IndexRows
from tobiume.storage.tables import (
    INDEX_TABLES,
    idx_date,
    idx_number,
    idx_quantity,
    idx_reference,
    idx_string,
    idx_token,
    idx_uri,
)


def _table_rows(
    pk: int, res_type: str, patient_id: str | None, rows: IndexRows
) -> list[tuple[Table, list[dict[str, Any]]]]:
    key = {"res_pk": pk, "res_type": res_type, "patient_id": patient_id}
    return [
        (
            idx_string,
            [
                {**key, "param": r.param, "value_norm": r.value_norm, "value_exact": r.value_exact}
                for r in rows.strings
            ],
        ),
        (
            idx_token,
            [{**key, "param": r.param, "system": r.system, "code": r.code} for r in rows.tokens],
        ),
        (
            idx_reference,
            [
                {
                    **key,
                    "param": r.param,
                    "target_type": r.target_type,
                    "target_id": r.target_id,
                    "url": r.url,
                }
                for r in rows.references
            ],
        ),
        (idx_date, [{**key, "param": r.param, "low": r.low, "high": r.high} for r in rows.dates]),
        (
            idx_quantity,
            [
                {
                    **key,
                    "param": r.param,
                    "value": r.value,
                    "system": r.system,
                    "code": r.code,
                    "unit": r.unit,
                }
                for r in rows.quantities
            ],
        ),
        (idx_number, [{**key, "param": r.param, "value": r.value} for r in rows.numbers]),
        (idx_uri, [{**key, "param": r.param, "value": r.value} for r in rows.uris]),
    ]


async def insert_rows(
    conn: AsyncConnection, pk: int, res_type: str, patient_id: str | None, rows: IndexRows
) -> None:
    """Index a resource that has no rows yet (a create)."""
    for table, values in _table_rows(pk, res_type, patient_id, rows):
        if values:
            await conn.execute(insert(table), values)


async def delete_rows(conn: AsyncConnection, pk: int) -> None:
    """Remove every index row of a resource (before re-indexing, or on delete)."""
    for table in INDEX_TABLES:
        await conn.execute(delete(table).where(table.c.res_pk == pk))


async def replace_rows(
    conn: AsyncConnection, pk: int, res_type: str, patient_id: str | None, rows: IndexRows
) -> None:
    """Index a new version of an existing resource."""
    await delete_rows(conn, pk)
    await insert_rows(conn, pk, res_type, patient_id, rows)
