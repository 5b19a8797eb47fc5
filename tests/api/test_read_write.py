"""create, read, vread, update, update-as-create and delete over HTTP
(https://hl7.org/fhir/R4/http.html), on SQLite and PostgreSQL."""

from __future__ import annotations

import httpx

from tests.conftest import BASE
from tests.helpers import FHIR_JSON, create, observation, patient


async def test_create_assigns_id_and_meta_and_headers(client: httpx.AsyncClient) -> None:
    sent = patient()
    sent["id"] = "client-chosen"
    response = await client.post("Patient", json=sent, headers=FHIR_JSON)
    assert response.status_code == 201
    body = response.json()
    assert body["id"] != "client-chosen"  # the server assigns ids on create
    assert body["meta"]["versionId"] == "1"
    assert body["meta"]["lastUpdated"].endswith("Z")
    assert response.headers["ETag"] == 'W/"1"'
    assert response.headers["Location"] == f"{BASE}/Patient/{body['id']}/_history/1"
    assert "GMT" in response.headers["Last-Modified"]
    assert response.headers["Content-Type"].startswith("application/fhir+json")
    assert body["name"][1]["family"] == "ヤマダ"


async def test_read_returns_what_was_stored(client: httpx.AsyncClient) -> None:
    created = await create(client, patient())
    response = await client.get(f"Patient/{created['id']}")
    assert response.status_code == 200
    assert response.json() == created
    assert response.headers["ETag"] == 'W/"1"'


async def test_read_unknown_id_and_type_are_404(client: httpx.AsyncClient) -> None:
    missing = await client.get("Patient/does-not-exist")
    assert missing.status_code == 404
    assert missing.json()["issue"][0]["code"] == "not-found"
    unknown = await client.get("Spaceship/1")
    assert unknown.status_code == 404


async def test_update_creates_versions_and_vread_reads_each(client: httpx.AsyncClient) -> None:
    created = await create(client, patient())
    pid = created["id"]
    changed = {**created, "gender": "female"}
    response = await client.put(f"Patient/{pid}", json=changed, headers=FHIR_JSON)
    assert response.status_code == 200
    assert response.json()["meta"]["versionId"] == "2"
    assert response.headers["ETag"] == 'W/"2"'
    v1 = await client.get(f"Patient/{pid}/_history/1")
    v2 = await client.get(f"Patient/{pid}/_history/2")
    assert v1.json()["gender"] == "male"
    assert v2.json()["gender"] == "female"
    assert (await client.get(f"Patient/{pid}/_history/3")).status_code == 404
    assert (await client.get(f"Patient/{pid}/_history/x")).status_code == 404


async def test_update_as_create_with_client_id(client: httpx.AsyncClient) -> None:
    response = await client.put(
        "Patient/kitakyushu-1", json={**patient(), "id": "kitakyushu-1"}, headers=FHIR_JSON
    )
    assert response.status_code == 201
    assert response.json()["meta"]["versionId"] == "1"
    assert (await client.get("Patient/kitakyushu-1")).status_code == 200


async def test_update_id_must_match_url(client: httpx.AsyncClient) -> None:
    response = await client.put("Patient/a", json={**patient(), "id": "b"}, headers=FHIR_JSON)
    assert response.status_code == 400
    no_id = await client.put("Patient/a", json=patient(), headers=FHIR_JSON)
    assert no_id.status_code == 400


async def test_if_match_guards_updates(client: httpx.AsyncClient) -> None:
    created = await create(client, patient())
    pid = created["id"]
    changed = {**created, "gender": "female"}
    ok = await client.put(
        f"Patient/{pid}", json=changed, headers={**FHIR_JSON, "If-Match": 'W/"1"'}
    )
    assert ok.status_code == 200
    assert ok.json()["meta"]["versionId"] == "2"
    stale = await client.put(
        f"Patient/{pid}",
        json={**changed, "gender": "other"},
        headers={**FHIR_JSON, "If-Match": 'W/"1"'},
    )
    assert stale.status_code == 412
    assert stale.json()["resourceType"] == "OperationOutcome"
    garbage = await client.put(
        f"Patient/{pid}", json=created, headers={**FHIR_JSON, "If-Match": "yesterday"}
    )
    assert garbage.status_code == 400


