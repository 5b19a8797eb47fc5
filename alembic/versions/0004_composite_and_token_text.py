"""composite search index; token display text and identifier type

`idx_composite` holds composite search parameters (https://hl7.org/fhir/R4/search.html#composite),
one row per element with its components' values; `idx_token` gains the folded display text
(`:text`) and an Identifier's type (`:of-type`), https://hl7.org/fhir/R4/search.html#token.
Existing rows keep NULL in the new token columns until their resource is written again (or
re-imported, or `tobiume reindex` runs): `:text` and `:of-type` find what was indexed after
this revision.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 01:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TEXT_PRESENT = sa.text("text_norm IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table("idx_token", schema=None) as batch_op:
        batch_op.add_column(sa.Column("text_norm", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("type_system", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("type_code", sa.Text(), nullable=True))
        batch_op.create_index(
            "ix_idx_token_text",
            ["res_type", "param", "text_norm"],
            unique=False,
            postgresql_ops={"text_norm": "text_pattern_ops"},
            postgresql_where=_TEXT_PRESENT,
            sqlite_where=_TEXT_PRESENT,
        )

    op.create_table(
        "idx_composite",
        sa.Column("res_pk", sa.BigInteger(), nullable=False),
        sa.Column("res_type", sa.String(length=64), nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=True),
        sa.Column("param", sa.String(length=100), nullable=False),
        sa.Column("system1", sa.Text(), nullable=True),
        sa.Column("code1", sa.Text(), nullable=True),
        sa.Column("system2", sa.Text(), nullable=True),
        sa.Column("code2", sa.Text(), nullable=True),
        sa.Column("quantity", sa.Float(), nullable=True),
        sa.Column("quantity_system", sa.Text(), nullable=True),
        sa.Column("quantity_code", sa.Text(), nullable=True),
        sa.Column("quantity_unit", sa.Text(), nullable=True),
        sa.Column("low", sa.BigInteger(), nullable=True),
        sa.Column("high", sa.BigInteger(), nullable=True),
        sa.Column("text_norm", sa.Text(), nullable=True),
        sa.Column("number1", sa.Float(), nullable=True),
        sa.Column("number2", sa.Float(), nullable=True),
        sa.Column("target_type", sa.String(length=64), nullable=True),
        sa.Column("target_id", sa.String(length=64), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
    )
    with op.batch_alter_table("idx_composite", schema=None) as batch_op:
        batch_op.create_index("ix_idx_composite_res", ["res_pk"], unique=False)
        batch_op.create_index(
            "ix_idx_composite_match",
            ["res_type", "param", "code1", "system1", "res_pk"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("idx_composite", schema=None) as batch_op:
        batch_op.drop_index("ix_idx_composite_match")
        batch_op.drop_index("ix_idx_composite_res")

    op.drop_table("idx_composite")
    with op.batch_alter_table("idx_token", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_idx_token_text",
            postgresql_ops={"text_norm": "text_pattern_ops"},
            postgresql_where=_TEXT_PRESENT,
            sqlite_where=_TEXT_PRESENT,
        )
        batch_op.drop_column("type_code")
        batch_op.drop_column("type_system")
        batch_op.drop_column("text_norm")
