"""initial schema: resources, versions, search indexes

Revision ID: 0001
Revises:
Create Date: 2026-11-22 13:47:19.223269
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "idx_date",
        sa.Column("res_pk", sa.BigInteger(), nullable=False),
        sa.Column("res_type", sa.String(length=64), nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=True),
        sa.Column("param", sa.String(length=100), nullable=False),
        sa.Column("low", sa.BigInteger(), nullable=False),
        sa.Column("high", sa.BigInteger(), nullable=False),
    )
    with op.batch_alter_table("idx_date", schema=None) as batch_op:
        batch_op.create_index("ix_idx_date_res", ["res_pk"], unique=False)
        batch_op.create_index(
            "ix_idx_date_value", ["res_type", "param", "low", "high"], unique=False
        )

    op.create_table(
        "idx_number",
        sa.Column("res_pk", sa.BigInteger(), nullable=False),
        sa.Column("res_type", sa.String(length=64), nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=True),
        sa.Column("param", sa.String(length=100), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
    )
    with op.batch_alter_table("idx_number", schema=None) as batch_op:
        batch_op.create_index("ix_idx_number_res", ["res_pk"], unique=False)
        batch_op.create_index("ix_idx_number_value", ["res_type", "param", "value"], unique=False)

    op.create_table(
        "idx_quantity",
        sa.Column("res_pk", sa.BigInteger(), nullable=False),
        sa.Column("res_type", sa.String(length=64), nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=True),
        sa.Column("param", sa.String(length=100), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("system", sa.Text(), nullable=True),
        sa.Column("code", sa.Text(), nullable=True),
        sa.Column("unit", sa.Text(), nullable=True),
    )
    with op.batch_alter_table("idx_quantity", schema=None) as batch_op:
        batch_op.create_index("ix_idx_quantity_res", ["res_pk"], unique=False)
        batch_op.create_index("ix_idx_quantity_value", ["res_type", "param", "value"], unique=False)

    op.create_table(
        "idx_reference",
        sa.Column("res_pk", sa.BigInteger(), nullable=False),
        sa.Column("res_type", sa.String(length=64), nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=True),
        sa.Column("param", sa.String(length=100), nullable=False),
        sa.Column("target_type", sa.String(length=64), nullable=True),
        sa.Column("target_id", sa.String(length=64), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
    )
    with op.batch_alter_table("idx_reference", schema=None) as batch_op:
        batch_op.create_index("ix_idx_reference_res", ["res_pk"], unique=False)
        batch_op.create_index("ix_idx_reference_target", ["target_type", "target_id"], unique=False)
        batch_op.create_index(
            "ix_idx_reference_value",
            ["res_type", "param", "target_type", "target_id"],
            unique=False,
        )

    op.create_table(
        "idx_string",
        sa.Column("res_pk", sa.BigInteger(), nullable=False),
        sa.Column("res_type", sa.String(length=64), nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=True),
        sa.Column("param", sa.String(length=100), nullable=False),
        sa.Column("value_norm", sa.Text(), nullable=False),
        sa.Column("value_exact", sa.Text(), nullable=False),
    )
    with op.batch_alter_table("idx_string", schema=None) as batch_op:
        batch_op.create_index("ix_idx_string_res", ["res_pk"], unique=False)
        batch_op.create_index(
            "ix_idx_string_value",
            ["res_type", "param", "value_norm"],
            unique=False,
            postgresql_ops={"value_norm": "text_pattern_ops"},
        )

    op.create_table(
        "idx_token",
        sa.Column("res_pk", sa.BigInteger(), nullable=False),
        sa.Column("res_type", sa.String(length=64), nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=True),
        sa.Column("param", sa.String(length=100), nullable=False),
        sa.Column("system", sa.Text(), nullable=True),
        sa.Column("code", sa.Text(), nullable=True),
    )
    with op.batch_alter_table("idx_token", schema=None) as batch_op:
        batch_op.create_index("ix_idx_token_res", ["res_pk"], unique=False)
        batch_op.create_index(
            "ix_idx_token_value", ["res_type", "param", "code", "system"], unique=False
        )

    op.create_table(
        "idx_uri",
        sa.Column("res_pk", sa.BigInteger(), nullable=False),
        sa.Column("res_type", sa.String(length=64), nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=True),
        sa.Column("param", sa.String(length=100), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
    )
    with op.batch_alter_table("idx_uri", schema=None) as batch_op:
        batch_op.create_index("ix_idx_uri_res", ["res_pk"], unique=False)
        batch_op.create_index("ix_idx_uri_value", ["res_type", "param", "value"], unique=False)

    op.create_table(
        "resource",
        sa.Column(
            "pk",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("res_type", sa.String(length=64), nullable=False),
        sa.Column("res_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("last_updated", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("patient_id", sa.String(length=64), nullable=True),
        sa.Column("data_class", sa.String(length=16), nullable=True),
        sa.Column("owner_org", sa.String(length=128), nullable=True),
        sa.PrimaryKeyConstraint("pk"),
        sa.UniqueConstraint("res_type", "res_id", name="uq_resource_type_id"),
    )
    with op.batch_alter_table("resource", schema=None) as batch_op:
        batch_op.create_index("ix_resource_patient", ["patient_id"], unique=False)
        batch_op.create_index(
            "ix_resource_type_updated", ["res_type", "last_updated"], unique=False
        )

    op.create_table(
        "resource_version",
        sa.Column("res_pk", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("res_type", sa.String(length=64), nullable=False),
        sa.Column("res_id", sa.String(length=64), nullable=False),
        sa.Column("last_updated", sa.DateTime(timezone=True), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("patient_id", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("res_pk", "version"),
    )
    with op.batch_alter_table("resource_version", schema=None) as batch_op:
        batch_op.create_index(
            "ix_resource_version_type_updated", ["res_type", "last_updated"], unique=False
        )
        batch_op.create_index("ix_resource_version_updated", ["last_updated"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("resource_version", schema=None) as batch_op:
        batch_op.drop_index("ix_resource_version_updated")
        batch_op.drop_index("ix_resource_version_type_updated")

    op.drop_table("resource_version")
    with op.batch_alter_table("resource", schema=None) as batch_op:
        batch_op.drop_index("ix_resource_type_updated")
        batch_op.drop_index("ix_resource_patient")

    op.drop_table("resource")
    with op.batch_alter_table("idx_uri", schema=None) as batch_op:
        batch_op.drop_index("ix_idx_uri_value")
        batch_op.drop_index("ix_idx_uri_res")

    op.drop_table("idx_uri")
    with op.batch_alter_table("idx_token", schema=None) as batch_op:
        batch_op.drop_index("ix_idx_token_value")
        batch_op.drop_index("ix_idx_token_res")

    op.drop_table("idx_token")
    with op.batch_alter_table("idx_string", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_idx_string_value", postgresql_ops={"value_norm": "text_pattern_ops"}
        )
        batch_op.drop_index("ix_idx_string_res")

    op.drop_table("idx_string")
    with op.batch_alter_table("idx_reference", schema=None) as batch_op:
        batch_op.drop_index("ix_idx_reference_value")
        batch_op.drop_index("ix_idx_reference_target")
        batch_op.drop_index("ix_idx_reference_res")

    op.drop_table("idx_reference")
    with op.batch_alter_table("idx_quantity", schema=None) as batch_op:
        batch_op.drop_index("ix_idx_quantity_value")
        batch_op.drop_index("ix_idx_quantity_res")

    op.drop_table("idx_quantity")
    with op.batch_alter_table("idx_number", schema=None) as batch_op:
        batch_op.drop_index("ix_idx_number_value")
        batch_op.drop_index("ix_idx_number_res")

    op.drop_table("idx_number")
    with op.batch_alter_table("idx_date", schema=None) as batch_op:
        batch_op.drop_index("ix_idx_date_value")
        batch_op.drop_index("ix_idx_date_res")

    op.drop_table("idx_date")
