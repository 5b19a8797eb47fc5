"""Migration 0007 gives the resources stored before it their data class, and their rows to the
access gates: a registration Consent its rules, a CareTeam its members, a support centre its
wards (`alembic/versions/0007_access_gates.py`), as the write path would have."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.helpers import registration
from tobiume.access.relations import SERVED_WARD
from tobiume.storage.migrate import upgrade

STORED: list[tuple[str, str, str | None, dict[str, Any]]] = [
    ("Consent", "p1-registration", "p1", registration("p1")),
    ("Observation", "o1", "p1", {"resourceType": "Observation", "id": "o1", "status": "final"}),
    (
        "CareTeam",
        "t1",
        "p1",
        {
            "resourceType": "CareTeam",
            "id": "t1",
            "status": "active",
            "participant": [{"member": {"reference": "Organization/vnst-1"}}],
        },
    ),
    (
        "Organization",
        "hsc-1",
        None,
        {
            "resourceType": "Organization",
            "id": "hsc-1",
            "extension": [{"url": SERVED_WARD, "valueString": "北九州市小倉北区"}],
        },
    ),
]


async def test_0007_backfills_classes_and_gate_rows(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    await upgrade(url, "0006")
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        for res_type, res_id, patient_id, body in STORED:
            await conn.execute(
                text(
                    "INSERT INTO resource (res_type, res_id, version, last_updated, deleted, "
                    "body, patient_id) VALUES (:t, :i, 1, :u, 0, :b, :p)"
                ),
                {
                    "t": res_type,
                    "i": res_id,
                    "u": datetime(2026, 1, 1, tzinfo=UTC),
                    "b": orjson.dumps(body).decode(),
                    "p": patient_id,
                },
            )
    await upgrade(url)
    async with engine.connect() as conn:
        found = (await conn.execute(text("SELECT res_id, data_class FROM resource"))).all()
        classes: dict[str, str] = {str(i): str(c) for i, c in found}
        registered = (await conn.execute(text("SELECT patient_id FROM registration"))).all()
        rules = (await conn.execute(text("SELECT count(*) FROM consent_rule"))).scalar()
        members = (await conn.execute(text("SELECT org FROM care_relation"))).all()
        wards = (await conn.execute(text("SELECT org, ward_norm FROM served_ward"))).all()
    await engine.dispose()
    assert classes == {
        "p1-registration": "registration",
        "o1": "medical",
        "t1": "care",
        "hsc-1": "directory",
    }
    assert registered == [("p1",)]
    assert rules == 4  # a root permit: one row per class of patient data
    assert members == [("Organization/vnst-1",)]
    assert [org for org, _ in wards] == ["Organization/hsc-1"]
