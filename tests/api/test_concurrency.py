"""Concurrent writers (https://hl7.org/fhir/R4/http.html#concurrency): versions stay a gapless
chain, If-Match lets exactly one of two racing updates win, and parallel conditional creates
with the same criteria make exactly one resource (the race HAPI, Microsoft and IBM all shipped).
"""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy import text

from tests.conftest import Backend
from tests.helpers import FHIR_JSON, JP_OID, create, patient


async def test_two_updates_on_the_same_version_never_both_succeed(
    client: httpx.AsyncClient,
) -> None:
    created = await create(client, patient())
    pid = created["id"]
    for round_ in range(5):
        version = (await client.get(f"Patient/{pid}")).json()["meta"]["versionId"]
        headers = {**FHIR_JSON, "If-Match": f'W/"{version}"'}
        # Each body differs from every stored version: an unchanged body is no update at all.
        first = {**created, "gender": "female", "multipleBirthInteger": 2 * round_ + 1}
        second = {**created, "gender": "other", "multipleBirthInteger": 2 * round_ + 2}
        results = await asyncio.gather(
            client.put(f"Patient/{pid}", json=first, headers=headers),
            client.put(f"Patient/{pid}", json=second, headers=headers),
        )
        codes = sorted(r.status_code for r in results)
        assert codes == [200, 412], (round_, codes, [r.text for r in results])


async def test_twenty_concurrent_writers_keep_history_consistent(
    client: httpx.AsyncClient,
) -> None:
    created = await create(client, patient())
    pid = created["id"]
    results = await asyncio.gather(
        *(
            client.put(
                f"Patient/{pid}", json={**created, "multipleBirthInteger": n}, headers=FHIR_JSON
            )
            for n in range(20)
        )
    )
    assert all(r.status_code == 200 for r in results), [r.text for r in results if r.is_error]
    versions = sorted(int(r.json()["meta"]["versionId"]) for r in results)
    assert versions == list(range(2, 22))
    history = (await client.get(f"Patient/{pid}/_history", params={"_count": "50"})).json()
    etags = [e["response"]["etag"] for e in history["entry"]]
    assert etags == [f'W/"{v}"' for v in range(21, 0, -1)]
    stamps = [e["response"]["lastModified"] for e in history["entry"]]
    assert stamps == sorted(stamps, reverse=True)
    current = (await client.get(f"Patient/{pid}")).json()
    assert current["meta"]["versionId"] == "21"
    by_version = {int(r.json()["meta"]["versionId"]): r.json() for r in results}
    assert current["multipleBirthInteger"] == by_version[21]["multipleBirthInteger"]


async def test_twenty_parallel_conditional_creates_make_one(
    client: httpx.AsyncClient, backend: Backend
) -> None:
    headers = {**FHIR_JSON, "If-None-Exist": f"identifier={JP_OID}|RACE-1"}
    results = await asyncio.gather(
        *(client.post("Patient", json=patient(mrn="RACE-1"), headers=headers) for _ in range(20))
    )
    codes = sorted(r.status_code for r in results)
    assert codes == [200] * 19 + [201], [r.text for r in results if r.is_error]
    assert len({r.json()["id"] for r in results}) == 1
    async with backend.database.engine.connect() as conn:
        count = (
            await conn.execute(text("select count(*) from resource where res_type = 'Patient'"))
        ).scalar_one()
    assert count == 1


async def test_twenty_parallel_transactions_with_conditional_create_make_one(
    client: httpx.AsyncClient,
) -> None:
    tx = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:22222222-0000-0000-0000-000000000000",
                "resource": patient(mrn="RACE-2"),
                "request": {
                    "method": "POST",
                    "url": "Patient",
                    "ifNoneExist": f"identifier={JP_OID}|RACE-2",
                },
            }
        ],
    }
    results = await asyncio.gather(
        *(client.post("", json=tx, headers=FHIR_JSON) for _ in range(20))
    )
    assert all(r.status_code == 200 for r in results), [r.text for r in results if r.is_error]
    found = (await client.get("Patient", params={"identifier": "RACE-2"})).json()
    assert found["total"] == 1
