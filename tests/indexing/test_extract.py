"""Index rows extracted from resources (https://hl7.org/fhir/R4/search.html#ptypes)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SHARED
from tobiume.indexing.dates import DATE_MAX, DATE_MIN, parse_range
from tobiume.indexing.extract import extract, plan
from tobiume.indexing.kinds.quantity import CURRENCY_SYSTEM
from tobiume.indexing.kinds.string import MAX_NORM_LENGTH
from tobiume.indexing.normalize import fold
from tobiume.indexing.rows import (
    DateRow,
    IndexRows,
    NumberRow,
    QuantityRow,
    ReferenceRow,
    StringRow,
    TokenRow,
    UriRow,
)

EXAMPLES = SHARED / "fhir-r4" / "examples"
EXAMPLE_FILES = sorted(EXAMPLES.glob("*.json"))
REPRESENTATION = "http://hl7.org/fhir/StructureDefinition/iso21090-EN-representation"

JP_PATIENT: dict[str, Any] = {
    "resourceType": "Patient",
    "id": "jp-1",
    "meta": {"profile": ["http://jpfhir.jp/fhir/core/StructureDefinition/JP_Patient"]},
    "identifier": [{"system": "urn:oid:1.2.392.100495.20.3.51.11311234567", "value": "00000010"}],
    "active": True,
    "name": [
        {
            "extension": [{"url": REPRESENTATION, "valueCode": "IDE"}],
            "use": "official",
            "text": "山田 太郎",
            "family": "山田",
            "given": ["太郎"],
        },
        {
            "extension": [{"url": REPRESENTATION, "valueCode": "SYL"}],
            "use": "official",
            "text": "ヤマダ タロウ",
            "family": "ヤマダ",
            "given": ["タロウ"],
        },
    ],
    "telecom": [{"system": "phone", "value": "0312345678", "use": "home"}],
    "gender": "male",
    "birthDate": "1970-01-01",
    "address": [
        {
            "text": "東京都新宿区西新宿２－８－１",
            "line": ["西新宿２－８－１"],
            "city": "新宿区",
            "state": "東京都",
            "postalCode": "163-8001",
            "country": "JP",
        }
    ],
}


def _load(name: str) -> dict[str, Any]:
    resource: dict[str, Any] = json.loads((EXAMPLES / name).read_text(encoding="utf-8"))
    return resource


def _strings(rows: IndexRows, param: str) -> set[tuple[str, str]]:
    return {(r.value_norm, r.value_exact) for r in rows.strings if r.param == param}


def _params(rows: IndexRows) -> set[str]:
    every: list[
        StringRow | TokenRow | ReferenceRow | DateRow | QuantityRow | NumberRow | UriRow
    ] = [
        *rows.strings,
        *rows.tokens,
        *rows.references,
        *rows.dates,
        *rows.quantities,
        *rows.numbers,
        *rows.uris,
    ]
    return {row.param for row in every}


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=[path.name for path in EXAMPLE_FILES])
def test_every_official_example_extracts(path: Path) -> None:
    resource = json.loads(path.read_text(encoding="utf-8"))
    rows = extract(resource)
    assert not {"_id", "_lastUpdated", "_text", "_content"} & _params(rows)
    for date in rows.dates:
        assert DATE_MIN <= date.low <= date.high <= DATE_MAX, (path.name, date)
    for string in rows.strings:
        assert 0 < len(string.value_norm) <= MAX_NORM_LENGTH


def test_examples_cover_every_row_kind() -> None:
    seen: set[str] = set()
    for path in EXAMPLE_FILES:
        rows = extract(json.loads(path.read_text(encoding="utf-8")))
        seen |= {kind for kind in IndexRows.__dataclass_fields__ if getattr(rows, kind)}
    assert seen == set(IndexRows.__dataclass_fields__)


def test_jp_core_patient_indexes_kanji_and_kana_names() -> None:
    rows = extract(JP_PATIENT)
    assert _strings(rows, "family") == {("山田", "山田"), ("やまた", "ヤマダ")}
    assert _strings(rows, "given") == {("太郎", "太郎"), ("たろう", "タロウ")}
    names = _strings(rows, "name")
    assert ("山田太郎", "山田 太郎") in names
    assert ("やまたたろう", "ヤマダ タロウ") in names
    kana = {(norm, exact) for norm, exact in names if not any(ch >= "\u4e00" for ch in exact)}
    assert _strings(rows, "phonetic") == kana  # JP Core: the kana (SYL) name only
    assert ("やまたたろう", "ヤマダ タロウ") in kana
    for query in ("ヤマダ", "やまだ", "ﾔﾏﾀﾞ", "ヤマダ　タロウ", "山田"):
        assert any(norm.startswith(fold(query)) for norm, _ in names), query


def test_jp_core_patient_other_rows() -> None:
    rows = extract(JP_PATIENT)
    assert ("新宿区", "新宿区") in _strings(rows, "address-city")
    assert ("1638001", "163-8001") in _strings(rows, "address-postalcode")
    assert ("西新宿281", "西新宿２－８－１") in _strings(rows, "address")
    assert set(rows.tokens) >= {
        TokenRow("identifier", "urn:oid:1.2.392.100495.20.3.51.11311234567", "00000010"),
        TokenRow("active", None, "true"),
        TokenRow("gender", None, "male"),
        TokenRow("phone", None, "0312345678"),
        TokenRow("telecom", None, "0312345678"),
        TokenRow("deceased", None, "false"),
    }
    assert rows.dates == [DateRow("birthdate", *parse_range("1970-01-01"))]
    assert rows.uris == [
        UriRow("_profile", "http://jpfhir.jp/fhir/core/StructureDefinition/JP_Patient")
    ]


def test_observation_rows() -> None:
    rows = extract(_load("Observation-example.json"))
    assert TokenRow("code", "http://loinc.org", "29463-7", "bodyweight") in rows.tokens
    assert TokenRow("status", None, "final") in rows.tokens
    assert (
        TokenRow(
            "category",
            "http://terminology.hl7.org/CodeSystem/observation-category",
            "vital-signs",
            "vitalsigns",
        )
        in rows.tokens
    )
    assert (
        QuantityRow("value-quantity", 185.0, "http://unitsofmeasure.org", "[lb_av]", "lbs")
        in rows.quantities
    )
    assert DateRow("date", *parse_range("2016-03-28")) in rows.dates
    assert ReferenceRow("subject", "Patient", "example", None) in rows.references
    assert ReferenceRow("patient", "Patient", "example", None) in rows.references
    assert ReferenceRow("encounter", "Encounter", "example", None) in rows.references


def test_observation_components() -> None:
    rows = extract(_load("Observation-blood-pressure.json"))
    values = {(r.param, r.value) for r in rows.quantities}
    assert ("component-value-quantity", 107.0) in values
    assert ("component-value-quantity", 60.0) in values
    assert ("value-quantity", 107.0) not in values
    assert TokenRow("component-code", "http://loinc.org", "8480-6", "systolicbloodpressure") in (
        rows.tokens
    )


def test_encounter_class_token() -> None:
    rows = extract(_load("Encounter-example.json"))
    assert (
        TokenRow(
            "class", "http://terminology.hl7.org/CodeSystem/v3-ActCode", "IMP", "inpatientencounter"
        )
        in rows.tokens
    )


def test_reference_forms() -> None:
    obs = {
        "resourceType": "Observation",
        "subject": {"reference": "Patient/p1/_history/3"},
        "performer": [
            {"reference": "https://other.example.jp/fhir/Practitioner/d1"},
            {"reference": "urn:uuid:1c7f6a58-1b7e-4e38-b0b5-2c5fa3f8a6ab"},
            {"reference": "#c1"},
            {"identifier": {"system": "urn:oid:1.2.392.100495.20.3.41", "value": "123"}},
        ],
        "basedOn": [{"reference": "Patient?identifier=x"}],
    }
    rows = extract(obs)
    assert set(rows.references) == {
        ReferenceRow("subject", "Patient", "p1", None),
        ReferenceRow("patient", "Patient", "p1", None),
        ReferenceRow(
            "performer", "Practitioner", "d1", "https://other.example.jp/fhir/Practitioner/d1"
        ),
        ReferenceRow("performer", None, None, "urn:uuid:1c7f6a58-1b7e-4e38-b0b5-2c5fa3f8a6ab"),
        ReferenceRow("based-on", None, None, "Patient?identifier=x"),
    }
    assert TokenRow("performer:identifier", "urn:oid:1.2.392.100495.20.3.41", "123") in rows.tokens


def test_canonical_references_keep_the_url_without_version() -> None:
    response = {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": "http://example.jp/Questionnaire/q|2.0",
        "subject": {"reference": "Patient/p1"},
    }
    rows = extract(response)
    assert (
        ReferenceRow("questionnaire", None, None, "http://example.jp/Questionnaire/q")
        in rows.references
    )
    assert ReferenceRow("patient", "Patient", "p1", None) in rows.references


def test_periods_and_timings() -> None:
    encounter = {"resourceType": "Encounter", "period": {"start": "2024-04-01T09:00:00+09:00"}}
    rows = extract(encounter)
    assert DateRow("date", parse_range("2024-04-01T09:00:00+09:00")[0], DATE_MAX) in rows.dates
    encounter["period"] = {"end": "2024-04"}
    assert DateRow("date", DATE_MIN, parse_range("2024-04")[1]) in extract(encounter).dates
    request = {
        "resourceType": "ServiceRequest",
        "occurrenceTiming": {"event": ["2024-01-01", "2024-01-08", "not a date"]},
    }
    assert {(r.param, r.low) for r in extract(request).dates} == {
        ("occurrence", parse_range("2024-01-01")[0]),
        ("occurrence", parse_range("2024-01-08")[0]),
    }
    request["occurrenceTiming"] = {
        "repeat": {"boundsPeriod": {"start": "2024-02", "end": "2024-03"}}
    }
    assert extract(request).dates == [
        DateRow("occurrence", parse_range("2024-02")[0], parse_range("2024-03")[1])
    ]
    condition = {"resourceType": "Condition", "onsetString": "childhood", "onsetAge": {}}
    assert not [r for r in extract(condition).dates if r.param == "onset-date"]


def test_quantities_money_and_ranges() -> None:
    charge = {"resourceType": "ChargeItem", "priceOverride": {"value": 40, "currency": "JPY"}}
    assert (
        QuantityRow("price-override", 40.0, CURRENCY_SYSTEM, "JPY", None)
        in extract(charge).quantities
    )
    condition = {
        "resourceType": "Condition",
        "onsetRange": {"low": {"value": 2, "unit": "a"}, "high": {"value": 4, "unit": "a"}},
    }
    assert {(r.param, r.value) for r in extract(condition).quantities} == {
        ("onset-age", 2.0),
        ("onset-age", 4.0),
    }


def test_numbers_and_uris() -> None:
    sequence = {"resourceType": "MolecularSequence", "variant": [{"start": 10, "end": 12}]}
    assert set(extract(sequence).numbers) == {
        NumberRow("variant-start", 10.0),
        NumberRow("variant-end", 12.0),
    }
    library = {"resourceType": "Library", "url": "http://example.jp/Library/a"}
    assert UriRow("url", "http://example.jp/Library/a") in extract(library).uris


def test_token_shapes() -> None:
    patient = {
        "resourceType": "Patient",
        "telecom": [{"system": "email", "value": "a@example.jp"}],
        "deceasedBoolean": True,
        "communication": [{"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": "ja"}]}}],
        "meta": {"tag": [{"system": "http://example.jp/tags", "code": "t"}]},
    }
    tokens = set(extract(patient).tokens)
    assert TokenRow("email", None, "a@example.jp") in tokens
    assert TokenRow("deceased", None, "true") in tokens
    assert TokenRow("language", "urn:ietf:bcp:47", "ja") in tokens
    assert TokenRow("_tag", "http://example.jp/tags", "t") in tokens


def test_duplicates_are_dropped() -> None:
    patient = {
        "resourceType": "Patient",
        "name": [{"family": "山田", "given": ["太郎"]}, {"family": "山田", "given": ["太郎"]}],
    }
    rows = extract(patient)
    assert rows.strings.count(StringRow("family", "山田", "山田")) == 1
    assert len(rows.strings) == len(set(rows.strings))


def test_long_strings_are_cut_for_the_index() -> None:
    text = "あ" * 500
    rows = extract({"resourceType": "Patient", "name": [{"family": text}]})
    assert StringRow("family", "あ" * MAX_NORM_LENGTH, text) in rows.strings


def test_plan_skips_what_is_not_indexed_here() -> None:
    codes = {step.code for step in plan("Observation")}
    assert "code" in codes
    assert "value-quantity" in codes
    assert "code-value-quantity" in codes
    assert not codes & {"_id", "_lastUpdated", "_text", "_content"}
    assert "near" not in {step.code for step in plan("Location")}
    assert plan("Observation") is plan("Observation")


def test_unknown_types_are_refused() -> None:
    with pytest.raises(ValueError, match="Not an R4 resource type"):
        extract({"resourceType": "Nonsense"})
    with pytest.raises(ValueError, match="Not an R4 resource type"):
        extract({})
