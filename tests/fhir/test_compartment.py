"""The Patient compartment owner (https://hl7.org/fhir/R4/compartmentdefinition-patient.html)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import SHARED
from tobiume.fhir import compartment
from tobiume.fhir.compartment import PATIENT_COMPARTMENT, patient_owner
from tobiume.fhir.searchparams import registry
from tobiume.indexing.extract import extract, plan
from tobiume.indexing.rows import ReferenceRow

EXAMPLES = SHARED / "fhir-r4" / "examples"


def _owner(resource: dict[str, Any], base_url: str | None = None) -> str | None:
    return patient_owner(resource, extract(resource).references, base_url)


def test_compartment_params() -> None:
    assert PATIENT_COMPARTMENT["Observation"] == ("subject", "performer")
    assert PATIENT_COMPARTMENT["Patient"] == ("link",)
    assert PATIENT_COMPARTMENT["Coverage"][0] == "beneficiary"
    assert "Organization" not in PATIENT_COMPARTMENT
    assert len(PATIENT_COMPARTMENT) == 67


def test_every_compartment_param_is_an_indexed_reference_param() -> None:
    for res_type, codes in PATIENT_COMPARTMENT.items():
        for code in codes:
            param = registry().get(res_type, code)
            assert param is not None, (res_type, code)
            assert param.type == "reference", (res_type, code)
            assert any(step.code == code for step in plan(res_type)), (res_type, code)


def test_a_patient_owns_itself() -> None:
    assert _owner({"resourceType": "Patient", "id": "p1"}) == "p1"


def test_observation_subject_is_the_owner() -> None:
    obs = {"resourceType": "Observation", "id": "o", "subject": {"reference": "Patient/p1"}}
    assert _owner(obs) == "p1"


def test_only_patient_references_count() -> None:
    obs = {
        "resourceType": "Observation",
        "subject": {"reference": "Group/g1"},
        "performer": [{"reference": "Practitioner/d1"}, {"reference": "Patient/p2"}],
    }
    assert _owner(obs) == "p2"
    obs["performer"] = [{"reference": "Practitioner/d1"}]
    assert _owner(obs) is None


def test_definition_order_decides_between_params() -> None:
    obs = {
        "resourceType": "Observation",
        "performer": [{"reference": "Patient/p2"}],
        "subject": {"reference": "Patient/p1"},
    }
    assert _owner(obs) == "p1"
    coverage = {
        "resourceType": "Coverage",
        "policyHolder": {"reference": "Patient/holder"},
        "beneficiary": {"reference": "Patient/child"},
        "payor": [{"reference": "Organization/o"}],
    }
    assert _owner(coverage) == "child"


def test_absolute_references_count_only_under_our_base() -> None:
    obs = {"resourceType": "Observation", "subject": {"reference": "https://us.jp/fhir/Patient/p1"}}
    assert _owner(obs) is None
    assert _owner(obs, "https://us.jp/fhir") == "p1"
    assert _owner(obs, "https://them.jp/fhir") is None


def test_logical_and_contained_references_make_no_owner() -> None:
    obs = {
        "resourceType": "Observation",
        "subject": {"identifier": {"system": "urn:x", "value": "1"}, "type": "Patient"},
        "performer": [{"reference": "#p"}],
        "contained": [{"resourceType": "Patient", "id": "p"}],
    }
    assert _owner(obs) is None


def test_types_outside_the_compartment_have_no_owner() -> None:
    org = {"resourceType": "Organization", "id": "o", "partOf": {"reference": "Patient/p"}}
    assert _owner(org) is None
    assert patient_owner({}, []) is None


def test_own_id_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compartment, "PATIENT_COMPARTMENT", {"Basic": ("{def}", "patient")})
    assert patient_owner({"resourceType": "Basic", "id": "b1"}, []) == "b1"
    rows = [ReferenceRow("patient", "Patient", "p1", None)]
    assert patient_owner({"resourceType": "Basic", "id": "b1"}, rows) == "b1"


def test_official_examples() -> None:
    owners: dict[str, str | None] = {}
    for path in sorted(EXAMPLES.glob("*.json")):
        resource = json.loads(path.read_text(encoding="utf-8"))
        owners[path.name] = _owner(resource)
    assert owners["Observation-example.json"] == "example"
    assert owners["Encounter-example.json"] == "example"
    assert owners["Patient-example.json"] == "example"
    assert owners["Practitioner-example.json"] is None
    assert owners["AllergyIntolerance-example.json"] == "example"
