"""SMART scopes as this server reads them: v2, v1, constraints, and what it ignores
(https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html)."""

from __future__ import annotations

import pytest

from tobiume.auth.scopes import Grant, parse_scope, parse_scopes


@pytest.mark.parametrize(
    ("text", "context", "res_type", "permissions"),
    [
        ("system/Observation.rs", "system", "Observation", "rs"),
        ("user/*.cruds", "user", "*", "cruds"),
        ("patient/*.rs", "patient", "*", "rs"),
        ("system/Patient.cu", "system", "Patient", "cu"),
        ("system/Patient.d", "system", "Patient", "d"),
        ("user/Observation.read", "user", "Observation", "rs"),
        ("user/Observation.write", "user", "Observation", "cud"),
        ("patient/*.*", "patient", "*", "cruds"),
    ],
)
def test_v2_and_v1_scopes(text: str, context: str, res_type: str, permissions: str) -> None:
    assert parse_scope(text) == Grant(context, res_type, frozenset(permissions))


def test_constraints_are_query_pairs() -> None:
    grant = parse_scope(
        "patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/"
        "observation-category|laboratory&status=final"
    )
    assert grant is not None
    assert grant.constraint == (
        ("category", "http://terminology.hl7.org/CodeSystem/observation-category|laboratory"),
        ("status", "final"),
    )


@pytest.mark.parametrize(
    "text",
    [
        "openid",
        "fhirUser",
        "launch/patient",
        "offline_access",
        "system/Observation.dus",  # out of order: "MAY be ignored"
        "system/Observation.rr",
        "system/Observation.",
        "system/Unicorn.rs",  # not a resource type
        "admin/Observation.rs",
        "system/Observation.rs?",  # an empty constraint
        "system/Observation.read?category=x",  # v1 has no constraints
        "system/observation.rs",
    ],
)
def test_what_is_not_a_clinical_scope_is_ignored(text: str) -> None:
    assert parse_scope(text) is None


def test_a_scope_string_and_its_checks() -> None:
    scopes = parse_scopes(
        "openid fhirUser system/Observation.rs system/Patient.c launch", has_patient=False
    )
    assert scopes.allows("r", "Observation")
    assert scopes.allows("s", "Observation")
    assert not scopes.allows("c", "Observation")
    assert scopes.allows("c", "Patient")
    assert not scopes.allows("r", "Patient")
    wildcard = parse_scopes("user/*.cruds", has_patient=False)
    assert all(wildcard.allows(p, "AuditEvent") for p in "cruds")


def test_patient_scopes_need_a_patient() -> None:
    assert parse_scopes("patient/*.rs", has_patient=False).grants == ()
    assert parse_scopes("patient/*.rs", has_patient=True).allows("r", "Condition")


def test_constrained_grants_pass_the_type_gate() -> None:
    scopes = parse_scopes("system/Observation.rs?category=laboratory", has_patient=False)
    assert scopes.allows("s", "Observation")
    (grant,) = scopes.grants_for("r", "Observation")
    assert grant.constraint == (("category", "laboratory"),)
