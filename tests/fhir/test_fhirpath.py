"""The FHIRPath subset (https://hl7.org/fhir/R4/fhirpath.html) on the expressions R4 search uses."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tobiume.fhir.datatypes import CHOICE_NAMES
from tobiume.fhir.fhirpath import FhirPathError, Value, compile, reference_type
from tobiume.fhir.resource_types import load_data
from tobiume.fhir.searchparams import DEFINITION_FILES


def _definitions() -> list[dict[str, Any]]:
    """The official R4 definitions and JP Core's."""
    return [param for name in DEFINITION_FILES for param in load_data(name)["parameters"]]


def _values(expression: str, resource: dict[str, Any], res_type: str | None = None) -> list[Any]:
    return [item.value for item in compile(expression, res_type)(resource)]


PATIENT: dict[str, Any] = {
    "resourceType": "Patient",
    "id": "p1",
    "name": [
        {"family": "山田", "given": ["太郎", "一"]},
        {"family": "ヤマダ", "given": ["タロウ"]},
    ],
    "telecom": [
        {"system": "phone", "value": "03-1234-5678"},
        {"system": "email", "value": "taro@example.jp"},
    ],
    "birthDate": "1970-01-02",
    "_birthDate": {"extension": [{"url": "http://example.org/x", "valueString": "y"}]},
    "extension": [
        {"url": "http://example.org/a", "valueCode": "A"},
        {"url": "http://example.org/b", "valueCode": "B"},
    ],
}


def test_every_definition_expression_compiles() -> None:
    count = 0
    for param in _definitions():
        expressions = [param.get("expression")]
        expressions += [part["expression"] for part in param.get("component", [])]
        for expression in filter(None, expressions):
            compile(expression)
            for base in param["base"]:
                if base not in ("Resource", "DomainResource"):
                    compile(expression, base)
            count += 1
    assert count > 1_300


def test_every_choice_the_definitions_type_is_a_known_choice_name() -> None:
    for param in _definitions():
        for name in re.findall(r"(\w+)\.ofType\(", param.get("expression") or ""):
            assert name in CHOICE_NAMES, (param["code"], name)


def test_paths_flatten_arrays() -> None:
    assert _values("Patient.name.given", PATIENT) == ["太郎", "一", "タロウ"]
    assert _values("Patient.name.family | Patient.birthDate", PATIENT) == [
        "山田",
        "ヤマダ",
        "1970-01-02",
    ]
    assert _values("Patient.name.given.first()", PATIENT) == ["太郎"]
    assert _values("Patient.name[1].family", PATIENT) == ["ヤマダ"]
    assert _values("Patient.name[5].family", PATIENT) == []


def test_primitive_extension_keys_are_not_elements() -> None:
    assert _values("Patient.birthDate", PATIENT) == ["1970-01-02"]
    assert _values("Patient._birthDate", PATIENT) != []  # only when asked for by that name
    assert _values("Patient.birth", PATIENT) == []


def test_leading_type_name_filters_by_resource_type() -> None:
    obs = {"resourceType": "Observation", "code": {"text": "o"}}
    cond = {"resourceType": "Condition", "code": {"text": "c"}}
    expression = "Condition.code | Observation.code"
    assert _values(expression, obs) == [{"text": "o"}]
    assert _values(expression, cond) == [{"text": "c"}]
    assert _values("Resource.id", PATIENT) == ["p1"]
    assert _values("DomainResource.id", PATIENT) == ["p1"]
    assert _values("DomainResource.id", {"resourceType": "Bundle", "id": "b"}) == []


def test_compiling_for_a_type_drops_other_branches() -> None:
    expression = "Condition.code | Observation.code"
    assert compile(expression, "Observation").always_empty is False
    assert compile(expression, "Patient").always_empty is True
    assert compile(expression, "Patient")(PATIENT) == []
    obs = {"resourceType": "Observation", "code": {"text": "o"}}
    assert _values(expression, obs, "Observation") == [{"text": "o"}]


