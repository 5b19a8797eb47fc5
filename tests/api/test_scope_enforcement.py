"""A valid token without the scope for an interaction gets 403, for every interaction, and
inside batch and transaction Bundles entry by entry
(https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html#scopes-for-requesting-clinical-data)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.conftest import Backend, serve
from tests.helpers import FHIR_JSON, observation, patient, put, registration, row_counts
from tests.tokens import auth

PATCH = {"Content-Type": "application/json-patch+json"}
STATUS_PATCH = [{"op": "replace", "path": "/status", "value": "amended"}]


@dataclass(frozen=True)
class Case:
    method: str
    url: str
    needs: str
    """The scope that allows it; the test also tries every other permission of the type."""
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    also: str = ""
    """Another scope it needs besides (a conditional write also searches)."""


def _obs(**extra: Any) -> dict[str, Any]:
    return {**observation("Patient/p1"), **extra}


CASES = {
    "create": Case("POST", "Observation", "system/Observation.c", _obs()),
    "read": Case("GET", "Observation/o1", "system/Observation.r"),
    "vread": Case("GET", "Observation/o1/_history/1", "system/Observation.r"),
    "instance history": Case("GET", "Observation/o1/_history", "system/Observation.r"),
    "update": Case("PUT", "Observation/o1", "system/Observation.u", _obs(id="o1")),
    "update as create": Case("PUT", "Observation/o9", "system/Observation.u", _obs(id="o9")),
    "patch": Case("PATCH", "Observation/o1", "system/Observation.u", STATUS_PATCH, PATCH),
    "delete": Case("DELETE", "Observation/o1", "system/Observation.d"),
    "search": Case("GET", "Observation?status=final", "system/Observation.s"),
    "search by POST": Case("POST", "Observation/_search", "system/Observation.s"),
    "type history": Case("GET", "Observation/_history", "system/Observation.s"),
    "compartment search": Case("GET", "Patient/p1/Observation", "system/Observation.s"),
    "system search with _type": Case("GET", "?_type=Observation", "system/Observation.s"),
    "system search": Case("GET", "?_id=o1", "system/*.s"),
    "system history": Case("GET", "_history", "system/*.s"),
    "conditional create": Case(
        "POST",
        "Observation",
        "system/Observation.c",
        _obs(),
        {"If-None-Exist": "status=final"},
        also="system/Observation.s",
    ),
    "conditional update": Case(
        "PUT",
        "Observation?_id=o1",
        "system/Observation.u",
        _obs(id="o1"),
        also="system/Observation.s",
    ),
    "conditional patch": Case(
        "PATCH",
        "Observation?_id=o1",
        "system/Observation.u",
        STATUS_PATCH,
        PATCH,
        also="system/Observation.s",
    ),
    "conditional delete": Case(
        "DELETE", "Observation?_id=o1", "system/Observation.d", also="system/Observation.s"
    ),
}


@pytest.fixture
async def stored(client: httpx.AsyncClient) -> None:
    """Patient p1, registered, with Observation o1, written with the admin token."""
    await put(client, {**patient(), "id": "p1"})
    await put(client, registration("p1"))
    await put(client, _obs(id="o1"))


async def _send(http: httpx.AsyncClient, case: Case, scope: str) -> httpx.Response:
    body = None if case.body is None else json.dumps(case.body)
    headers = {**FHIR_JSON, **case.headers, **auth("hospital", scope=scope)}
    return await http.request(case.method, case.url, content=body, headers=headers)


def _without(scope: str, permission: str) -> str:
    """`system/Observation.u` -> every other permission on the same type."""
    head, _, _ = scope.rpartition(".")
    return f"{head}.{''.join(p for p in 'cruds' if p != permission)}"


@pytest.mark.parametrize("name", list(CASES))
async def test_each_interaction_needs_its_permission(
    anonymous: httpx.AsyncClient, stored: None, name: str
) -> None:
    case = CASES[name]
    permission = case.needs.rpartition(".")[2]
    denied = " ".join(filter(None, [_without(case.needs, permission), case.also]))
    refused = await _send(anonymous, case, denied + " system/Patient.cruds")
    assert refused.status_code == 403, refused.text
    assert refused.json()["issue"][0]["code"] == "forbidden"
    if case.also:
        alone = await _send(anonymous, case, case.needs)
        assert alone.status_code == 403, alone.text
    allowed = await _send(anonymous, case, f"{case.needs} {case.also}")
    assert allowed.status_code < 400, allowed.text


async def test_a_token_with_no_clinical_scope_may_do_nothing(
    anonymous: httpx.AsyncClient, stored: None
) -> None:
    bare = auth("hospital", scope="openid fhirUser launch/patient")
    assert (await anonymous.get("Observation/o1", headers=bare)).status_code == 403
    assert (await anonymous.get("Observation", headers=bare)).status_code == 403
    assert (await anonymous.get("metadata", headers=bare)).status_code == 200


def _entry(method: str, url: str, resource: dict[str, Any] | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"request": {"method": method, "url": url}}
    if resource is not None:
        entry["resource"] = resource
    return entry


async def test_batch_entries_are_checked_one_by_one(
    anonymous: httpx.AsyncClient, stored: None, backend: Backend
) -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            _entry("GET", "Patient/p1"),
            _entry("POST", "Observation", _obs()),
            _entry("GET", "Observation/o1"),
            _entry("POST", "Patient", patient(mrn="777")),
            _entry("DELETE", "Observation/o1"),
        ],
    }
    headers = {**FHIR_JSON, **auth("clinic", scope="system/Patient.cr")}
    response = await anonymous.post("", json=bundle, headers=headers)
    assert response.status_code == 200, response.text
    statuses = [e["response"]["status"] for e in response.json()["entry"]]
    assert statuses == ["200 OK", "403 Forbidden", "403 Forbidden", "201 Created", "403 Forbidden"]
    outcome = response.json()["entry"][1]["response"]["outcome"]
    assert outcome["issue"][0]["code"] == "forbidden"
    admin = await anonymous.get("Observation", headers=auth())
    assert [e["resource"]["id"] for e in admin.json()["entry"]] == ["o1"]


@pytest.mark.parametrize(
    "forbidden",
    [
        _entry("POST", "Observation", _obs()),  # refused before any entry runs
        _entry("PUT", "Observation/o1", _obs(id="o1", status="amended")),  # after the POST ran
        _entry("GET", "Observation/o1"),  # the last to run
    ],
)
async def test_a_forbidden_transaction_entry_fails_the_whole_transaction(
    anonymous: httpx.AsyncClient, stored: None, backend: Backend, forbidden: dict[str, Any]
) -> None:
    before = await row_counts(backend.database)
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:0b7a1f0e-5f0e-4e8e-9c4b-1a1a1a1a1a1a",
                **_entry("POST", "Patient", patient(mrn="888")),
            },
            forbidden,
        ],
    }
    headers = {**FHIR_JSON, **auth("hospital", scope="system/Patient.cruds")}
    response = await anonymous.post("", json=bundle, headers=headers)
    assert response.status_code == 403, response.text
    assert "Bundle.entry[1]" in response.json()["issue"][0]["diagnostics"]
    assert await row_counts(backend.database) == before


async def test_a_conditional_reference_in_a_transaction_needs_search(
    anonymous: httpx.AsyncClient, stored: None
) -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            _entry(
                "POST",
                "Observation",
                {**_obs(), "subject": {"reference": "Patient?identifier=00012345"}},
            )
        ],
    }
    headers = {**FHIR_JSON, **auth("hospital", scope="system/Observation.c system/Patient.r")}
    assert (await anonymous.post("", json=bundle, headers=headers)).status_code == 403
    headers = {**FHIR_JSON, **auth("hospital", scope="system/Observation.c system/Patient.s")}
    response = await anonymous.post("", json=bundle, headers=headers)
    assert response.status_code == 200, response.text


async def test_v1_scopes_read_as_v2(anonymous: httpx.AsyncClient, stored: None) -> None:
    read = auth("clinic", scope="user/Observation.read")
    assert (await anonymous.get("Observation/o1", headers=read)).status_code == 200
    assert (await anonymous.get("Observation", headers=read)).status_code == 200
    write_headers = {**FHIR_JSON, **read}
    refused = await anonymous.post("Observation", json=_obs(), headers=write_headers)
    assert refused.status_code == 403
    write = {**FHIR_JSON, **auth("clinic", scope="user/*.write")}
    assert (await anonymous.post("Observation", json=_obs(), headers=write)).status_code == 201
    assert (await anonymous.get("Observation/o1", headers=write)).status_code == 403
    assert (await anonymous.delete("Observation/o1", headers=write)).status_code == 204
    everything = auth("clinic", scope="user/*.*")
    assert (await anonymous.get("Patient/p1", headers=everything)).status_code == 200


async def test_includes_show_only_types_the_token_reads(
    anonymous: httpx.AsyncClient, stored: None
) -> None:
    url = "Observation?_include=Observation:subject"
    only_observations = auth("hospital", scope="system/Observation.rs")
    kinds = await _kinds(anonymous, url, only_observations)
    assert kinds == {("Observation", "match")}
    both = auth("hospital", scope="system/Observation.rs system/Patient.r")
    assert await _kinds(anonymous, url, both) == {("Observation", "match"), ("Patient", "include")}


async def _kinds(
    http: httpx.AsyncClient, url: str, headers: dict[str, str]
) -> set[tuple[str, str]]:
    response = await http.get(url, headers=headers)
    assert response.status_code == 200, response.text
    return {(e["resource"]["resourceType"], e["search"]["mode"]) for e in response.json()["entry"]}


@pytest.fixture
async def reader(backend: Backend) -> AsyncIterator[httpx.AsyncClient]:
    async with serve(backend.settings, headers=None) as http:
        yield http


async def test_writes_a_token_may_do_without_reading(
    reader: httpx.AsyncClient, stored: None
) -> None:
    """A write-only scope updates and deletes what it cannot read."""
    headers = {**FHIR_JSON, **auth("hospital", scope="system/Observation.ud")}
    updated = await reader.put(
        "Observation/o1", json=_obs(id="o1", status="amended"), headers=headers
    )
    assert updated.status_code == 200, updated.text
    assert (await reader.get("Observation/o1", headers=headers)).status_code == 403
    assert (await reader.delete("Observation/o1", headers=headers)).status_code == 204
