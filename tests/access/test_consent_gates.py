"""The consent and role gates over HTTP, on SQLite and PostgreSQL, with the default role policy
(`access.gates`, `access.role_policy`; docs/access.md).

A small network is written by the trusted test admin: two hospitals, a clinic, a care-manager
office with one care manager, a visiting-nurse station, a support centre serving 小倉北区, and
one citizen per consent shape, each with a laboratory Observation (medical), a Condition
(medical summary), a checkup Observation (checkup) and a CarePlan (care). Each test asks as one
requester and checks what they can and cannot learn, by every path a FHIR client has.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import Backend, default_policy, serve
from tests.helpers import FHIR_JSON, observation, patient, put, registration
from tests.tokens import auth

CS = "http://tobiume.example/fhir/CodeSystem/"
HOSP_A, HOSP_B, CLINIC = "Organization/hosp-a", "Organization/hosp-b", "Organization/clin-c"
OFFICE, NURSES, CENTRE = "Organization/cmgt-e", "Organization/vnst-f", "Organization/hsc-d"
MANAGER = "PractitionerRole/cm-1"
KOKURA = "北九州市小倉北区"


def _actor(reference: str) -> dict[str, Any]:
    return {
        "role": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                    "code": "IRCP",
                }
            ]
        },
        "reference": {"reference": reference},
    }


CHECKUP_CLASS = {"system": CS + "data-class", "code": "checkup"}
ETREAT = {"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": "ETREAT"}
SHAPES: dict[str, dict[str, Any] | None] = {
    "open": {"type": "permit"},
    "deny-clinic": {"type": "permit", "provision": [{"type": "deny", "actor": [_actor(CLINIC)]}]},
    "named": {"type": "permit", "actor": [_actor(HOSP_A)]},
    "no-checkup": {
        "type": "permit",
        "provision": [
            {"type": "deny", "class": [{"system": CS + "data-class", "code": "checkup"}]}
        ],
    },
    "emergency": {"type": "deny", "provision": [{"type": "permit", "purpose": [ETREAT]}]},
    "withdrawn": {"type": "permit"},
    "unregistered": None,
}


def _record_category(code: str) -> dict[str, Any]:
    return {"coding": [{"system": CS + "record-category", "code": code}]}


def records(pid: str) -> list[dict[str, Any]]:
    """The citizen's four records, one per class (and the summary)."""
    lab = {**observation(f"Patient/{pid}"), "id": f"{pid}-lab"}
    checkup = {
        **observation(f"Patient/{pid}", 5.4),
        "id": f"{pid}-checkup",
        "category": [_record_category("specific-health-checkup")],
    }
    condition = {
        "resourceType": "Condition",
        "id": f"{pid}-cond",
        "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "E11.9"}]},
        "subject": {"reference": f"Patient/{pid}"},
    }
    plan = {
        "resourceType": "CarePlan",
        "id": f"{pid}-plan",
        "status": "active",
        "intent": "plan",
        "category": [_record_category("care-service-plan")],
        "subject": {"reference": f"Patient/{pid}"},
    }
    return [lab, checkup, condition, plan]


def _org(ref: str, **extra: Any) -> dict[str, Any]:
    return {"resourceType": "Organization", "id": ref.split("/")[1], "name": ref, **extra}


@pytest.fixture
async def network(client: httpx.AsyncClient, backend: Backend) -> Backend:
    """The directory and one citizen per consent shape, written by the trusted admin."""
    for ref in (HOSP_A, HOSP_B, CLINIC, OFFICE, NURSES):
        await put(client, _org(ref))
    await put(
        client,
        _org(
            CENTRE,
            extension=[
                {
                    "url": "http://tobiume.example/fhir/StructureDefinition/served-ward",
                    "valueString": KOKURA,
                }
            ],
        ),
    )
    await put(
        client,
        {
            "resourceType": "PractitionerRole",
            "id": "cm-1",
            "organization": {"reference": OFFICE},
        },
    )
    for shape, provision in SHAPES.items():
        pid = f"p-{shape}"
        city = KOKURA if shape == "open" else "北九州市八幡西区"
        await put(client, {**patient(), "id": pid, "address": [{"city": city}]})
        if provision is not None:
            await put(client, registration(pid, provision))
        for record in records(pid):
            await put(client, record)
    await put(
        client,
        {
            "resourceType": "CareTeam",
            "id": "p-open-team",
            "status": "active",
            "subject": {"reference": "Patient/p-open"},
            "participant": [
                {"member": {"reference": MANAGER}, "onBehalfOf": {"reference": OFFICE}},
                {"member": {"reference": NURSES}},
            ],
        },
    )
    withdrawn = registration("p-withdrawn", SHAPES["withdrawn"])
    await put(client, {**withdrawn, "status": "inactive"})
    return backend


