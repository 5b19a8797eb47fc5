"""`tobiume reindex` (`tobiume.reindex`) rewrites the index rows of live resources from their
stored bodies: rows lost or stale (as after a migration that indexes something new) become
exactly the rows every write stores, searches find the resources again, `--type` limits it,
versions and bodies stay as they were, and a deleted resource gets no rows. On SQLite and
PostgreSQL, through HTTP where a client would see it."""

from __future__ import annotations

import json

import httpx
from sqlalchemy import delete, update

from tests.conftest import SHARED, Backend
from tests.helpers import (
    FHIR_JSON,
    create,
    expected_index_rows,
    matched_ids,
    observation,
    patient,
    stored_index_rows,
)
from tobiume.cli import main
from tobiume.reindex import reindex
from tobiume.storage.tables import INDEX_TABLES, idx_reference, idx_token

EXAMPLES = SHARED / "fhir-r4" / "examples"


async def _lose_rows(backend: Backend) -> None:
    """Every index row gone, and the token rows that remain made stale."""
    async with backend.database.engine.begin() as conn:
        for table in INDEX_TABLES:
            if table is not idx_token:
                await conn.execute(delete(table))
        await conn.execute(update(idx_token).values(code="stale", text_norm=None))


async def test_reindex_restores_exactly_what_writes_store(
    client: httpx.AsyncClient, backend: Backend
) -> None:
    subject = await create(client, patient(mrn="R1", family="山田", kana="ヤマダ"))
    bmi = json.loads((EXAMPLES / "Observation-bmi.json").read_text())
    bmi["subject"] = {"reference": f"Patient/{subject['id']}"}
    stored_bmi = (await client.put(f"Observation/{bmi['id']}", json=bmi, headers=FHIR_JSON)).json()
    gone = await create(client, observation(f"Patient/{subject['id']}"))
    assert (await client.delete(f"Observation/{gone['id']}")).status_code in (200, 204)

    await _lose_rows(backend)
    assert await matched_ids(client, "Patient", "name=やまだ") == set()
    assert await matched_ids(client, "Observation", "code=http://loinc.org|39156-5") == set()

    report = await reindex(backend.settings, batch=1)  # a batch per resource: keys in turn
    assert report.resources == 2

    assert await stored_index_rows(backend.database, "Patient", subject["id"]) == (
        expected_index_rows(subject, subject["id"])
    )
    assert await stored_index_rows(backend.database, "Observation", bmi["id"]) == (
        expected_index_rows(stored_bmi, subject["id"])
    )
    assert report.rows == sum(
        sum(c.values())
        for body in (subject, stored_bmi)
        for c in expected_index_rows(body, subject["id"]).values()
    )
    assert await stored_index_rows(backend.database, "Observation", gone["id"]) == {}
    assert await matched_ids(client, "Patient", "name=やまだ") == {subject["id"]}
    assert await matched_ids(client, "Observation", "code=http://loinc.org|39156-5") == {bmi["id"]}
    read = (await client.get(f"Observation/{bmi['id']}")).json()
    assert read == stored_bmi  # body and version untouched


async def test_reindex_of_one_type_leaves_the_others(
    client: httpx.AsyncClient, backend: Backend
) -> None:
    subject = await create(client, patient(mrn="R2", family="田中", kana="タナカ"))
    lab = await create(client, observation(f"Patient/{subject['id']}"))
    await _lose_rows(backend)

    assert main(["reindex", "--type", "NotAType"]) == 2
    report = await reindex(backend.settings, ["Patient"])
    assert report.resources == 1
    assert await matched_ids(client, "Patient", "name=たなか") == {subject["id"]}
    untouched = await stored_index_rows(backend.database, "Observation", lab["id"])
    assert idx_reference.name not in untouched  # still lost
    assert await matched_ids(client, "Observation", f"patient={subject['id']}") == set()

    await reindex(backend.settings)
    assert await stored_index_rows(backend.database, "Observation", lab["id"]) == (
        expected_index_rows(lab, subject["id"])
    )
    assert await matched_ids(client, "Observation", f"patient={subject['id']}") == {lab["id"]}
