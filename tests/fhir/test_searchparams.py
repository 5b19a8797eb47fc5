"""The R4 SearchParameter registry (https://hl7.org/fhir/R4/searchparameter-registry.html)."""

from __future__ import annotations

from tobiume.fhir.resource_types import (
    ABSTRACT_TYPES,
    RESOURCE_TYPES,
    is_resource_type,
    load_data,
    reference_target,
)
from tobiume.fhir.searchparams import SEARCH_PARAMETERS_FILE, SearchParam, registry


def test_resource_types_come_from_the_compartment_definition() -> None:
    assert len(RESOURCE_TYPES) == 145
    assert is_resource_type("Patient")
    assert is_resource_type("MedicinalProductInteraction")
    assert not is_resource_type("patient")
    assert not is_resource_type("Resource")


def test_reference_target() -> None:
    local = reference_target("Patient/123/_history/2")
    assert local is not None
    assert (local.res_type, local.res_id, local.absolute) == ("Patient", "123", False)
    remote = reference_target("https://fhir.example.jp/r4/Patient/123")
    assert remote is not None
    assert (remote.res_type, remote.res_id, remote.absolute) == ("Patient", "123", True)
    assert reference_target("urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a") is None
    assert reference_target("Patient?identifier=1") is None
    assert reference_target("#contained") is None
    assert reference_target("Nope/1") is None


def test_registry_is_loaded_once() -> None:
    assert registry() is registry()
    assert registry().all_types() == tuple(sorted(RESOURCE_TYPES))


def test_every_base_is_a_known_type() -> None:
    for param in load_data(SEARCH_PARAMETERS_FILE)["parameters"]:
        for base in param["base"]:
            assert base in RESOURCE_TYPES or base in ABSTRACT_TYPES, (param["code"], base)


def test_a_type_gets_its_own_resource_and_domain_resource_params() -> None:
    patient = registry().for_type("Patient")
    assert {"family", "birthdate", "_id", "_lastUpdated", "_tag", "_text"} <= set(patient)
    bundle = registry().for_type("Bundle")
    assert "_id" in bundle
    assert "_text" not in bundle  # Bundle is not a DomainResource
    assert registry().for_type("Nonsense") == {}


def test_multi_base_params_are_one_definition() -> None:
    code = registry().get("Observation", "code")
    assert code is not None
    assert code is registry().get("Condition", "code")
    assert code.url == "http://hl7.org/fhir/SearchParameter/clinical-code"
    assert code.type == "token"
    assert "Observation" in code.base
    assert "Condition" in code.base
    assert registry().get("Observation", "nonsense") is None


def test_definition_fields() -> None:
    subject = registry().get("Observation", "subject")
    assert subject is not None
    assert subject.type == "reference"
    assert "Patient" in subject.target
    assert "Group" in subject.target
    value = registry().get("Observation", "value-quantity")
    assert value is not None
    assert "ge" in value.comparators
    composite = registry().get("Observation", "code-value-quantity")
    assert composite is not None
    assert composite.type == "composite"
    assert [expression for _, expression in composite.components] == [
        "code",
        "value.ofType(Quantity)",
    ]
    assert registry().by_url(composite.components[0][0]) is registry().get("Observation", "code")
    text = registry().get("Patient", "_text")
    assert text is not None
    assert text.expression is None


def test_from_json_defaults() -> None:
    param = SearchParam.from_json({"code": "x", "type": "token", "base": ["Patient"]})
    assert param == SearchParam("x", "token", ("Patient",), None)
