"""The SearchParameter registry: the official R4 definitions
(https://hl7.org/fhir/R4/searchparameter-registry.html) and JP Core's own
(https://jpfhir.jp/fhir/core/1.2.0-dev/toc.html, section 3.7 Search Parameter)."""

from __future__ import annotations

import pytest

from tobiume.fhir.resource_types import (
    ABSTRACT_TYPES,
    RESOURCE_TYPES,
    is_resource_type,
    load_data,
    reference_target,
)
from tobiume.fhir.searchparams import (
    DEFINITION_FILES,
    JP_CORE_SEARCH_PARAMETERS_FILE,
    Registry,
    SearchParam,
    registry,
)

JP_CORE_SP = "http://jpfhir.jp/fhir/core/SearchParameter/"


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
    for name in DEFINITION_FILES:
        for param in load_data(name)["parameters"]:
            for base in param["base"]:
                assert base in RESOURCE_TYPES or base in ABSTRACT_TYPES, (param["code"], base)


def test_jp_core_definitions_are_loaded_beside_the_official_ones() -> None:
    data = load_data(JP_CORE_SEARCH_PARAMETERS_FILE)
    assert "jp-core-v1x" in data["source"]
    assert "CC0" in data["licence"]
    expected = {
        ("Coverage", "jp-insured-personnumber", "string", "JP_Coverage_InsuredPersonNumber_SP"),
        (
            "Coverage",
            "jp-insured-personsubnumber",
            "string",
            "JP_Coverage_InsuredPersonSubNumber_SP",
        ),
        ("Coverage", "jp-insured-personsymbol", "string", "JP_Coverage_InsuredPersonSymbol_SP"),
        ("MedicationRequest", "jp-medication-start", "date", "JP_MedicationRequest_Start_SP"),
        (
            "Organization",
            "jp-insurance-organizationcategory",
            "token",
            "JP_Organization_InsuranceOrganizationCategory_SP",
        ),
        (
            "Organization",
            "jp-insurance-organizationno",
            "token",
            "JP_Organization_InsuranceOrganizationNo_SP",
        ),
        ("Organization", "jp-prefectureno", "token", "JP_Organization_PrefectureNo_SP"),
        ("Patient", "jp-kana-sort", "string", "JP_Patient_KanaSort_SP"),
    }
    assert {(p["base"][0], p["code"], p["type"], p["name"]) for p in data["parameters"]} == expected
    for res_type, code, kind, name in expected:
        param = registry().get(res_type, code)
        assert param is not None, code
        assert (param.type, param.url) == (kind, JP_CORE_SP + name)
        assert param is registry().by_url(JP_CORE_SP + name)
    # the official ones are all still there, and JP Core's are only on their own type
    assert registry().get("Patient", "family") is not None
    assert registry().get("Coverage", "jp-kana-sort") is None
    assert registry().get("Organization", "jp-insured-personnumber") is None


def test_a_definition_may_not_replace_another_with_the_same_code() -> None:
    official = SearchParam("identifier", "token", ("Coverage",), "Coverage.identifier", url="a")
    again = SearchParam("identifier", "string", ("Coverage",), "Coverage.extension", url="b")
    with pytest.raises(ValueError, match="'identifier' of b is already a on Coverage"):
        Registry([official, again])
    every = SearchParam("_id", "token", ("Resource",), "Resource.id", url="c")
    shadow = SearchParam("_id", "string", ("Patient",), "Patient.id", url="d")
    with pytest.raises(ValueError, match="'_id' of d is already c"):
        Registry([every, shadow])


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
