"""The CapabilityStatement, the OpenAPI document and the probes."""

from __future__ import annotations

import json

import httpx

from tests.conftest import ROOT
from tobiume.api.openapi import openapi_document
from tobiume.fhir.resource_types import RESOURCE_TYPES
from tobiume.fhir.searchparams import registry
from tobiume.indexing.composite import components


async def test_capability_statement_lists_every_type(client: httpx.AsyncClient) -> None:
    response = await client.get("metadata")
    assert response.status_code == 200
    statement = response.json()
    assert statement["resourceType"] == "CapabilityStatement"
    assert statement["fhirVersion"] == "4.0.1"
    rest = statement["rest"][0]
    types = {r["type"] for r in rest["resource"]}
    assert types == set(RESOURCE_TYPES)
    patient = next(r for r in rest["resource"] if r["type"] == "Patient")
    interactions = {i["code"] for i in patient["interaction"]}
    assert {
        "read",
        "vread",
        "update",
        "patch",
        "delete",
        "create",
        "search-type",
        "history-instance",
        "history-type",
    } <= interactions
    params = {p["name"]: p["type"] for p in patient["searchParam"]}
    assert params["identifier"] == "token"
    assert params["_id"] == "token"
    assert params["_lastUpdated"] == "date"
    system = {i["code"] for i in rest["interaction"]}
    assert system == {"transaction", "batch", "history-system", "search-system"}


SAMPLE_VALUES = {
    "string": "x",
    "token": "x",
    "reference": "x",
    "date": "ge2024",
    "number": "1",
    "quantity": "1",
    "uri": "http://example.org/x",
}
"""A valid value of each type the statement may advertise (a type missing here fails)."""

COMPONENT_VALUES = {**SAMPLE_VALUES, "reference": "Patient/x"}


def _sample(res_type: str, name: str, kind: str) -> str:
    """A valid value of the parameter: a composite's is its components' samples joined by $."""
    if kind != "composite":
        return SAMPLE_VALUES[kind]
    param = registry().get(res_type, name)
    assert param is not None
    parts = components(param)
    assert parts is not None, name
    return "$".join(COMPONENT_VALUES[part.type] for part in parts)


async def test_searchparams_in_statement_are_searchable(client: httpx.AsyncClient) -> None:
    statement = (await client.get("metadata")).json()
    for res in statement["rest"][0]["resource"]:
        if res["type"] not in ("Patient", "Observation", "Encounter", "Group", "DocumentReference"):
            continue
        for param in res["searchParam"]:
            value = _sample(res["type"], param["name"], param["type"])
            response = await client.get(res["type"], params={param["name"]: value})
            assert response.status_code == 200, (res["type"], param["name"], response.text)


async def test_openapi_is_served_and_the_committed_file_is_current(
    client: httpx.AsyncClient,
) -> None:
    served = await client.get("http://test/openapi.json")
    assert served.status_code == 200
    document = served.json()
    assert "/fhir/Patient/{id}" in document["paths"]
    assert set(document["paths"]["/fhir/Patient/{id}"]) == {"get", "put", "patch", "delete"}
    committed = json.loads((ROOT / "openapi" / "openapi.json").read_text())
    assert committed == openapi_document(), "openapi/openapi.json is stale: run `make openapi`"
    docs = await client.get("http://test/docs")
    assert docs.status_code == 200


async def test_probes(client: httpx.AsyncClient) -> None:
    assert (await client.get("http://test/healthz")).json() == {"status": "ok"}
    assert (await client.get("http://test/readyz")).json() == {"status": "ok"}