@pytest.fixture
def as_role(network: Backend) -> Any:
    """`as_role(role, org, **claims)`: a client of the default-policy server for a requester."""

    def make(role: str, org: str, **claims: Any) -> Any:
        return serve(default_policy(network.settings), headers=auth(role, org=org, **claims))

    return make


async def visible(http: httpx.AsyncClient, pid: str) -> set[str]:
    """What a requester learns of citizen `pid`: the ids a compartment-wide search returns."""
    found: set[str] = set()
    for res_type in ("Patient", "Observation", "Condition", "CarePlan"):
        query = f"_id={pid}" if res_type == "Patient" else f"patient={pid}"
        response = await http.get(f"{res_type}?{query}&_count=100")
        assert response.status_code == 200, response.text
        found |= {e["resource"]["id"] for e in response.json().get("entry", [])}
    return found


ALL = {"p-{}", "p-{}-lab", "p-{}-checkup", "p-{}-cond", "p-{}-plan"}


def every(pid_shape: str, *, without: tuple[str, ...] = ()) -> set[str]:
    ids = {i.format(pid_shape) for i in ALL}
    return ids - {f"p-{pid_shape}{suffix}" for suffix in without}


async def test_hospital_sees_what_each_consent_permits(as_role: Any) -> None:
    async with as_role("hospital", HOSP_A) as http:
        assert await visible(http, "p-open") == every("open")
        assert await visible(http, "p-deny-clinic") == every("deny-clinic")
        assert await visible(http, "p-named") == every("named")
        assert await visible(http, "p-no-checkup") == every("no-checkup", without=("-checkup",))
        assert await visible(http, "p-emergency") == set()
        assert await visible(http, "p-withdrawn") == set()
        assert await visible(http, "p-unregistered") == set()


async def test_a_hospital_not_named_and_an_excluded_clinic_learn_nothing(as_role: Any) -> None:
    async with as_role("hospital", HOSP_B) as http:
        assert await visible(http, "p-named") == set()
        assert await visible(http, "p-open") == every("open")
    async with as_role("clinic", CLINIC) as http:
        assert await visible(http, "p-deny-clinic") == set()
        assert await visible(http, "p-named") == set()
        assert await visible(http, "p-open") == every("open")


async def test_hidden_answers_as_missing_by_every_path(as_role: Any) -> None:
    """The excluded clinic, asking about the citizen who excluded it, gets what it would get
    for a citizen who does not exist."""
    async with as_role("clinic", CLINIC) as http:
        for path in ("Patient/p-deny-clinic", "Observation/p-deny-clinic-lab"):
            hidden, missing = await http.get(path), await http.get(path + "-nobody")
            assert hidden.status_code == missing.status_code == 404
            assert hidden.json()["issue"][0]["code"] == missing.json()["issue"][0]["code"]
        for path in (
            "Observation/p-deny-clinic-lab/_history/1",
            "Observation/p-deny-clinic-lab/_history",
        ):
            assert (await http.get(path)).status_code == 404
        checks = {
            "Observation?subject=Patient/p-deny-clinic&_total=accurate": 0,
            "Observation?_summary=count&patient=p-deny-clinic": 0,
            "Patient?_has:Observation:patient:_id=p-deny-clinic-lab": 0,
            "Observation?subject:Patient._id=p-deny-clinic": 0,
            "Patient/p-deny-clinic/Observation": 0,
            "Observation?_id=p-deny-clinic-lab,p-open-lab&_total=accurate": 1,
        }
        for query, total in checks.items():
            response = await http.get(query)
            assert response.status_code == 200, (query, response.text)
            body = response.json()
            if "total" in body:
                assert body["total"] == total, query
            assert len(body.get("entry", [])) == total, query
        included = await http.get(
            "Observation?_id=p-open-lab,p-deny-clinic-lab&_include=Observation:*"
        )
        assert included.status_code == 200, included.text
        ids = {e["resource"]["id"] for e in included.json().get("entry", [])}
        assert "p-deny-clinic" not in ids
        assert "p-deny-clinic-lab" not in ids
        assert {"p-open-lab", "p-open"} <= ids
        rev = await http.get("Patient?_id=p-deny-clinic,p-open&_revinclude=Observation:subject")
        ids = {e["resource"]["id"] for e in rev.json().get("entry", [])}
        assert not any(i.startswith("p-deny-clinic") for i in ids)
        assert "p-open-lab" in ids
        history = await http.get("_history?_count=1000")
        ids = {e["resource"]["id"] for e in history.json().get("entry", []) if "resource" in e}
        assert not any(i.startswith(("p-deny-clinic", "p-named", "p-emergency")) for i in ids)
        typed = await http.get("Observation/_history?_count=1000")
        ids = {e["resource"]["id"] for e in typed.json().get("entry", []) if "resource" in e}
        assert "p-open-lab" in ids
        assert "p-deny-clinic-lab" not in ids


