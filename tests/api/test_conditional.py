"""Conditional create, update, delete and patch
(https://hl7.org/fhir/R4/http.html#ccreate, #cond-update, #cdelete)."""

from __future__ import annotations

import httpx

from tests.helpers import FHIR_JSON, JP_OID, create, patient


async def test_conditional_create(client: httpx.AsyncClient) -> None:
    criteria = {"If-None-Exist": f"identifier={JP_OID}|C-1"}
    first = await client.post("Patient", json=patient(mrn="C-1"), headers={**FHIR_JSON, **criteria})
    assert first.status_code == 201
    second = await client.post(
        "Patient", json=patient(mrn="C-1"), headers={**FHIR_JSON, **criteria}
    )
    assert second.status_code == 200
    assert second.json()["id"] == first.json()["id"]
    await create(client, patient(mrn="C-1"))
    several = await client.post(
        "Patient", json=patient(mrn="C-1"), headers={**FHIR_JSON, **criteria}
    )
    assert several.status_code == 412


async def test_conditional_criteria_must_be_understood(client: httpx.AsyncClient) -> None:
    unknown = await client.post(
        "Patient", json=patient(), headers={**FHIR_JSON, "If-None-Exist": "favourite=blue"}
    )
    assert unknown.status_code == 400
    empty = await client.post(
        "Patient", json=patient(), headers={**FHIR_JSON, "If-None-Exist": "_count=1"}
    )
    assert empty.status_code == 400


async def test_conditional_update(client: httpx.AsyncClient) -> None:
    url = f"Patient?identifier={JP_OID}|U-1"
    created = await client.put(url, json=patient(mrn="U-1"), headers=FHIR_JSON)
    assert created.status_code == 201
    pid = created.json()["id"]
    updated = await client.put(
        url, json={**patient(mrn="U-1"), "gender": "female"}, headers=FHIR_JSON
    )
    assert updated.status_code == 200
    assert updated.json()["id"] == pid
    assert updated.json()["meta"]["versionId"] == "2"
    wrong_id = await client.put(url, json={**patient(mrn="U-1"), "id": "other"}, headers=FHIR_JSON)
    assert wrong_id.status_code == 400
    await create(client, patient(mrn="U-1"))
    several = await client.put(url, json=patient(mrn="U-1"), headers=FHIR_JSON)
    assert several.status_code == 412


async def test_conditional_delete(client: httpx.AsyncClient) -> None:
    created = await create(client, patient(mrn="D-1"))
    response = await client.delete("Patient", params={"identifier": f"{JP_OID}|D-1"})
    assert response.status_code == 204
    assert (await client.get(f"Patient/{created['id']}")).status_code == 410
    none_left = await client.delete("Patient", params={"identifier": f"{JP_OID}|D-1"})
    assert none_left.status_code == 204
    await create(client, patient(mrn="D-2"))
    await create(client, patient(mrn="D-2"))
    several = await client.delete("Patient", params={"identifier": "D-2"})
    assert several.status_code == 412
    no_criteria = await client.delete("Patient")
    assert no_criteria.status_code == 405
