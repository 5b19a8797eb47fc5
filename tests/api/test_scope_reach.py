"""What a granted scope reaches: a constraint (`Observation.rs?category=laboratory`) and a
`patient/` scope narrow reads, searches, includes and writes to the resources they name,
in SQL (`access.scoped`); the rest are answered as if they did not exist."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import Backend
from tests.helpers import FHIR_JSON, observation, patient, put, registration, row_counts
from tests.tokens import auth

CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
LAB = f"system/Observation.rs?category={CATEGORY}|laboratory"


def _observation(res_id: str, subject: str, category: str) -> dict[str, Any]:
    return {
        **observation(subject),
        "id": res_id,
        "category": [{"coding": [{"system": CATEGORY, "code": category}]}],
    }


@pytest.fixture
async def records(client: httpx.AsyncClient) -> None:
    """Two registered patients, each with a laboratory and a vital-signs Observation."""
    for pid, gender in (("p1", "female"), ("p2", "male")):
        await put(client, {**patient(mrn=pid), "id": pid, "gender": gender})
        await put(client, registration(pid))
        await put(client, _observation(f"{pid}-lab", f"Patient/{pid}", "laboratory"))
        await put(client, _observation(f"{pid}-vital", f"Patient/{pid}", "vital-signs"))


async def _ids(http: httpx.AsyncClient, url: str, headers: dict[str, str]) -> list[str]:
    response = await http.get(url, headers=headers)
    assert response.status_code == 200, response.text
    return sorted(e["resource"]["id"] for e in response.json().get("entry", []))


async def test_a_constraint_narrows_search_read_and_counts(
    anonymous: httpx.AsyncClient, records: None
) -> None:
    lab = auth("clinic", scope=LAB)
    assert await _ids(anonymous, "Observation", lab) == ["p1-lab", "p2-lab"]
    assert await _ids(anonymous, "Observation?subject=Patient/p1", lab) == ["p1-lab"]
    assert await _ids(anonymous, "Patient/p2/Observation", lab) == ["p2-lab"]
    assert (await anonymous.get("Observation/p1-lab", headers=lab)).status_code == 200
    assert (await anonymous.get("Observation/p1-vital", headers=lab)).status_code == 404
    assert (await anonymous.get("Observation/p1-vital/_history/1", headers=lab)).status_code == 404
    counted = await anonymous.get("Observation?_summary=count", headers=lab)
    assert counted.json()["total"] == 2
    estimated = await anonymous.get("Observation?_total=estimate&_count=1", headers=lab)
    assert estimated.json()["total"] == 2
    history = await anonymous.get("Observation/_history", headers=lab)
    assert sorted(e["resource"]["id"] for e in history.json()["entry"]) == ["p1-lab", "p2-lab"]
    either = auth("clinic", scope=f"{LAB} system/Observation.rs?subject=Patient/p1")
    assert await _ids(anonymous, "Observation", either) == ["p1-lab", "p1-vital", "p2-lab"]


async def test_a_constraint_narrows_what_is_included(
    anonymous: httpx.AsyncClient, records: None
) -> None:
    url = "Observation?category=laboratory&_include=Observation:subject"
    women = auth("clinic", scope="system/Observation.rs system/Patient.rs?gender=female")
    response = await anonymous.get(url, headers=women)
    included = [
        e["resource"]["id"] for e in response.json()["entry"] if e["search"]["mode"] == "include"
    ]
    assert included == ["p1"]
    revinclude = "Patient?_revinclude=Observation:subject"
    assert await _ids(anonymous, revinclude, auth("clinic", scope=f"{LAB} system/Patient.s")) == [
        "p1",
        "p1-lab",
        "p2",
        "p2-lab",
    ]


async def test_a_constraint_that_cannot_be_compiled_reaches_nothing(
    anonymous: httpx.AsyncClient, records: None
) -> None:
    for scope in (
        "system/Observation.rs?no-such-parameter=1",
        "system/Observation.rs?_count=1000",
        "system/Observation.rs?_include=Observation:subject",
    ):
        assert await _ids(anonymous, "Observation", auth("clinic", scope=scope)) == []


async def test_constrained_writes_stay_within_the_constraint(
    anonymous: httpx.AsyncClient, records: None, backend: Backend
) -> None:
    lab_writer = {
        **FHIR_JSON,
        **auth("clinic", scope=f"system/Observation.cruds?category={CATEGORY}|laboratory"),
    }
    before = await row_counts(backend.database)
    vital = _observation("x", "Patient/p1", "vital-signs")
    del vital["id"]
    refused = await anonymous.post("Observation", json=vital, headers=lab_writer)
    assert refused.status_code == 403, refused.text
    assert refused.json()["issue"][0]["code"] == "forbidden"
    made_vital = await anonymous.put(
        "Observation/new-vital", json={**vital, "id": "new-vital"}, headers=lab_writer
    )
    assert made_vital.status_code == 403
    assert await row_counts(backend.database) == before
    lab = {**vital, "category": [{"coding": [{"system": CATEGORY, "code": "laboratory"}]}]}
    assert (await anonymous.post("Observation", json=lab, headers=lab_writer)).status_code == 201
    # a laboratory Observation may not be turned into another kind, nor another kind changed
    turned = await anonymous.put(
        "Observation/p1-lab", json={**vital, "id": "p1-lab"}, headers=lab_writer
    )
    assert turned.status_code == 403
    changed = await anonymous.put(
        "Observation/p1-vital",
        json={**vital, "id": "p1-vital", "status": "amended"},
        headers=lab_writer,
    )
    assert changed.status_code == 403
    deleted = await anonymous.delete("Observation/p1-vital", headers=lab_writer)
    assert deleted.status_code == 403
    patched = await anonymous.patch(
        "Observation/p1-lab",
        json=[{"op": "replace", "path": "/category/0/coding/0/code", "value": "vital-signs"}],
        headers={**lab_writer, "Content-Type": "application/json-patch+json"},
    )
    assert patched.status_code == 403
    admin = auth()
    for res_id, version in (("p1-lab", "1"), ("p1-vital", "1")):
        current = await anonymous.get(f"Observation/{res_id}", headers=admin)
        assert current.json()["meta"]["versionId"] == version
    amended = await anonymous.put(
        "Observation/p1-lab", json={**lab, "id": "p1-lab", "status": "amended"}, headers=lab_writer
    )
    assert amended.status_code == 200, amended.text
    assert (await anonymous.delete("Observation/p1-lab", headers=lab_writer)).status_code == 204


async def test_patient_scopes_reach_one_compartment(
    anonymous: httpx.AsyncClient, records: None
) -> None:
    mine = auth("citizen", scope="patient/*.rs", patient="p1")
    assert (await anonymous.get("Patient/p1", headers=mine)).status_code == 200
    assert (await anonymous.get("Patient/p2", headers=mine)).status_code == 404
    assert (await anonymous.get("Observation/p2-lab", headers=mine)).status_code == 404
    assert await _ids(anonymous, "Observation", mine) == ["p1-lab", "p1-vital"]
    assert await _ids(anonymous, "Patient", mine) == ["p1"]
    assert await _ids(anonymous, "?_type=Patient,Observation", mine) == ["p1", "p1-lab", "p1-vital"]
    assert await _ids(anonymous, "Patient/p2/Observation", mine) == []
    assert (
        await anonymous.post(
            "Observation", json=observation("Patient/p1"), headers={**FHIR_JSON, **mine}
        )
    ).status_code == 403
    lab_only = auth("citizen", scope=f"patient/{LAB.removeprefix('system/')}", patient="p1")
    assert await _ids(anonymous, "Observation", lab_only) == ["p1-lab"]


async def test_patient_scopes_write_only_in_their_compartment(
    anonymous: httpx.AsyncClient, records: None
) -> None:
    writer = {**FHIR_JSON, **auth("home-nursing", scope="patient/Observation.cru", patient="p1")}
    own = await anonymous.post("Observation", json=observation("Patient/p1"), headers=writer)
    assert own.status_code == 201, own.text
    other = await anonymous.post("Observation", json=observation("Patient/p2"), headers=writer)
    assert other.status_code == 403
    moved = await anonymous.put(
        "Observation/p1-lab",
        json=_observation("p1-lab", "Patient/p2", "laboratory"),
        headers=writer,
    )
    assert moved.status_code == 403
    theirs = await anonymous.put(
        "Observation/p2-lab",
        json=_observation("p2-lab", "Patient/p2", "laboratory"),
        headers=writer,
    )
    assert theirs.status_code == 403


async def test_patient_scopes_without_a_patient_grant_nothing(
    anonymous: httpx.AsyncClient, records: None
) -> None:
    nobody = auth("citizen", scope="patient/*.rs")
    assert (await anonymous.get("Observation", headers=nobody)).status_code == 403
    assert (await anonymous.get("Patient/p1", headers=nobody)).status_code == 403