async def test_break_the_glass_only_where_consented(as_role: Any) -> None:
    async with as_role("hospital", HOSP_A, purpose_of_use="ETREAT") as http:
        assert await visible(http, "p-emergency") == every("emergency")
        assert await visible(http, "p-withdrawn") == set()
        assert await visible(http, "p-named") == every("named")
    async with as_role("clinic", CLINIC, purpose_of_use="ETREAT") as http:
        assert await visible(http, "p-emergency") == set()
    old = {"iat": 1_700_000_000}
    async with as_role("hospital", HOSP_A, purpose_of_use="ETREAT", **old) as http:
        assert await visible(http, "p-emergency") == set()


async def test_care_manager_sees_their_clients_care_checkup_and_summary(as_role: Any) -> None:
    async with as_role("care-manager", OFFICE, fhirUser=MANAGER, scope="user/*.cruds") as http:
        assert await visible(http, "p-open") == every("open", without=("-lab",))
        assert await visible(http, "p-deny-clinic") == set()
    async with as_role("care-manager", OFFICE, fhirUser="PractitionerRole/cm-2") as http:
        assert await visible(http, "p-open") == set()


async def test_home_nursing_through_the_care_team(as_role: Any) -> None:
    async with as_role("home-nursing", NURSES) as http:
        assert await visible(http, "p-open") == every("open")
        assert await visible(http, "p-named") == set()


async def test_support_centre_by_the_ward_it_serves(as_role: Any) -> None:
    async with as_role("community-support-center", CENTRE) as http:
        assert await visible(http, "p-open") == every("open", without=("-lab",))
        assert await visible(http, "p-deny-clinic") == set()  # lives in 八幡西区


async def test_auditor_admin_and_municipality_see_no_patient_data(as_role: Any) -> None:
    for role, org in (
        ("auditor", "Organization/audit"),
        ("admin", "Organization/kitakyushu-city"),
        ("municipality", "Organization/kitakyushu-city"),
    ):
        async with as_role(role, org) as http:
            assert await visible(http, "p-open") == set(), role
    async with as_role("auditor", "Organization/audit") as http:
        assert (await http.get("Organization/hosp-a")).status_code == 404
    async with as_role("municipality", "Organization/kitakyushu-city") as http:
        assert (await http.get("Organization/hosp-a")).status_code == 200


async def test_citizen_sees_their_own_record_only(as_role: Any) -> None:
    claims = {"patient": "p-emergency", "scope": "patient/*.rs"}
    async with as_role("citizen", "Organization/hosp-a", **claims) as http:
        assert await visible(http, "p-emergency") == every("emergency")
        assert await visible(http, "p-open") == set()


async def test_withdrawal_takes_effect_on_the_next_request(
    as_role: Any, client: httpx.AsyncClient
) -> None:
    async with as_role("hospital", HOSP_A) as hospital:
        created = await hospital.post(
            "Observation", json={**observation("Patient/p-open"), "id": "x"}, headers=FHIR_JSON
        )
        assert created.status_code == 201, created.text
        mine = created.json()["id"]
        assert (await hospital.get("Observation/p-open-lab")).status_code == 200
        await put(client, {**registration("p-open"), "status": "inactive"})
        assert (await hospital.get("Observation/p-open-lab")).status_code == 404
        assert (await hospital.get("Patient/p-open")).status_code == 404
        # the contributor still reads what it sent
        assert (await hospital.get(f"Observation/{mine}")).status_code == 200
    async with as_role("hospital", HOSP_B) as other:
        assert (await other.get(f"Observation/{mine}")).status_code == 404
    await put(client, registration("p-open"))
    async with as_role("hospital", HOSP_B) as other:
        assert (await other.get(f"Observation/{mine}")).status_code == 200


