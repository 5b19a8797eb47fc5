"""Accurate totals of a whole type (`_summary=count`, `_total=accurate`,
https://hl7.org/fhir/R4/search.html#total): on PostgreSQL they come from the counts the
triggers keep (`storage.counts`), so every way of creating, deleting and reviving resources is
checked against the number of live resources the test wrote, and against a plain count."""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy import func, select, text

from tests.conftest import Backend
from tests.helpers import FHIR_JSON, create, observation, patient
from tobiume.storage.counts import live_count
from tobiume.storage.tables import resource


async def _counted(client: httpx.AsyncClient, res_type: str) -> int:
    summary = (await client.get(res_type, params={"_summary": "count"})).json()
    accurate = (await client.get(res_type, params={"_total": "accurate", "_count": "1"})).json()
    assert summary["total"] == accurate["total"]
    return int(summary["total"])


async def _stored(backend: Backend, res_type: str) -> int:
    stmt = select(func.count()).where(
        resource.c.res_type == res_type, resource.c.deleted.is_(False)
    )
    async with backend.database.engine.connect() as conn:
        return int((await conn.execute(stmt)).scalar_one())


async def test_totals_follow_every_kind_of_write(
    client: httpx.AsyncClient, backend: Backend
) -> None:
    assert await _counted(client, "Observation") == 0
    subject = f"Patient/{(await create(client, patient()))['id']}"
    made = [await create(client, observation(subject, value=i)) for i in range(5)]
    assert await _counted(client, "Observation") == 5

    gone = made[0]["id"]
    assert (await client.delete(f"Observation/{gone}")).status_code in (200, 204)
    assert await _counted(client, "Observation") == 4
    assert (await client.delete(f"Observation/{gone}")).status_code in (200, 204)  # again
    assert await _counted(client, "Observation") == 4

    revived = await client.put(
        f"Observation/{gone}", json=observation(subject) | {"id": gone}, headers=FHIR_JSON
    )
    assert revived.status_code in (200, 201)
    assert await _counted(client, "Observation") == 5
    updated = await client.put(
        f"Observation/{made[1]['id']}",
        json=observation(subject, value=9.9) | {"id": made[1]["id"]},
        headers=FHIR_JSON,
    )
    assert updated.status_code == 200
    assert await _counted(client, "Observation") == 5
    put_new = await client.put(
        "Observation/made-by-put",
        json=observation(subject) | {"id": "made-by-put"},
        headers=FHIR_JSON,
    )
    assert put_new.status_code == 201
    assert await _counted(client, "Observation") == 6

    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": observation(subject), "request": {"method": "POST", "url": "Observation"}}
            for _ in range(3)
        ]
        + [{"request": {"method": "DELETE", "url": f"Observation/{made[2]['id']}"}}],
    }
    assert (await client.post("", json=bundle, headers=FHIR_JSON)).status_code == 200
    assert await _counted(client, "Observation") == 8

    failing = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": observation(subject), "request": {"method": "POST", "url": "Observation"}},
            {"request": {"method": "DELETE", "url": f"Observation/{made[3]['id']}"}},
            {
                "resource": {"resourceType": "Observation"},
                "request": {"method": "POST", "url": "Observation"},
            },
        ],
    }
    assert (await client.post("", json=failing, headers=FHIR_JSON)).status_code == 400
    assert await _counted(client, "Observation") == 8  # rolled back, count included

    assert await _counted(client, "Patient") == 1
    assert await _stored(backend, "Observation") == 8


async def test_totals_stay_right_past_folding(client: httpx.AsyncClient, backend: Backend) -> None:
    """More changes than a reader lets pile up before it folds them (storage.counts)."""
    subject = f"Patient/{(await create(client, patient()))['id']}"
    made = [await create(client, observation(subject)) for _ in range(80)]
    assert await _counted(client, "Observation") == 80
    for item in made[:70]:
        await client.delete(f"Observation/{item['id']}")
    assert await _counted(client, "Observation") == 10
    assert await _counted(client, "Observation") == 10  # after the fold
    await create(client, observation(subject))
    assert await _counted(client, "Observation") == await _stored(backend, "Observation") == 11


async def test_criteria_and_compartments_are_counted(client: httpx.AsyncClient) -> None:
    """A search with criteria or in a compartment is not the whole type: counted in SQL."""
    first = (await create(client, patient()))["id"]
    second = (await create(client, patient()))["id"]
    for subject, n in ((first, 3), (second, 2)):
        for _ in range(n):
            await create(client, observation(f"Patient/{subject}"))
    by_patient = await client.get("Observation", params={"patient": first, "_summary": "count"})
    assert by_patient.json()["total"] == 3
    compartment = await client.get(f"Patient/{second}/Observation", params={"_summary": "count"})
    assert compartment.json()["total"] == 2
    assert await _counted(client, "Observation") == 5


async def test_estimated_totals(client: httpx.AsyncClient, backend: Backend) -> None:
    """`_total=estimate`: a whole type's kept count; with criteria, the planner's guess on
    PostgreSQL (after ANALYZE, of the right order) and the count on SQLite."""
    first = (await create(client, patient()))["id"]
    second = (await create(client, patient()))["id"]
    for subject, n in ((first, 30), (second, 3)):
        for _ in range(n):
            await create(client, observation(f"Patient/{subject}"))
    if backend.name == "postgresql":
        async with backend.database.engine.connect() as conn:
            await conn.execute(text("ANALYZE"))
    every = (await client.get("Observation", params={"_total": "estimate", "_count": "1"})).json()
    assert every["total"] == 33
    page = await client.get(
        "Observation", params={"patient": first, "_total": "estimate", "_count": "1"}
    )
    estimate = page.json()["total"]
    if backend.name == "postgresql":
        assert 3 <= estimate <= 33
    else:
        assert estimate == 30
    complete = await client.get("Observation", params={"patient": second, "_total": "estimate"})
    assert complete.json()["total"] == 3  # a first page that holds everything is exact


async def test_concurrent_readers_past_the_fold_agree(
    client: httpx.AsyncClient, backend: Backend
) -> None:
    """Readers that all find too many rows of changes at once, each on its own connection and
    each folding: every one of them reads the right total, and one row is left."""
    subject = f"Patient/{(await create(client, patient()))['id']}"
    for _ in range(75):
        await create(client, observation(subject))

    async def read() -> int:
        async with backend.database.read() as conn:
            return await live_count(conn, "Observation")

    assert await asyncio.gather(*(read() for _ in range(8))) == [75] * 8
    if backend.name == "postgresql":
        assert await _count_rows(backend, "Observation") == 1
    assert await _counted(client, "Observation") == await _stored(backend, "Observation") == 75


async def _count_rows(backend: Backend, res_type: str) -> int:
    """Rows of changes kept for `res_type` (PostgreSQL)."""
    async with backend.database.engine.connect() as conn:
        query = text("SELECT count(*) FROM resource_count WHERE res_type = :t")
        return int((await conn.execute(query, {"t": res_type})).scalar_one())
