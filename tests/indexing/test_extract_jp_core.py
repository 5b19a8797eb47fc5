"""Index rows of JP Core's own SearchParameters (https://jpfhir.jp/fhir/core/1.2.0-dev/toc.html,
section 3.7 Search Parameter) on JP Core-shaped resources: the expressions are JP Core's, run by
this server's FHIRPath subset."""

from __future__ import annotations

from typing import Any

from tobiume.indexing.dates import parse_range
from tobiume.indexing.extract import extract
from tobiume.indexing.rows import DateRow, IndexRows, TokenRow

JP_EXT = "http://jpfhir.jp/fhir/core/Extension/StructureDefinition/"
REPRESENTATION = "http://hl7.org/fhir/StructureDefinition/iso21090-EN-representation"


def _strings(rows: IndexRows, param: str) -> set[tuple[str, str]]:
    return {(r.value_norm, r.value_exact) for r in rows.strings if r.param == param}


def _tokens(rows: IndexRows, prefix: str) -> set[TokenRow]:
    return {r for r in rows.tokens if r.param.startswith(prefix)}


def _name(kind: str, use: str, text: str) -> dict[str, Any]:
    return {
        "extension": [{"url": REPRESENTATION, "valueCode": kind}],
        "use": use,
        "text": text,
    }


def test_coverage_insured_person_symbol_number_and_sub_number() -> None:
    coverage = {
        "resourceType": "Coverage",
        "status": "active",
        "extension": [
            {"url": JP_EXT + "JP_Coverage_InsuredPersonSymbol", "valueString": "記号１２"},
            {"url": JP_EXT + "JP_Coverage_InsuredPersonNumber", "valueString": "5678"},
            {"url": JP_EXT + "JP_Coverage_InsuredPersonSubNumber", "valueString": "01"},
            {"url": "http://example.org/other", "valueString": "9999"},
        ],
        "beneficiary": {"reference": "Patient/p1"},
        "payor": [{"reference": "Organization/o1"}],
    }
    rows = extract(coverage)
    assert _strings(rows, "jp-insured-personsymbol") == {("記号12", "記号１２")}
    assert _strings(rows, "jp-insured-personnumber") == {("5678", "5678")}
    assert _strings(rows, "jp-insured-personsubnumber") == {("01", "01")}


def test_organization_insurance_codes_and_prefecture() -> None:
    organization = {
        "resourceType": "Organization",
        "extension": [
            {
                "url": JP_EXT + "JP_Organization_InsuranceOrganizationCategory",
                "valueCoding": {"system": "urn:example:category", "code": "1"},
            },
            {
                "url": JP_EXT + "JP_Organization_InsuranceOrganizationNo",
                "valueIdentifier": {"system": "urn:example:no", "value": "1234567"},
            },
            {
                "url": JP_EXT + "JP_Organization_PrefectureNo",
                "valueCoding": {"system": "urn:example:pref", "code": "40"},
            },
        ],
        "name": "北九州市立病院",
    }
    rows = extract(organization)
    assert _tokens(rows, "jp-") == {
        TokenRow("jp-insurance-organizationcategory", "urn:example:category", "1"),
        TokenRow("jp-insurance-organizationno", "urn:example:no", "1234567"),
        TokenRow("jp-prefectureno", "urn:example:pref", "40"),
    }


def test_medication_request_dosage_start() -> None:
    request = {
        "resourceType": "MedicationRequest",
        "status": "active",
        "intent": "order",
        "subject": {"reference": "Patient/p1"},
        "dosageInstruction": [
            {
                "extension": [
                    {
                        "url": JP_EXT + "JP_MedicationDosage_PeriodOfUse",
                        "valuePeriod": {"start": "2024-04-01", "end": "2024-04-14"},
                    }
                ]
            }
        ],
    }
    rows = extract(request)
    assert [r for r in rows.dates if r.param == "jp-medication-start"] == [
        DateRow("jp-medication-start", *parse_range("2024-04-01"))
    ]


def test_kana_sort_indexes_the_usual_kana_full_name_only() -> None:
    """JP_Patient_KanaSort_SP: the `text` of the name that is kana (SYL) *and* `use` usual."""
    usual = {
        "resourceType": "Patient",
        "name": [_name("IDE", "official", "山田 太郎"), _name("SYL", "usual", "ヤマダ タロウ")],
    }
    assert _strings(extract(usual), "jp-kana-sort") == {("やまたたろう", "ヤマダ タロウ")}
    official = {
        "resourceType": "Patient",
        "name": [_name("IDE", "usual", "山田 太郎"), _name("SYL", "official", "ヤマダ タロウ")],
    }
    assert _strings(extract(official), "jp-kana-sort") == set()
