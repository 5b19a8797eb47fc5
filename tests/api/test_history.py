"""history at instance, type and system level (https://hl7.org/fhir/R4/http.html#history)."""

from __future__ import annotations

import httpx

from tests.helpers import FHIR_JSON, create, observation, patient


async def test_instance_history_newest_first_with_delete(client: httpx.AsyncClient) -> None:
    created = await create(client, patient())
    pid = created["id"]
    await client.put(f"Patient/{pid}", json={**created, "gender": "female"}, headers=FHIR_JSON)
    await client.delete(f"Patient/{pid}")
    bundle = (await client.get(f"Patient/{pid}/_history")).json()
    assert bundle["type"] == "history"
    assert bundle["total"] == 3
    entries = bundle["entry"]
    assert [e["response"]["etag"] for e in entries] == ['W/"3"', 'W/"2"', 'W/"1"']
    assert [e["request"]["method"] for e in entries] == ["DELETE", "PUT", "POST"]
    assert "resource" not in entries[0]
    assert entries[1]["resource"]["gender"] == "female"
    assert entries[2]["request"]["url"] == "Patient"


async def test_history_of_unknown_resource_is_404(client: httpx.AsyncClient) -> None:
    assert (await client.get("Patient/nobody/_history")).status_code == 404


async def test_type_and_system_history_and_since(client: httpx.AsyncClient) -> None:
    first = await create(client, patient())
    await create(client, observation(f"Patient/{first['id']}"))
    type_history = (await client.get("Patient/_history")).json()
    assert {e["resource"]["resourceType"] for e in type_history["entry"]} == {"Patient"}
    system = (await client.get("_history")).json()
    assert len(system["entry"]) == 2
    since = first["meta"]["lastUpdated"]
    later = (await client.get("_history", params={"_since": "2999-01-01T00:00:00Z"})).json()
    assert later.get("entry", []) == []
    from_first = (await client.get("_history", params={"_since": since})).json()
    assert len(from_first["entry"]) == 2
    bad = await client.get("_history", params={"_since": "last tuesday"})
    assert bad.status_code == 400


async def test_history_pages_with_next_links(client: httpx.AsyncClient) -> None:
    created = await create(client, patient())
    pid = created["id"]
    for gender in ("female", "other", "unknown", "male"):
        await client.put(f"Patient/{pid}", json={**created, "gender": gender}, headers=FHIR_JSON)
    seen: list[str] = []
    url: str | None = f"Patient/{pid}/_history?_count=2"
    while url is not None:
        page = (await client.get(url)).json()
        seen.extend(e["response"]["etag"] for e in page["entry"])
        url = next((link["url"] for link in page["link"] if link["relation"] == "next"), None)
        if len(seen) == 2:  # a write between pages must not shift the pages
            await client.put(
                f"Patient/{pid}", json={**created, "gender": "female"}, headers=FHIR_JSON
            )
    assert seen == [f'W/"{v}"' for v in range(5, 0, -1)]
