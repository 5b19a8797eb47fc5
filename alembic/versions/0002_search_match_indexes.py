"""search: match indexes that end in the resource key, and statistics on correlated columns

Every index table's value index becomes a "match" index ending in `res_pk` (an index-only
scan yields the matching keys, in key order for an equality), a date gets a second one by the
end of its range, and the reference index carries the URL. On PostgreSQL, extended statistics
on (type, parameter, value) of tokens and references let the planner see that
`Encounter.class = IMP` is 3% of the Encounters, not 1 row of the product of three independent
guesses (storage/tables.py, docs/search-plans.md).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 00:20:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD = {
    "idx_string": "ix_idx_string_value",
    "idx_token": "ix_idx_token_value",
    "idx_reference": "ix_idx_reference_value",
    "idx_date": "ix_idx_date_value",
    "idx_quantity": "ix_idx_quantity_value",
    "idx_number": "ix_idx_number_value",
    "idx_uri": "ix_idx_uri_value",
}

STATISTICS = {
    "st_idx_token": ("idx_token", "res_type, param, code"),
    "st_idx_reference": ("idx_reference", "res_type, param, target_type, target_id"),
}
"""PostgreSQL extended statistics (most common combinations and functional dependencies,
https://www.postgresql.org/docs/15/planner-stats.html#PLANNER-STATS-EXTENDED), sampled widely
enough (target 300) that a code held by a few thousand of millions of rows is in the list.
Only on equalities: on the city, statistics on (type, parameter, value) of strings and dates
made the planner test every listed value against a prefix or a range, and planning the kana
name search took 1.0 ms instead of 0.3, for a worse plan; a target of 1000 on tokens cost
0.3 ms more planning than 300 and estimated no better."""

STATISTICS_TARGET = 300


def upgrade() -> None:
    for table, name in _OLD.items():
        op.drop_index(name, table_name=table)
    op.create_index(
        "ix_idx_string_match",
        "idx_string",
        ["res_type", "param", "value_norm", "res_pk"],
        postgresql_ops={"value_norm": "text_pattern_ops"},
    )
    op.create_index(
        "ix_idx_token_match", "idx_token", ["res_type", "param", "code", "system", "res_pk"]
    )
    op.create_index(
        "ix_idx_reference_match",
        "idx_reference",
        ["res_type", "param", "target_type", "target_id", "res_pk"],
        postgresql_include=["url"],
    )
    op.create_index("ix_idx_date_low", "idx_date", ["res_type", "param", "low", "high", "res_pk"])
    op.create_index("ix_idx_date_high", "idx_date", ["res_type", "param", "high", "low", "res_pk"])
    for table in ("idx_quantity", "idx_number", "idx_uri"):
        op.create_index(f"ix_{table}_match", table, ["res_type", "param", "value", "res_pk"])
    if op.get_context().dialect.name == "postgresql":
        for name, (table, columns) in STATISTICS.items():
            op.execute(f"CREATE STATISTICS {name} (mcv, dependencies) ON {columns} FROM {table}")
            op.execute(f"ALTER STATISTICS {name} SET STATISTICS {STATISTICS_TARGET}")


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        for name in STATISTICS:
            op.execute(f"DROP STATISTICS IF EXISTS {name}")
    for table in ("idx_quantity", "idx_number", "idx_uri"):
        op.drop_index(f"ix_{table}_match", table_name=table)
    op.drop_index("ix_idx_date_high", table_name="idx_date")
    op.drop_index("ix_idx_date_low", table_name="idx_date")
    op.drop_index("ix_idx_reference_match", table_name="idx_reference")
    op.drop_index("ix_idx_token_match", table_name="idx_token")
    op.drop_index("ix_idx_string_match", table_name="idx_string")
    op.create_index(
        "ix_idx_string_value",
        "idx_string",
        ["res_type", "param", "value_norm"],
        postgresql_ops={"value_norm": "text_pattern_ops"},
    )
    op.create_index("ix_idx_token_value", "idx_token", ["res_type", "param", "code", "system"])
    op.create_index(
        "ix_idx_reference_value", "idx_reference", ["res_type", "param", "target_type", "target_id"]
    )
    op.create_index("ix_idx_date_value", "idx_date", ["res_type", "param", "low", "high"])
    for table in ("idx_quantity", "idx_number", "idx_uri"):
        op.create_index(f"ix_{table}_value", table, ["res_type", "param", "value"])
