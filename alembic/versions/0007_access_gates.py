"""access: data classes and the rows the consent and role gates join

`storage.tables` says what each holds and why. Existing resources get their data class and
existing Consent, CareTeam and Organization resources their rows, computed by the same
functions every write runs (`access.classes`, `access.consent_rules`, `access.relations`).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-08 01:30:00.000000
"""

from collections.abc import Sequence
from typing import Any

import orjson
import sqlalchemy as sa
from alembic import op

from tobiume.access.classes import data_class
from tobiume.access.consent_rules import is_registration, registrar, rules
from tobiume.access.relations import care_team_members, served_wards

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 2000


def upgrade() -> None:
    op.create_table(
        "registration",
        sa.Column("consent_pk", sa.BigInteger(), primary_key=True),
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("registrar", sa.String(length=128), nullable=True),
    )
    op.create_index("ix_registration_patient", "registration", ["patient_id"])
    op.create_table(
        "consent_rule",
        sa.Column("consent_pk", sa.BigInteger(), nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("depth", sa.Integer(), nullable=False),
        sa.Column("permit", sa.Boolean(), nullable=False),
        sa.Column("data_class", sa.String(length=16), nullable=False),
        sa.Column("res_type", sa.String(length=64), nullable=True),
        sa.Column("actor_org", sa.String(length=128), nullable=True),
        sa.Column("actor_role", sa.String(length=64), nullable=True),
        sa.Column("actor_user", sa.String(length=128), nullable=True),
        sa.Column("purpose", sa.String(length=32), nullable=True),
        sa.Column("start_us", sa.BigInteger(), nullable=True),
        sa.Column("end_us", sa.BigInteger(), nullable=True),
    )
    op.create_index("ix_consent_rule_patient", "consent_rule", ["patient_id", "data_class"])
    op.create_index("ix_consent_rule_consent", "consent_rule", ["consent_pk", "data_class"])
    op.create_table(
        "care_relation",
        sa.Column("source_pk", sa.BigInteger(), nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("org", sa.String(length=128), nullable=True),
        sa.Column("member", sa.String(length=128), nullable=True),
    )
    op.create_index("ix_care_relation_patient", "care_relation", ["patient_id"])
    op.create_index("ix_care_relation_source", "care_relation", ["source_pk"])
    op.create_table(
        "served_ward",
        sa.Column("source_pk", sa.BigInteger(), nullable=False),
        sa.Column("org", sa.String(length=128), nullable=False),
        sa.Column("ward_norm", sa.Text(), nullable=False),
    )
    op.create_index("ix_served_ward_org", "served_ward", ["org", "ward_norm"])
    op.create_index("ix_served_ward_source", "served_ward", ["source_pk"])
    _backfill(op.get_bind())


def _backfill(bind: Any) -> None:
    """Classes for every stored resource, rows for the resources that give them."""
    last = 0
    while True:
        rows = bind.execute(
            sa.text(
                "SELECT pk, res_type, body, patient_id, deleted FROM resource "
                "WHERE pk > :last ORDER BY pk LIMIT :batch"
            ),
            {"last": last, "batch": BATCH},
        ).all()
        if not rows:
            return
        last = rows[-1][0]
        classes = []
        for pk, res_type, body, patient_id, deleted in rows:
            parsed = orjson.loads(body) if body else {"resourceType": res_type}
            classes.append({"pk": pk, "cls": data_class(parsed)})
            if not deleted and body:
                _derive(bind, pk, parsed, patient_id)
        bind.execute(sa.text("UPDATE resource SET data_class = :cls WHERE pk = :pk"), classes)


def _derive(bind: Any, pk: int, body: dict[str, Any], patient_id: str | None) -> None:
    kind = body.get("resourceType")
    if kind == "Consent" and patient_id and is_registration(body):
        bind.execute(
            sa.text("INSERT INTO registration VALUES (:pk, :patient, :registrar)"),
            {"pk": pk, "patient": patient_id, "registrar": registrar(body)},
        )
        found = [
            {
                "pk": pk,
                "patient": patient_id,
                "depth": r.depth,
                "permit": r.permit,
                "cls": r.data_class,
                "type": r.res_type,
                "org": r.actor_org,
                "role": r.actor_role,
                "user": r.actor_user,
                "purpose": r.purpose,
                "start": r.start,
                "end": r.end,
            }
            for r in rules(body)
        ]
        if found:
            bind.execute(
                sa.text(
                    "INSERT INTO consent_rule (consent_pk, patient_id, depth, permit, data_class, "
                    "res_type, actor_org, actor_role, actor_user, purpose, start_us, end_us) "
                    "VALUES (:pk, :patient, :depth, :permit, :cls, :type, :org, :role, :user, "
                    ":purpose, :start, :end)"
                ),
                found,
            )
    elif kind == "CareTeam" and patient_id:
        members = [
            {"pk": pk, "patient": patient_id, "org": m.org, "member": m.user}
            for m in care_team_members(body)
        ]
        if members:
            bind.execute(
                sa.text("INSERT INTO care_relation VALUES (:pk, :patient, :org, :member)"),
                members,
            )
    elif kind == "Organization":
        wards = [
            {"pk": pk, "org": f"Organization/{body.get('id')}", "ward": w}
            for w in served_wards(body)
        ]
        if wards:
            bind.execute(sa.text("INSERT INTO served_ward VALUES (:pk, :org, :ward)"), wards)


def downgrade() -> None:
    op.execute("UPDATE resource SET data_class = NULL")
    for table, indexes in (
        ("served_ward", ("ix_served_ward_source", "ix_served_ward_org")),
        ("care_relation", ("ix_care_relation_source", "ix_care_relation_patient")),
        ("consent_rule", ("ix_consent_rule_consent", "ix_consent_rule_patient")),
        ("registration", ("ix_registration_patient",)),
    ):
        for index in indexes:
            op.drop_index(index, table_name=table)
        op.drop_table(table)