async def test_a_nested_deny_added_later_hides_at_once(
    as_role: Any, client: httpx.AsyncClient
) -> None:
    async with as_role("clinic", CLINIC) as http:
        assert await visible(http, "p-open") == every("open")
        await put(client, registration("p-open", SHAPES["deny-clinic"]))
        assert await visible(http, "p-open") == set()


async def test_writes_need_a_registered_citizen(as_role: Any) -> None:
    async with as_role("clinic", CLINIC) as http:
        refused = await http.post(
            "Observation", json=observation("Patient/p-unregistered"), headers=FHIR_JSON
        )
        assert refused.status_code == 422, refused.text
        assert "not registered" in refused.text
        accepted = await http.post(
            "Observation", json=observation("Patient/p-open"), headers=FHIR_JSON
        )
        assert accepted.status_code == 201, accepted.text


async def test_transaction_registers_and_sends_records_at_once(as_role: Any) -> None:
    """The Consent counts from the moment its entry is processed (POSTs in entry order,
    before PUTs: https://hl7.org/fhir/R4/http.html#trules)."""
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "resource": {**patient(), "id": "p-new"},
                "request": {"method": "PUT", "url": "Patient/p-new"},
            },
            {
                "resource": registration("p-new"),
                "request": {"method": "POST", "url": "Consent"},
            },
            {
                "resource": observation("Patient/p-new"),
                "request": {"method": "POST", "url": "Observation"},
            },
        ],
    }
    async with as_role("hospital", HOSP_A) as http:
        response = await http.post("", json=bundle, headers=FHIR_JSON)
        assert response.status_code == 200, response.text
    async with as_role("hospital", HOSP_B) as other:
        assert len(await visible(other, "p-new")) == 2  # the Patient and the Observation


async def test_only_the_contributor_changes_a_record(as_role: Any) -> None:
    async with as_role("hospital", HOSP_A) as a:
        created = await a.post("Observation", json=observation("Patient/p-open"), headers=FHIR_JSON)
        body = created.json()
    async with as_role("hospital", HOSP_B) as b:
        changed = await b.put(f"Observation/{body['id']}", json=body, headers=FHIR_JSON)
        assert changed.status_code == 403, changed.text
        deleted = await b.delete(f"Observation/{body['id']}")
        assert deleted.status_code == 403, deleted.text
    async with as_role("clinic", CLINIC) as hidden_from:
        # p-deny-clinic's record: the clinic cannot see it, so deleting it is deleting nothing
        gone = await hidden_from.delete("Observation/p-deny-clinic-lab")
        assert gone.status_code == 204
    async with as_role("hospital", HOSP_A) as a:
        assert (await a.get("Observation/p-deny-clinic-lab")).status_code == 200
        updated = await a.put(f"Observation/{body['id']}", json=body, headers=FHIR_JSON)
        assert updated.status_code == 200, updated.text


async def test_a_stated_data_class_wins(as_role: Any, client: httpx.AsyncClient) -> None:
    """A laboratory result tagged `care` is a care record: the care manager now sees it."""
    tagged = {
        **observation("Patient/p-open"),
        "id": "tagged",
        "meta": {"tag": [{"system": CS + "data-class", "code": "care"}]},
    }
    await put(client, tagged)
    async with as_role("care-manager", OFFICE, fhirUser=MANAGER) as http:
        assert "tagged" in await visible(http, "p-open")
        assert (await http.get("Observation/p-open-lab")).status_code == 404


async def _everything(http: httpx.AsyncClient, url: str) -> tuple[list[str], int]:
    """Every id `$everything` returns across its pages, and how many pages it took."""
    ids: list[str] = []
    pages = 0
    next_url: str | None = url
    while next_url is not None:
        response = await http.get(next_url)
        assert response.status_code == 200, response.text
        body = response.json()
        ids += [e["resource"]["id"] for e in body.get("entry", [])]
        pages += 1
        next_url = next((link["url"] for link in body["link"] if link["relation"] == "next"), None)
    return ids, pages


