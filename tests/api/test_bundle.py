"""batch and transaction Bundles (https://hl7.org/fhir/R4/http.html#transaction)."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx

from tests.conftest import Backend
from tests.helpers import FHIR_JSON, JP_OID, create, observation, patient, row_counts


def entry(
    resource: dict[str, Any] | None,
    method: str,
    url: str,
    full_url: str | None = None,
    **request: str,
) -> dict[str, Any]:
    item: dict[str, Any] = {"request": {"method": method, "url": url, **request}}
    if resource is not None:
        item["resource"] = resource
    if full_url:
        item["fullUrl"] = full_url
    return item


def bundle(kind: str, *entries: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": kind, "entry": list(entries)}


async def test_transaction_resolves_urn_uuid_references(client: httpx.AsyncClient) -> None:
    pat = "urn:uuid:0b6e7f4c-52a1-4c2f-9b9e-1f1a1b1c1d1e"
    tx = bundle(
        "transaction",
        entry(
            observation(pat), "POST", "Observation", "urn:uuid:aaaaaaaa-0000-0000-0000-000000000001"
        ),
        entry(patient(mrn="TX-1"), "POST", "Patient", pat),
    )
    response = await client.post("", json=tx, headers=FHIR_JSON)
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["type"] == "transaction-response"
    statuses = [e["response"]["status"] for e in result["entry"]]
    assert statuses == ["201 Created", "201 Created"]
    patient_location = result["entry"][1]["response"]["location"]
    pid = patient_location.split("/")[-3]
    obs_id = result["entry"][0]["response"]["location"].split("/")[-3]
    obs = (await client.get(f"Observation/{obs_id}")).json()
    assert obs["subject"]["reference"] == f"Patient/{pid}"


async def test_transaction_is_atomic(client: httpx.AsyncClient, backend: Backend) -> None:
    before = await row_counts(backend.database)
    tx = bundle(
        "transaction",
        entry(patient(mrn="ATOM-1"), "POST", "Patient"),
        entry({**patient(), "birthDate": "someday"}, "POST", "Patient"),
    )
    response = await client.post("", json=tx, headers=FHIR_JSON)
    assert response.status_code in (400, 422)
    issue = response.json()["issue"][0]
    assert "Bundle.entry[1]" in issue["expression"]
    assert await row_counts(backend.database) == before


async def test_transaction_unknown_placeholder_fails(client: httpx.AsyncClient) -> None:
    tx = bundle(
        "transaction",
        entry(observation("urn:uuid:99999999-0000-0000-0000-000000000000"), "POST", "Observation"),
    )
    response = await client.post("", json=tx, headers=FHIR_JSON)
    assert response.status_code == 400


async def test_transaction_conditional_reference_and_if_none_exist(
    client: httpx.AsyncClient,
) -> None:
    existing = await create(client, patient(mrn="TX-2"))
    tx = bundle(
        "transaction",
        entry(
            patient(mrn="TX-2"),
            "POST",
            "Patient",
            "urn:uuid:11111111-0000-0000-0000-000000000000",
            ifNoneExist=f"identifier={JP_OID}|TX-2",
        ),
        entry(observation("urn:uuid:11111111-0000-0000-0000-000000000000"), "POST", "Observation"),
        entry(observation(f"Patient?identifier={JP_OID}|TX-2"), "POST", "Observation"),
    )
    result = (await client.post("", json=tx, headers=FHIR_JSON)).json()
    assert [e["response"]["status"] for e in result["entry"]] == [
        "200 OK",
        "201 Created",
        "201 Created",
    ]
    search = (await client.get("Patient", params={"identifier": "TX-2"})).json()
    assert search["total"] == 1
    for e in result["entry"][1:]:
        obs_id = e["response"]["location"].split("/")[-3]
        obs = (await client.get(f"Observation/{obs_id}")).json()
        assert obs["subject"]["reference"] == f"Patient/{existing['id']}"


async def test_transaction_conditional_reference_must_match_one(
    client: httpx.AsyncClient, backend: Backend
) -> None:
    before = await row_counts(backend.database)
    tx = bundle(
        "transaction",
        entry(observation(f"Patient?identifier={JP_OID}|NOBODY"), "POST", "Observation"),
    )
    response = await client.post("", json=tx, headers=FHIR_JSON)
    assert response.status_code == 412
    assert await row_counts(backend.database) == before


async def test_transaction_processing_order(client: httpx.AsyncClient) -> None:
    doomed = await create(client, patient(mrn="ORDER-0"))
    kept = await create(client, patient(mrn="ORDER-1"))
    tx = bundle(
        "transaction",
        entry(None, "GET", f"Patient/{kept['id']}"),
        entry({**kept, "gender": "female"}, "PUT", f"Patient/{kept['id']}"),
        entry(patient(mrn="ORDER-2"), "POST", "Patient"),
        entry(None, "DELETE", f"Patient/{doomed['id']}"),
    )
    result = (await client.post("", json=tx, headers=FHIR_JSON)).json()
    statuses = [e["response"]["status"] for e in result["entry"]]
    assert statuses == ["200 OK", "200 OK", "201 Created", "204 No Content"]
    # GET runs last, so it sees the PUT of the same transaction.
    assert result["entry"][0]["resource"]["gender"] == "female"
    assert (await client.get(f"Patient/{doomed['id']}")).status_code == 410


async def test_transaction_conditional_put_and_patch(client: httpx.AsyncClient) -> None:
    target = await create(client, patient(mrn="TX-PATCH"))
    ops = [{"op": "replace", "path": "/gender", "value": "other"}]
    binary = {
        "resourceType": "Binary",
        "contentType": "application/json-patch+json",
        "data": base64.b64encode(json.dumps(ops).encode()).decode(),
    }
    tx = bundle(
        "transaction",
        entry(binary, "PATCH", f"Patient/{target['id']}"),
        entry(patient(mrn="TX-PUT"), "PUT", f"Patient?identifier={JP_OID}|TX-PUT"),
    )
    result = await client.post("", json=tx, headers=FHIR_JSON)
    assert result.status_code == 200, result.text
    assert (await client.get(f"Patient/{target['id']}")).json()["gender"] == "other"
    found = (await client.get("Patient", params={"identifier": "TX-PUT"})).json()
    assert found["total"] == 1


async def test_batch_entries_stand_alone(client: httpx.AsyncClient) -> None:
    batch = bundle(
        "batch",
        entry(patient(mrn="B-1"), "POST", "Patient"),
        entry({**patient(), "birthDate": "never"}, "POST", "Patient"),
        entry(None, "GET", "Patient/nope"),
        entry(patient(mrn="B-2"), "POST", "Patient"),
    )
    response = await client.post("", json=batch, headers=FHIR_JSON)
    assert response.status_code == 200
    result = response.json()
    assert result["type"] == "batch-response"
    statuses = [e["response"]["status"][:3] for e in result["entry"]]
    assert statuses[0] == "201"
    assert statuses[3] == "201"
    assert statuses[1] in ("400", "422")
    assert statuses[2] == "404"
    assert result["entry"][1]["response"]["outcome"]["resourceType"] == "OperationOutcome"
    found = (await client.get("Patient", params={"identifier": "B-1,B-2"})).json()
    assert found["total"] == 2


async def test_bundle_shape_errors(client: httpx.AsyncClient) -> None:
    not_bundle = await client.post("", json=patient(), headers=FHIR_JSON)
    assert not_bundle.status_code == 400
    wrong_type = await client.post("", json=bundle("collection"), headers=FHIR_JSON)
    assert wrong_type.status_code == 400
    no_request = await client.post(
        "", json=bundle("transaction", {"resource": patient()}), headers=FHIR_JSON
    )
    assert no_request.status_code == 400
    assert (await client.post("", json=bundle("transaction"), headers=FHIR_JSON)).status_code == 200
