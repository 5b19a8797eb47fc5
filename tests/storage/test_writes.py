"""The two write paths (`storage.writes_pg`, `storage.writes_sqlite`) store exactly the index rows
`indexing.extract` computes, for every kind of row, and replace them on update and drop them on
delete; a lost compare-and-set writes nothing. Through HTTP, read back from the tables."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
from sqlalchemy import select

from tests.conftest import SHARED, Backend
from tests.helpers import (
    FHIR_JSON,
    create,
    expected_index_rows,
    patient,
    row_counts,
    stored_index_rows,
)
from tobiume.indexing.extract import extract
from tobiume.indexing.values import table_values
from tobiume.storage.tables import resource
from tobiume.storage.version import NewVersion
from tobiume.storage.writes import replace_resource

EXAMPLES = SHARED / "fhir-r4" / "examples"


async def test_index_rows_are_the_extracted_rows_of_every_kind(
    client: httpx.AsyncClient, backend: Backend
) -> None:
    subject = await create(client, patient())
    example = json.loads((EXAMPLES / "Observation-bmi.json").read_text())
    example["subject"] = {"reference": f"Patient/{subject['id']}"}
    response = await client.put(f"Observation/{example['id']}", json=example, headers=FHIR_JSON)
    assert response.status_code == 201, response.text
    stored = response.json()
    expected = expected_index_rows(stored, subject["id"])
    assert {"idx_token", "idx_reference", "idx_date", "idx_quantity", "idx_uri"} <= set(expected)
    assert await stored_index_rows(backend.database, "Observation", example["id"]) == expected


async def test_update_replaces_the_rows_and_delete_drops_them(
    client: httpx.AsyncClient, backend: Backend
) -> None:
    created = await create(client, patient(mrn="OLD-1"))
    pid = created["id"]
    changed = {**patient(mrn="NEW-1", family="田畑", kana="タバタ"), "id": pid}
    updated = await client.put(f"Patient/{pid}", json=changed, headers=FHIR_JSON)
    assert updated.status_code == 200
    assert await stored_index_rows(backend.database, "Patient", pid) == expected_index_rows(
        updated.json(), pid
    )
    old = (await client.get("Patient", params={"identifier": "OLD-1"})).json()
    assert old.get("entry", []) == []
    new = (await client.get("Patient", params={"identifier": "NEW-1"})).json()
    assert [e["resource"]["id"] for e in new["entry"]] == [pid]
    assert (await client.delete(f"Patient/{pid}")).status_code == 204
    assert await stored_index_rows(backend.database, "Patient", pid) == {}


async def test_an_unchanged_update_writes_no_version(
    client: httpx.AsyncClient, backend: Backend
) -> None:
    created = await create(client, patient())
    before = await row_counts(backend.database)
    again = await client.put(f"Patient/{created['id']}", json=created, headers=FHIR_JSON)
    assert again.status_code == 200
    assert again.json() == created
    assert again.headers["ETag"] == 'W/"1"'
    stripped = {k: v for k, v in created.items() if k != "meta"}
    assert (await client.put(f"Patient/{created['id']}", json=stripped, headers=FHIR_JSON)).json()[
        "meta"
    ]["versionId"] == "1"
    assert await row_counts(backend.database) == before
    tagged = {**stripped, "meta": {"tag": [{"system": "http://example.org/t", "code": "x"}]}}
    retagged = await client.put(f"Patient/{created['id']}", json=tagged, headers=FHIR_JSON)
    assert retagged.json()["meta"]["versionId"] == "2"


async def test_a_lost_compare_and_set_writes_nothing(
    client: httpx.AsyncClient, backend: Backend
) -> None:
    created = await create(client, patient())
    before = await row_counts(backend.database)
    async with backend.database.engine.connect() as conn:
        pk = (
            await conn.execute(select(resource.c.pk).where(resource.c.res_id == created["id"]))
        ).scalar_one()
    body = {**created, "gender": "female"}
    new = NewVersion(
        "Patient", created["id"], 3, datetime.now(UTC), json.dumps(body), created["id"], "PUT"
    )
    async with backend.database.write() as conn:
        written = await replace_resource(conn, pk, 2, new, table_values(extract(body)))
    assert written is False
    assert await row_counts(backend.database) == before
    assert (await client.get(f"Patient/{created['id']}")).json() == created
