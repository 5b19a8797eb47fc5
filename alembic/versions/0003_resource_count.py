"""resource_count: live resources per type, kept by triggers on PostgreSQL

Statement-level triggers with transition tables
(https://www.postgresql.org/docs/15/sql-createtrigger.html) add one row per type and statement
that changes how many live resources there are; `storage.counts` reads and folds them.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 01:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FUNCTIONS = {
    "insert": """
        INSERT INTO resource_count (res_type, delta)
        SELECT res_type, count(*) FROM new_rows WHERE NOT deleted GROUP BY res_type""",
    "update": """
        INSERT INTO resource_count (res_type, delta)
        SELECT res_type, sum(change) FROM (
            SELECT res_type, CASE WHEN deleted THEN 0 ELSE 1 END AS change FROM new_rows
            UNION ALL
            SELECT res_type, CASE WHEN deleted THEN 0 ELSE -1 END FROM old_rows
        ) AS changes GROUP BY res_type HAVING sum(change) <> 0""",
    "delete": """
        INSERT INTO resource_count (res_type, delta)
        SELECT res_type, -count(*) FROM old_rows WHERE NOT deleted GROUP BY res_type""",
}
_TRANSITIONS = {
    "insert": "NEW TABLE AS new_rows",
    "update": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
    "delete": "OLD TABLE AS old_rows",
}


def upgrade() -> None:
    op.create_table(
        "resource_count",
        sa.Column("res_type", sa.String(length=64), nullable=False),
        sa.Column("delta", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_resource_count_type", "resource_count", ["res_type"])
    if op.get_context().dialect.name != "postgresql":
        return
    for event, body in _FUNCTIONS.items():
        op.execute(
            f"CREATE FUNCTION resource_count_{event}() RETURNS trigger LANGUAGE plpgsql AS $$"
            f" BEGIN {body}; RETURN NULL; END $$"
        )
        op.execute(
            f"CREATE TRIGGER resource_count_{event} AFTER {event.upper()} ON resource"
            f" REFERENCING {_TRANSITIONS[event]}"
            f" FOR EACH STATEMENT EXECUTE FUNCTION resource_count_{event}()"
        )
    op.execute(
        "INSERT INTO resource_count (res_type, delta)"
        " SELECT res_type, count(*) FROM resource WHERE NOT deleted GROUP BY res_type"
    )


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        for event in _FUNCTIONS:
            op.execute(f"DROP TRIGGER IF EXISTS resource_count_{event} ON resource")
            op.execute(f"DROP FUNCTION IF EXISTS resource_count_{event}()")
    op.drop_index("ix_resource_count_type", table_name="resource_count")
    op.drop_table("resource_count")
