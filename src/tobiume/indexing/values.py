"""A resource's index rows as the values each index table stores
(`storage.tables.value_columns`: param first, then the type's own columns), ready for
`storage.writes` to insert in the same transaction as the resource."""

from __future__ import annotations

from tobiume.indexing.rows import IndexRows
from tobiume.storage.tables import (
    idx_composite,
    idx_date,
    idx_number,
    idx_quantity,
    idx_reference,
    idx_string,
    idx_token,
    idx_uri,
)
from tobiume.storage.writes import IndexValues


def table_values(rows: IndexRows) -> IndexValues:
    """Per index table, one tuple per row in the table's column order (empty tables left out)."""
    values: IndexValues = {
        idx_string: [(r.param, r.value_norm, r.value_exact) for r in rows.strings],
        idx_token: [
            (r.param, r.system, r.code, r.text_norm, r.type_system, r.type_code)
            for r in rows.tokens
        ],
        idx_reference: [(r.param, r.target_type, r.target_id, r.url) for r in rows.references],
        idx_date: [(r.param, r.low, r.high) for r in rows.dates],
        idx_quantity: [(r.param, r.value, r.system, r.code, r.unit) for r in rows.quantities],
        idx_number: [(r.param, r.value) for r in rows.numbers],
        idx_uri: [(r.param, r.value) for r in rows.uris],
        idx_composite: [r.values() for r in rows.composites],
    }
    return {table: tuples for table, tuples in values.items() if tuples}
