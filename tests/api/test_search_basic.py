"""The search this foundation needs for conditional operations: `_id`, `_lastUpdated` and token
parameters such as `identifier` (https://hl7.org/fhir/R4/search.html), with stable paging."""

from __future__ import annotations

import httpx

from tests.helpers import FHIR_JSON, JP_OID, create, observation, patient


async def test_identifier_token_forms(client: httpx.AsyncClient) -> None:
    target = await create(client, patient(mrn="S-1"))
    await create(client, patient(mrn="S-2"))
    for value in (f"{JP_OID}|S-1", "S-1", f"{JP_OID}|S-1,nothing"):
        found = (await client.get("Patient", params={"identifier": value})).json()
        assert [e["resource"]["id"] for e in found["entry"]] == [target["id"]], value
    by_system = (await client.get("Patient", params={"identifier": f"{JP_OID}|"})).json()
    assert by_system["total"] == 2
    no_system = (await client.get("Patient", params={"identifier": "|S-1"})).json()
    assert no_system["total"] == 0
    both = (await client.get("Patient?identifier=S-1&identifier=S-2")).json()
    assert both["total"] == 0  # repetition is AND


async def test_id_and_last_updated(client: httpx.AsyncClient) -> None:
    first = await create(client, patient())
    second = await create(client, patient())
    by_id = (await client.get("Patient", params={"_id": f"{first['id']},{second['id']}"})).json()
    assert by_id["total"] == 2
    since = (
        await client.get("Patient", params={"_lastUpdated": f"ge{second['meta']['lastUpdated']}"})
    ).json()
    assert second["id"] in [e["resource"]["id"] for e in since["entry"]]
    future = (await client.get("Patient", params={"_lastUpdated": "gt2999"})).json()
    assert future["total"] == 0
    past = (await client.get("Patient", params={"_lastUpdated": "lt2000-01-01"})).json()
    assert past["total"] == 0
    assert (await client.get("Patient", params={"_lastUpdated": "ge-yesterday"})).status_code == 400


async def test_token_search_on_other_types(client: httpx.AsyncClient) -> None:
    subject = await create(client, patient())
    await create(client, observation(f"Patient/{subject['id']}"))
    found = (
        await client.get(
            "Observation", params={"code": "urn:oid:1.2.392.200119.4.504|3D046000001920402"}
        )
    ).json()
    assert found["total"] == 1
    assert found["entry"][0]["search"]["mode"] == "match"
    assert found["entry"][0]["fullUrl"].endswith(found["entry"][0]["resource"]["id"])


async def test_paging_is_stable_under_writes(client: httpx.AsyncClient) -> None:
    ids = [(await create(client, patient(mrn=f"PG-{n}")))["id"] for n in range(7)]
    seen: list[str] = []
    url: str | None = "Patient?_count=3"
    while url is not None:
        page = (await client.get(url)).json()
        seen.extend(e["resource"]["id"] for e in page.get("entry", []))
        url = next((link["url"] for link in page["link"] if link["relation"] == "next"), None)
        await create(client, {**patient(), "gender": "female"})  # writes between pages
        if len(seen) >= 30:
            break
    assert seen[:7] == ids
    accurate = (await client.get("Patient", params={"_count": "2", "_total": "accurate"})).json()
    assert accurate["total"] >= 7
    assert len(accurate["entry"]) == 2
    assert (await client.get("Patient", params={"_cursor": "zz"})).status_code == 400


async def test_unknown_parameters_ignored_or_strict(client: httpx.AsyncClient) -> None:
    lenient = (await client.get("Patient", params={"shoe-size": "42"})).json()
    outcomes = [e for e in lenient["entry"] if e["search"]["mode"] == "outcome"]
    assert outcomes
    assert "shoe-size" in outcomes[0]["resource"]["issue"][0]["diagnostics"]
    strict = await client.get(
        "Patient", params={"shoe-size": "42"}, headers={"Prefer": "handling=strict"}
    )
    assert strict.status_code == 400


async def test_post_search_form(client: httpx.AsyncClient) -> None:
    target = await create(client, patient(mrn="F-1"))
    response = await client.post("Patient/_search", data={"identifier": "F-1"})
    assert response.status_code == 200
    assert [e["resource"]["id"] for e in response.json()["entry"]] == [target["id"]]
    wrong = await client.post("Patient", data={"identifier": "F-1"})
    assert wrong.status_code == 415
    assert (await client.post("Patient", json=patient(), headers=FHIR_JSON)).status_code == 201
