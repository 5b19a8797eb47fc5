"""auth: registered clients, used client assertions, failed token requests

`storage.tables` says what each holds and why.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 22:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "client",
        sa.Column("client_id", sa.String(length=64), primary_key=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("organization", sa.String(length=128), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("scopes", sa.Text(), nullable=False),
        sa.Column("jwks", sa.Text(), nullable=True),
        sa.Column("jwks_url", sa.Text(), nullable=True),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "client_assertion",
        sa.Column("client_id", sa.String(length=64), primary_key=True),
        sa.Column("jti", sa.String(length=255), primary_key=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_client_assertion_expires", "client_assertion", ["expires_at"])
    op.create_table(
        "token_failure",
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_token_failure_subject", "token_failure", ["subject", "failed_at"])


def downgrade() -> None:
    op.drop_index("ix_token_failure_subject", table_name="token_failure")
    op.drop_table("token_failure")
    op.drop_index("ix_client_assertion_expires", table_name="client_assertion")
    op.drop_table("client_assertion")
    op.drop_table("client")
