"""resource_count: live resources per type, kept by triggers on PostgreSQL

Row triggers (https://www.postgresql.org/docs/15/sql-createtrigger.html) add a row of +1 or -1
for every resource created, deleted or revived; `storage.counts` reads and folds them.

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

_TRIGGERS = {
    "insert": ("AFTER INSERT", "NOT NEW.deleted", "NEW.res_type, 1"),
    "revive": (
        "AFTER UPDATE OF deleted",
        "OLD.deleted AND NOT NEW.deleted",
        "NEW.res_type, 1",
    ),
    "delete": (
        "AFTER UPDATE OF deleted",
        "NOT OLD.deleted AND NEW.deleted",
        "NEW.res_type, -1",
    ),
    "remove": ("AFTER DELETE", "NOT OLD.deleted", "OLD.res_type, -1"),
}
"""Row triggers, each with a WHEN condition that PostgreSQL tests before calling anything: an
update that neither deletes nor revives (almost all of them) costs nothing. Statement triggers
with transition tables copied every inserted row, body and all, and cut transaction Bundles
of ten creates by a third."""


def upgrade() -> None:
    op.create_table(
        "resource_count",
        sa.Column("res_type", sa.String(length=64), nullable=False),
        sa.Column("delta", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_resource_count_type", "resource_count", ["res_type"])
    if op.get_context().dialect.name != "postgresql":
        return
    for name, (event, condition, values) in _TRIGGERS.items():
        op.execute(
            f"CREATE FUNCTION resource_count_{name}() RETURNS trigger LANGUAGE plpgsql AS $$"
            f" BEGIN INSERT INTO resource_count (res_type, delta) VALUES ({values});"
            " RETURN NULL; END $$"
        )
        op.execute(
            f"CREATE TRIGGER resource_count_{name} {event} ON resource FOR EACH ROW"
            f" WHEN ({condition}) EXECUTE FUNCTION resource_count_{name}()"
        )
    op.execute(
        "INSERT INTO resource_count (res_type, delta)"
        " SELECT res_type, count(*) FROM resource WHERE NOT deleted GROUP BY res_type"
    )


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        for name in _TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS resource_count_{name} ON resource")
            op.execute(f"DROP FUNCTION IF EXISTS resource_count_{name}()")
    op.drop_index("ix_resource_count_type", table_name="resource_count")
    op.drop_table("resource_count")