async def test_everything_is_what_the_requester_may_see(as_role: Any) -> None:
    async with as_role("hospital", HOSP_A) as http:
        ids, pages = await _everything(http, "Patient/p-open/$everything?_count=2")
        assert sorted(ids) == sorted(every("open") | {"p-open-team"})
        assert pages == 3
        ids, _ = await _everything(http, "Patient/p-no-checkup/$everything")
        assert set(ids) == every("no-checkup", without=("-checkup",))
        ids, _ = await _everything(http, "Patient/p-open/$everything?_type=Condition,CarePlan")
        assert set(ids) == {"p-open-cond", "p-open-plan"}
        ids, _ = await _everything(http, "Patient/p-open/$everything?_since=2999-01-01")
        assert ids == []
        bad = await http.get("Patient/p-open/$everything?_since=soon")
        assert bad.status_code == 400
    async with as_role("clinic", CLINIC) as http:
        hidden = await http.get("Patient/p-deny-clinic/$everything")
        missing = await http.get("Patient/nobody/$everything")
        assert hidden.status_code == missing.status_code == 404
        metadata = (await http.get("metadata")).json()
        (patient_type,) = [r for r in metadata["rest"][0]["resource"] if r["type"] == "Patient"]
        assert [o["name"] for o in patient_type["operation"]] == ["everything"]
    async with as_role("care-manager", OFFICE, fhirUser=MANAGER) as http:
        ids, _ = await _everything(http, "Patient/p-open/$everything")
        assert set(ids) == every("open", without=("-lab",)) | {"p-open-team"}


async def test_the_access_code_systems_are_published(as_role: Any) -> None:
    async with as_role("clinic", CLINIC) as http:
        response = await http.get("CodeSystem/data-class")
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["url"] == CS + "data-class"
        codes = {c["code"] for c in body["concept"]}
        assert {"medical", "care", "checkup", "registration", "directory", "audit"} <= codes
        roles = (await http.get("CodeSystem/participant-role/_history/1")).json()
        assert "care-manager" in {c["code"] for c in roles["concept"]}
        refused = await http.put("CodeSystem/data-class", json=body, headers=FHIR_JSON)
        assert refused.status_code == 405


async def test_no_one_widens_their_access_by_registering_a_citizen_again(as_role: Any) -> None:
    """The excluded clinic sends a Consent of its own that permits everyone: refused, since the
    citizen is registered already, and the citizen stays hidden from it."""
    async with as_role("clinic", CLINIC) as http:
        again = {**registration("p-deny-clinic"), "id": "mine"}
        refused = await http.put("Consent/mine", json=again, headers=FHIR_JSON)
        assert refused.status_code == 422, refused.text
        assert "already registered" in refused.text
        assert await visible(http, "p-deny-clinic") == set()
        first = await http.post("Consent", json=registration("p-new"), headers=FHIR_JSON)
        assert first.status_code == 201, first.text
    async with as_role("municipality", "Organization/kitakyushu-city") as city:
        changed = registration("p-deny-clinic", SHAPES["open"])
        response = await city.put(
            "Consent/p-deny-clinic-registration", json=changed, headers=FHIR_JSON
        )
        assert response.status_code == 200, response.text
    async with as_role("clinic", CLINIC) as http:
        assert await visible(http, "p-deny-clinic") == every("deny-clinic")


async def test_only_those_who_organise_care_write_care_teams(as_role: Any) -> None:
    """A care team is what relates a provider to a citizen: a provider may not name itself."""
    team = {
        "resourceType": "CareTeam",
        "status": "active",
        "subject": {"reference": "Patient/p-named"},
        "participant": [{"member": {"reference": NURSES}}],
    }
    async with as_role("home-nursing", NURSES) as http:
        refused = await http.post("CareTeam", json=team, headers=FHIR_JSON)
        assert refused.status_code == 403, refused.text
        assert await visible(http, "p-named") == set()
    async with as_role("care-manager", OFFICE, fhirUser=MANAGER) as http:
        made = await http.post(
            "CareTeam", json={**team, "subject": {"reference": "Patient/p-open"}}, headers=FHIR_JSON
        )
        assert made.status_code == 201, made.text
