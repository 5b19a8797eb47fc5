"""JSON Patch (https://hl7.org/fhir/R4/http.html#patch, RFC 6902)."""

from __future__ import annotations

import httpx

from tests.helpers import JP_OID, create, patient

PATCH = {"Content-Type": "application/json-patch+json"}


async def test_json_patch_makes_a_new_version(client: httpx.AsyncClient) -> None:
    created = await create(client, patient())
    ops = [
        {"op": "replace", "path": "/gender", "value": "female"},
        {"op": "add", "path": "/active", "value": True},
    ]
    response = await client.patch(f"Patient/{created['id']}", json=ops, headers=PATCH)
    assert response.status_code == 200
    body = response.json()
    assert body["gender"] == "female"
    assert body["active"] is True
    assert body["meta"]["versionId"] == "2"


async def test_json_patch_errors(client: httpx.AsyncClient) -> None:
    created = await create(client, patient())
    url = f"Patient/{created['id']}"
    failed_test = [{"op": "test", "path": "/gender", "value": "female"}]
    assert (await client.patch(url, json=failed_test, headers=PATCH)).status_code == 422
    not_ops = {"op": "replace"}
    assert (await client.patch(url, json=not_ops, headers=PATCH)).status_code == 400
    bad_op = [{"op": "frobnicate", "path": "/gender"}]
    assert (await client.patch(url, json=bad_op, headers=PATCH)).status_code == 400
    change_id = [{"op": "replace", "path": "/id", "value": "other"}]
    assert (await client.patch(url, json=change_id, headers=PATCH)).status_code == 422
    invalid = [{"op": "replace", "path": "/birthDate", "value": "soon"}]
    assert (await client.patch(url, json=invalid, headers=PATCH)).status_code in (400, 422)
    assert (await client.get(url)).json()["meta"]["versionId"] == "1"
    stale = await client.patch(
        url,
        json=[{"op": "add", "path": "/active", "value": True}],
        headers={**PATCH, "If-Match": 'W/"9"'},
    )
    assert stale.status_code == 412
    missing = await client.patch("Patient/nobody", json=[], headers=PATCH)
    assert missing.status_code == 404


async def test_conditional_patch(client: httpx.AsyncClient) -> None:
    await create(client, patient(mrn="P-1"))
    ops = [{"op": "replace", "path": "/gender", "value": "other"}]
    response = await client.patch(
        "Patient", params={"identifier": f"{JP_OID}|P-1"}, json=ops, headers=PATCH
    )
    assert response.status_code == 200
    assert response.json()["gender"] == "other"
