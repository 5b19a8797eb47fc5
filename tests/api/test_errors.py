"""Bad input gets a clear OperationOutcome and a 4xx, never a 500, and never a partial write
(https://hl7.org/fhir/R4/http.html#2.21.0.8)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.conftest import Backend, serve
from tests.helpers import FHIR_JSON, outcome_text, patient, row_counts


async def test_malformed_json_is_400(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "Patient", content=b'{"resourceType": "Patient",', headers=FHIR_JSON
    )
    assert response.status_code == 400
    assert "Malformed JSON" in outcome_text(response)


async def test_invalid_resource_names_the_element(
    client: httpx.AsyncClient, backend: Backend
) -> None:
    before = await row_counts(backend.database)
    bad = {**patient(), "birthDate": "not-a-date"}
    response = await client.post("Patient", json=bad, headers=FHIR_JSON)
    assert response.status_code in (400, 422)
    expressions = [e for i in response.json()["issue"] for e in i.get("expression", [])]
    assert any("birthDate" in e for e in expressions), response.text
    assert await row_counts(backend.database) == before


async def test_unknown_element_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "Patient", json={**patient(), "favouriteColour": "blue"}, headers=FHIR_JSON
    )
    assert response.status_code in (400, 422)


async def test_type_mismatch_between_url_and_body(client: httpx.AsyncClient) -> None:
    response = await client.post("Observation", json=patient(), headers=FHIR_JSON)
    assert response.status_code == 400
    not_object = await client.post("Patient", json=[1, 2], headers=FHIR_JSON)
    assert not_object.status_code == 400


async def test_xml_asked_for_is_406_and_xml_sent_is_415(client: httpx.AsyncClient) -> None:
    asked = await client.get("metadata", headers={"Accept": "application/fhir+xml"})
    assert asked.status_code == 406
    assert asked.json()["resourceType"] == "OperationOutcome"
    by_format = await client.get("metadata", params={"_format": "xml"})
    assert by_format.status_code == 406
    sent = await client.post(
        "Patient", content=b"<Patient/>", headers={"Content-Type": "application/fhir+xml"}
    )
    assert sent.status_code == 415
    browser = await client.get("metadata", headers={"Accept": "text/html,*/*;q=0.8"})
    assert browser.status_code == 200


async def test_missing_body_is_400(client: httpx.AsyncClient) -> None:
    response = await client.post("Patient", content=b"", headers=FHIR_JSON)
    assert response.status_code == 400


async def test_method_not_allowed_and_unknown_paths(client: httpx.AsyncClient) -> None:
    assert (await client.post("Patient/1", json=patient(), headers=FHIR_JSON)).status_code == 405
    assert (await client.get("Patient/1/_history/1/extra")).status_code == 404
    assert (await client.get("$everything")).status_code == 404


@pytest.fixture
async def small_client(backend: Backend) -> AsyncIterator[httpx.AsyncClient]:
    """A server with tight bounds, to show each bound answers 4xx."""
    settings = backend.settings.model_copy(
        update={
            "max_body_bytes": 4096,
            "max_json_depth": 10,
            "max_string_length": 1024,
            "max_bundle_entries": 3,
            "max_count": 5,
        }
    )
    async with serve(settings) as http:
        yield http


async def test_bounds_are_4xx(small_client: httpx.AsyncClient, backend: Backend) -> None:
    before = await row_counts(backend.database)
    big = {**patient(), "text": {"status": "generated", "div": "<div>" + "x" * 5000 + "</div>"}}
    assert (await small_client.post("Patient", json=big, headers=FHIR_JSON)).status_code == 413
    long_string = {**patient(), "gender": "x" * 2000}
    assert (
        await small_client.post("Patient", json=long_string, headers=FHIR_JSON)
    ).status_code == 413
    deep: dict[str, object] = {"url": "http://x"}
    for _ in range(20):
        deep = {"url": "http://x", "extension": [deep]}
    nested = {**patient(), "extension": [deep]}
    assert (await small_client.post("Patient", json=nested, headers=FHIR_JSON)).status_code == 413
    bundle = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [{"request": {"method": "GET", "url": "metadata"}} for _ in range(4)],
    }
    assert (await small_client.post("", json=bundle, headers=FHIR_JSON)).status_code == 400
    assert await row_counts(backend.database) == before
    page = await small_client.get("Patient", params={"_count": "500"})
    assert page.status_code == 200
    assert (await small_client.get("Patient", params={"_count": "many"})).status_code == 400


async def test_huge_number_and_bad_unicode_are_400(client: httpx.AsyncClient) -> None:
    huge = b'{"resourceType":"Patient","multipleBirthInteger":1e400}'
    assert (await client.post("Patient", content=huge, headers=FHIR_JSON)).status_code == 400
    lone = b'{"resourceType":"Patient","gender":"\\ud800"}'
    assert (await client.post("Patient", content=lone, headers=FHIR_JSON)).status_code == 400
    too_big_int = b'{"resourceType":"Patient","multipleBirthInteger":99999999999}'
    assert (await client.post("Patient", content=too_big_int, headers=FHIR_JSON)).status_code in (
        400,
        422,
    )
