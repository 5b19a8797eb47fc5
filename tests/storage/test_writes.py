"""The two write paths (`storage.writes_pg`, `storage.writes_sqlite`) store exactly the index rows
`indexing.extract` computes, for every kind of row, and replace them on update and drop them on
delete; a lost compare-and-set writes nothing. Through HTTP, read back from the tables."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import select

from tests.conftest import SHARED, Backend
from tests.helpers import FHIR_JSON, create, patient, row_counts
from tobiume.indexing.extract import extract
from tobiume.indexing.values import table_values
from tobiume.storage.tables import INDEX_TABLES, resource, value_columns
from tobiume.storage.version import NewVersion
from tobiume.storage.writes import replace_resource

EXAMPLES = SHARED / "fhir-r4" / "examples"


async def _stored_rows(backend: Backend, res_type: str, res_id: str) -> dict[str, Counter[Any]]:
    """Every index row of one resource, per table, as comparable tuples."""
    async with backend.database.engine.connect() as conn:
        pk = (
            await conn.execute(
                select(resource.c.pk).where(
                    resource.c.res_type == res_type, resource.c.res_id == res_id
                )
            )
        ).scalar_one()
        rows: dict[str, Counter[Any]] = {}
        for table in INDEX_TABLES:
            result = await conn.execute(
                select(table.c.res_type, table.c.patient_id, *value_columns(table)).where(
                    table.c.res_pk == pk
                )
            )
            found = Counter(tuple(row) for row in result.all())
            if found:
                rows[table.name] = found
    return rows


def _expected_rows(body: dict[str, Any], patient_id: str | None) -> dict[str, Counter[Any]]:
    values = table_values(extract(body))
    return {
        table.name: Counter((body["resourceType"], patient_id, *row) for row in rows)
        for table, rows in values.items()
    }


async def test_index_rows_are_the_extracted_rows_of_every_kind(
    client: httpx.AsyncClient, backend: Backend
) -> None:
    subject = await create(client, patient())
    example = json.loads((EXAMPLES / "Observation-bmi.json").read_text())
    example["subject"] = {"reference": f"Patient/{subject['id']}"}
    response = await client.put(f"Observation/{example['id']}", json=example, headers=FHIR_JSON)
    assert response.status_code == 201, response.text
    stored = response.json()
    expected = _expected_rows(stored, subject["id"])
    assert {"idx_token", "idx_reference", "idx_date", "idx_quantity", "idx_uri"} <= set(expected)
    assert await _stored_rows(backend, "Observation", example["id"]) == expected


async def test_update_replaces_the_rows_and_delete_drops_them(
    client: httpx.AsyncClient, backend: Backend
) -> None:
    created = await create(client, patient(mrn="OLD-1"))
    pid = created["id"]
    changed = {**patient(mrn="NEW-1", family="田畑", kana="タバタ"), "id": pid}
    updated = await client.put(f"Patient/{pid}", json=changed, headers=FHIR_JSON)
    assert updated.status_code == 200
    assert await _stored_rows(backend, "Patient", pid) == _expected_rows(updated.json(), pid)
    old = (await client.get("Patient", params={"identifier": "OLD-1"})).json()
    assert old.get("entry", []) == []
    new = (await client.get("Patient", params={"identifier": "NEW-1"})).json()
    assert [e["resource"]["id"] for e in new["entry"]] == [pid]
    assert (await client.delete(f"Patient/{pid}")).status_code == 204
    assert await _stored_rows(backend, "Patient", pid) == {}


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