async def test_delete_is_a_versioned_tombstone(client: httpx.AsyncClient) -> None:
    created = await create(client, patient())
    pid = created["id"]
    deleted = await client.delete(f"Patient/{pid}")
    assert deleted.status_code == 204
    assert deleted.headers["ETag"] == 'W/"2"'
    gone = await client.get(f"Patient/{pid}")
    assert gone.status_code == 410
    assert (await client.get(f"Patient/{pid}/_history/1")).status_code == 200
    assert (await client.get(f"Patient/{pid}/_history/2")).status_code == 410
    again = await client.delete(f"Patient/{pid}")
    assert again.status_code == 204  # delete is idempotent
    assert (await client.delete("Patient/never-was")).status_code == 204
    revived = await client.put(f"Patient/{pid}", json=created, headers=FHIR_JSON)
    assert revived.status_code == 201
    assert revived.json()["meta"]["versionId"] == "3"


async def test_deleted_resource_is_not_found_by_search(client: httpx.AsyncClient) -> None:
    created = await create(client, patient(mrn="DEL-1"))
    await client.delete(f"Patient/{created['id']}")
    found = await client.get("Patient", params={"identifier": "DEL-1"})
    assert found.json()["total"] == 0


async def test_prefer_return(client: httpx.AsyncClient) -> None:
    minimal = await client.post(
        "Patient", json=patient(), headers={**FHIR_JSON, "Prefer": "return=minimal"}
    )
    assert minimal.status_code == 201
    assert minimal.content == b""
    assert minimal.headers["Location"]
    outcome = await client.post(
        "Patient", json=patient(), headers={**FHIR_JSON, "Prefer": "return=OperationOutcome"}
    )
    assert outcome.status_code == 201
    assert outcome.json()["resourceType"] == "OperationOutcome"
    full = await client.post(
        "Patient", json=patient(), headers={**FHIR_JSON, "Prefer": "return=representation"}
    )
    assert full.json()["resourceType"] == "Patient"


async def test_if_none_match_on_read_answers_304(client: httpx.AsyncClient) -> None:
    created = await create(client, patient())
    response = await client.get(f"Patient/{created['id']}", headers={"If-None-Match": 'W/"1"'})
    assert response.status_code == 304


async def test_head_has_headers_and_no_body(client: httpx.AsyncClient) -> None:
    created = await create(client, patient())
    response = await client.head(f"Patient/{created['id']}")
    assert response.status_code == 200
    assert response.headers["ETag"] == 'W/"1"'
    assert response.content == b""


async def test_japanese_text_is_stored_as_sent(client: httpx.AsyncClient) -> None:
    created = await create(client, patient(family="髙橋", kana="ﾀｶﾊｼ"))
    again = (await client.get(f"Patient/{created['id']}")).json()
    assert again["name"][0]["family"] == "髙橋"
    assert again["name"][1]["family"] == "ﾀｶﾊｼ"


async def test_patient_compartment_owner_is_recorded(
    client: httpx.AsyncClient, backend: object
) -> None:
    from sqlalchemy import select

    from tests.conftest import Backend
    from tobiume.storage.tables import resource

    assert isinstance(backend, Backend)
    subject = await create(client, patient())
    obs = await create(client, observation(f"Patient/{subject['id']}"))
    async with backend.database.engine.connect() as conn:
        owners = dict((await conn.execute(select(resource.c.res_id, resource.c.patient_id))).all())
    assert owners[obs["id"]] == subject["id"]
    assert owners[subject["id"]] == subject["id"]
