"""A Consent's provisions as flat rows (`access.consent_rules`), and data classes
(`access.classes`): pure functions, checked against hand-worked cases."""

from __future__ import annotations

from typing import Any

from tests.helpers import registration
from tobiume.access.classes import data_class
from tobiume.access.consent_rules import ConsentRule, rules

CS = "http://tobiume.example/fhir/CodeSystem/"
CLINIC = {"reference": {"reference": "Organization/clin-1"}}
HOSPITAL = {"reference": {"reference": "Organization/hosp-1"}}
CLASSES = ("care", "checkup", "medical", "registration")


def _rules(provision: dict[str, Any], **extra: Any) -> list[ConsentRule]:
    return rules(registration("p1", provision, **extra))


def test_a_root_permit_is_a_row_per_class() -> None:
    found = _rules({"type": "permit"})
    assert [(r.depth, r.permit, r.data_class) for r in found] == [(0, True, c) for c in CLASSES]


def test_a_nested_deny_carries_its_parents_conditions() -> None:
    found = _rules(
        {
            "type": "permit",
            "period": {"start": "2024-04-01"},
            "provision": [{"type": "deny", "actor": [CLINIC]}],
        }
    )
    denies = [r for r in found if not r.permit]
    assert {r.data_class for r in denies} == set(CLASSES)
    assert all(r.depth == 1 and r.actor_org == "Organization/clin-1" for r in denies)
    assert all(r.start == denies[0].start is not None for r in denies)


def test_contradicting_conditions_yield_no_row() -> None:
    found = _rules(
        {
            "type": "permit",
            "actor": [HOSPITAL],
            "provision": [{"type": "deny", "actor": [CLINIC]}],
        }
    )
    assert all(r.permit for r in found)


def test_failing_closed() -> None:
    assert _rules({"type": "permit", "data": [{"meaning": "instance"}]}) == []
    assert _rules({"type": "permit", "actor": [{"reference": {"reference": "Group/g"}}]}) == []
    widened = _rules(
        {"type": "permit", "provision": [{"type": "deny", "actor": [{"reference": {}}]}]}
    )
    assert {(r.data_class, r.actor_org) for r in widened if not r.permit} == {
        (c, None) for c in CLASSES
    }


def test_only_an_active_registration_yields_rules() -> None:
    assert rules({**registration("p1"), "status": "inactive"}) == []
    assert rules({**registration("p1"), "category": []}) == []


def test_classes_by_type_category_and_tag() -> None:
    checkup = {
        "resourceType": "Observation",
        "category": [
            {"coding": [{"system": CS + "record-category", "code": "elderly-health-checkup"}]}
        ],
    }
    assert data_class(checkup) == "checkup"
    assert data_class({"resourceType": "Observation"}) == "medical"
    assert data_class({"resourceType": "CarePlan"}) == "care"
    assert data_class({"resourceType": "Patient"}) == "registration"
    assert data_class({"resourceType": "Organization"}) == "directory"
    assert data_class({"resourceType": "AuditEvent"}) == "audit"
    assert data_class({"resourceType": "Subscription"}) == "admin"
    tagged = {**checkup, "meta": {"tag": [{"system": CS + "data-class", "code": "care"}]}}
    assert data_class(tagged) == "care"
    coverage = {
        "resourceType": "Coverage",
        "type": {"coding": [{"system": CS + "coverage-type", "code": "long-term-care"}]},
    }
    assert data_class(coverage) == "care"