def test_compile_is_cached() -> None:
    assert compile("Patient.name") is compile("Patient.name")
    assert compile("Patient.name", "Patient") is not compile("Patient.name")


def test_choice_navigation_remembers_the_type() -> None:
    obs = {"resourceType": "Observation", "effectiveDateTime": "2020-01-01", "valueQuantity": {}}
    assert compile("Observation.effective")(obs) == [Value("2020-01-01", "dateTime")]
    assert compile("Observation.value")(obs) == [Value({}, "Quantity")]
    period = {"resourceType": "Observation", "effectivePeriod": {"start": "2020"}}
    assert compile("Observation.effective")(period) == [Value({"start": "2020"}, "Period")]


def test_only_choice_elements_are_found_by_suffix() -> None:
    item = {"resourceType": "QuestionnaireResponse", "item": [{"linkId": "1"}]}
    assert _values("QuestionnaireResponse.item.link", item) == []


@pytest.mark.parametrize(
    ("resource", "expected"),
    [
        ({"valueQuantity": {"value": 1}}, [Value({"value": 1}, "Quantity")]),
        ({"valueCodeableConcept": {"text": "x"}}, []),
        ({"valueSampledData": {"data": "1"}}, [Value({"data": "1"}, "SampledData")]),
    ],
)
def test_of_type_filters_choices(resource: dict[str, Any], expected: list[Value]) -> None:
    obs = {"resourceType": "Observation", **resource}
    expression = "(Observation.value.ofType(Quantity)) | (Observation.value.ofType(SampledData))"
    assert compile(expression)(obs) == expected
    assert compile(expression, "Observation")(obs) == expected


def test_of_type_forms_and_primitive_type_names() -> None:
    obs = {"resourceType": "Observation", "valueDateTime": "2020", "component": []}
    assert _values("value.ofType(DateTime) | value.ofType(Period)", obs) == ["2020"]
    assert _values("Observation.value.as(dateTime)", obs) == ["2020"]
    assert _values("Observation.value as dateTime", obs) == ["2020"]
    assert _values("Observation.value.ofType(string)", obs) == []
    cond = {"resourceType": "Condition", "onsetAge": {"value": 3}}
    assert _values("Condition.onset.ofType(Age) | Condition.onset.ofType(Range)", cond) == [
        {"value": 3}
    ]
    assert _values("Condition.onset.ofType(Quantity)", cond) == [{"value": 3}]  # Age is one


def test_of_type_then_navigation() -> None:
    obs = {"resourceType": "Observation", "valueCodeableConcept": {"text": "positive"}}
    expression = (
        "(Observation.value.ofType(string)) | (Observation.value.ofType(CodeableConcept)).text"
    )
    assert _values(expression, obs) == ["positive"]


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ({"reference": "Patient/1"}, "Patient"),
        ({"reference": "Patient/1/_history/2"}, "Patient"),
        ({"reference": "http://x/fhir/Patient/1"}, "Patient"),
        ({"reference": "https://x/fhir/Group/g/_history/3"}, "Group"),
        ({"reference": "urn:uuid:0f6f8f5b-4a11-4b38-9d3b-0c5d9c8a7b21"}, None),
        ({"reference": "urn:uuid:0f6f8f5b", "type": "Patient"}, "Patient"),
        ({"reference": "http://hl7.org/fhir/ValueSet/x|4.0.1"}, None),
        ({"identifier": {"value": "1"}, "type": "Patient"}, "Patient"),
        (
            {"identifier": {"value": "1"}, "type": "http://hl7.org/fhir/StructureDefinition/Group"},
            "Group",
        ),
        ({"identifier": {"value": "1"}}, None),
        ({"reference": "Unknown/1"}, None),
        ({"reference": "#p"}, "Patient"),
        ({"reference": "#missing"}, None),
        ("Patient/1", "Patient"),
    ],
)
def test_reference_type(reference: Any, expected: str | None) -> None:
    root = {"resourceType": "Observation", "contained": [{"resourceType": "Patient", "id": "p"}]}
    assert reference_type(reference, root) == expected


def test_where_resolve_is() -> None:
    obs = {
        "resourceType": "Observation",
        "subject": {"reference": "Patient/1"},
        "performer": [{"reference": "Practitioner/2"}, {"reference": "Patient/3"}],
    }
    assert _values("Observation.subject.where(resolve() is Patient)", obs) == [
        {"reference": "Patient/1"}
    ]
    assert _values("Observation.subject.where(resolve() is Group)", obs) == []
    assert _values("Observation.performer.where(resolve() is Patient)", obs) == [
        {"reference": "Patient/3"}
    ]


def test_where_equality_and_related_artifacts() -> None:
    assert _values("Patient.telecom.where(system='email').value", PATIENT) == ["taro@example.jp"]
    library = {
        "resourceType": "Library",
        "relatedArtifact": [
            {"type": "depends-on", "resource": "http://x/Library/a"},
            {"type": "composed-of", "resource": "http://x/Library/b"},
        ],
    }
    expression = "Library.relatedArtifact.where(type='composed-of').resource"
    assert _values(expression, library) == ["http://x/Library/b"]


@pytest.mark.parametrize(
    ("patient", "expected"),
    [
        ({}, [False]),
        ({"deceasedBoolean": False}, [False]),
        ({"deceasedBoolean": True}, [True]),
        ({"deceasedDateTime": "2020-01-01"}, [True]),
    ],
)
def test_exists_and_not_equal_false(patient: dict[str, Any], expected: list[bool]) -> None:
    resource = {"resourceType": "Patient", **patient}
    expression = "Patient.deceased.exists() and Patient.deceased != false"
    assert _values(expression, resource) == expected
    assert _values(expression, resource, "Patient") == expected


def test_boolean_logic_is_three_valued() -> None:
    assert _values("Patient.active and true", PATIENT) == []
    assert _values("Patient.active and false", PATIENT) == [False]
    assert _values("Patient.active or true", PATIENT) == [True]
    assert _values("Patient.birthDate.empty()", PATIENT) == [False]
    assert _values("Patient.active.exists().not()", PATIENT) == [True]
    assert _values("Patient.name.exists(family = 'ヤマダ')", PATIENT) == [True]


def test_extension_by_url_and_resource_variable() -> None:
    assert _values("Patient.extension('http://example.org/b').value", PATIENT) == ["B"]
    assert _values("Patient.name.where(family = %resource.name.family.first()).given", PATIENT) == [
        "太郎",
        "一",
    ]


def test_relative_expressions_evaluate_on_given_items() -> None:
    use = {"code": {"code": "age"}, "valueQuantity": {"value": 5}}
    items = compile("value.ofType(Quantity) | value.ofType(Range)").on([Value(use, None)], {})
    assert items == [Value({"value": 5}, "Quantity")]
    assert compile("Bundle.entry[0].resource")(
        {"resourceType": "Bundle", "entry": [{"resource": {"id": "a"}}, {"resource": {}}]}
    ) == [Value({"id": "a"}, None)]


@pytest.mark.parametrize(
    "expression",
    [
        "Observation.value > 5",
        "Observation.value + 1",
        "Observation.code.memberOf('http://x')",
        "Observation.code.resolve()",
        "Observation.code[Observation.id]",
        "Foo.bar",
        "%ucum",
        "Observation.code ~ 'x'",
        "(Observation.code",
        "Observation.code)",
        "Observation.",
        "Observation.code.where()",
        "Observation.code.extension(1)",
    ],
)
def test_unsupported_syntax_fails_at_compile_time(expression: str) -> None:
    with pytest.raises(FhirPathError):
        compile(expression)


def test_unknown_resource_type_for_compilation() -> None:
    with pytest.raises(FhirPathError, match="Unknown resource type"):
        compile("Patient.name", "Nonsense")
