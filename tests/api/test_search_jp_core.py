"""Search by JP Core's own SearchParameters (https://jpfhir.jp/fhir/core/1.2.0-dev/toc.html,
section 3.7 Search Parameter), through HTTP on SQLite and PostgreSQL: the insured person's symbol,
number and sub-number on Coverage, the insurance codes and prefecture of an Organization, the
dosage start of a MedicationRequest, and `_sort=jp-kana-sort` (the usual kana name, folded as
JP Core's string-search guide asks). The insurer number (保険者番号) has no JP Core parameter: it
is the payer Organization's identifier, searched with the official `payor:identifier`.
Each expectation is written out from the resources the test creates.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import BASE
from tests.helpers import matched_ids, patient, put
from tobiume.fhir.searchparams import registry

JP_EXT = "http://jpfhir.jp/fhir/core/Extension/StructureDefinition/"
JP_SP = "http://jpfhir.jp/fhir/core/SearchParameter/"
REPRESENTATION = "http://hl7.org/fhir/StructureDefinition/iso21090-EN-representation"
INSURER_NO = "urn:oid:1.2.392.100495.20.3.61"


async def _order(client: httpx.AsyncClient, res_type: str, query: str) -> list[str]:
    response = await client.get(f"{res_type}?{query}")
    assert response.status_code == 200, response.text
    return [
        e["resource"]["id"]
        for e in response.json().get("entry", [])
        if e["search"]["mode"] == "match"
    ]


def _coverage(cid: str, payor: dict[str, Any], **insured: str) -> dict[str, Any]:
    names = {"symbol": "Symbol", "number": "Number", "sub": "SubNumber"}
    return {
        "resourceType": "Coverage",
        "id": cid,
        "extension": [
            {"url": f"{JP_EXT}JP_Coverage_InsuredPerson{names[key]}", "valueString": value}
            for key, value in insured.items()
        ],
        "status": "active",
        "beneficiary": {"reference": "Patient/p1"},
        "payor": [payor],
    }


@pytest.fixture
async def coverages(client: httpx.AsyncClient) -> None:
    await put(client, {**patient(mrn="P1"), "id": "p1"})
    kenpo = {"reference": "Organization/kenpo"}
    city = {
        "reference": "Organization/city",
        "identifier": {"system": INSURER_NO, "value": "407100"},
    }
    await put(client, _coverage("kenpo", kenpo, symbol="記号１２", number="5678", sub="01"))
    await put(client, _coverage("kokuho", kenpo, symbol="123", number="567890", sub="02"))
    await put(client, _coverage("care", city, number="0000012345"))


async def test_coverage_insured_person_symbol_number_sub_number(
    client: httpx.AsyncClient, coverages: None
) -> None:
    assert await matched_ids(client, "Coverage", "jp-insured-personsymbol=記号12") == {"kenpo"}
    assert await matched_ids(client, "Coverage", "jp-insured-personsymbol=１２３") == {"kokuho"}
    # string search matches the start of the value (https://hl7.org/fhir/R4/search.html#string)
    assert await matched_ids(client, "Coverage", "jp-insured-personnumber=5678") == {
        "kenpo",
        "kokuho",
    }
    assert await matched_ids(client, "Coverage", "jp-insured-personnumber:exact=5678") == {"kenpo"}
    assert await matched_ids(client, "Coverage", "jp-insured-personnumber=0000012345") == {"care"}
    assert await matched_ids(client, "Coverage", "jp-insured-personnumber=9999") == set()
    assert await matched_ids(client, "Coverage", "jp-insured-personsubnumber=02") == {"kokuho"}
    assert await matched_ids(client, "Coverage", "jp-insured-personsymbol:missing=true") == {"care"}
    assert await matched_ids(
        client, "Coverage", "jp-insured-personnumber=5678&jp-insured-personsubnumber=01"
    ) == {"kenpo"}
    strict = {"Prefer": "handling=strict"}  # a Coverage parameter is unknown on Patient
    response = await client.get("Patient?jp-insured-personnumber=5678", headers=strict)
    assert response.status_code == 400


async def test_insurer_number_is_the_payers_identifier(
    client: httpx.AsyncClient, coverages: None
) -> None:
    query = f"payor:identifier={INSURER_NO}|407100"
    assert await matched_ids(client, "Coverage", query) == {"care"}
    assert await matched_ids(client, "Coverage", f"payor:identifier={INSURER_NO}|401005") == set()


async def test_organization_insurance_codes_and_prefecture(client: httpx.AsyncClient) -> None:
    def org(oid: str, category: str, number: str, prefecture: str) -> dict[str, Any]:
        return {
            "resourceType": "Organization",
            "id": oid,
            "name": oid,
            "extension": [
                {
                    "url": f"{JP_EXT}JP_Organization_InsuranceOrganizationCategory",
                    "valueCoding": {"system": "urn:example:category", "code": category},
                },
                {
                    "url": f"{JP_EXT}JP_Organization_InsuranceOrganizationNo",
                    "valueIdentifier": {"system": "urn:example:no", "value": number},
                },
                {
                    "url": f"{JP_EXT}JP_Organization_PrefectureNo",
                    "valueCoding": {"system": "urn:example:pref", "code": prefecture},
                },
            ],
        }

    await put(client, org("hospital", "1", "1234567", "40"))
    await put(client, org("pharmacy", "4", "7654321", "40"))
    await put(client, org("tokyo", "1", "1111111", "13"))
    assert await matched_ids(client, "Organization", "jp-prefectureno=40") == {
        "hospital",
        "pharmacy",
    }
    assert await matched_ids(client, "Organization", "jp-insurance-organizationcategory=4") == {
        "pharmacy"
    }
    assert await matched_ids(client, "Organization", "jp-insurance-organizationno=1234567") == {
        "hospital"
    }
    assert await matched_ids(
        client, "Organization", "jp-insurance-organizationno=urn:example:no|1111111"
    ) == {"tokyo"}
    assert await matched_ids(
        client, "Organization", "jp-insurance-organizationcategory=1&jp-prefectureno=13"
    ) == {"tokyo"}


async def test_medication_request_dosage_start(client: httpx.AsyncClient) -> None:
    await put(client, {**patient(mrn="P1"), "id": "p1"})
    for rid, start in (("april", "2024-04-01"), ("may", "2024-05-20")):
        await put(
            client,
            {
                "resourceType": "MedicationRequest",
                "id": rid,
                "status": "active",
                "intent": "order",
                "medicationCodeableConcept": {"text": "アムロジピン錠5mg"},
                "subject": {"reference": "Patient/p1"},
                "dosageInstruction": [
                    {
                        "extension": [
                            {
                                "url": f"{JP_EXT}JP_MedicationDosage_PeriodOfUse",
                                "valuePeriod": {"start": start},
                            }
                        ]
                    }
                ],
            },
        )
    assert await matched_ids(client, "MedicationRequest", "jp-medication-start=2024-04") == {
        "april"
    }
    assert await matched_ids(client, "MedicationRequest", "jp-medication-start=ge2024-05") == {
        "may"
    }
    assert await matched_ids(client, "MedicationRequest", "jp-medication-start=lt2024") == set()


def _person(pid: str, kanji: str, kana: str, kana_use: str = "usual") -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": pid,
        "name": [
            {
                "extension": [{"url": REPRESENTATION, "valueCode": "IDE"}],
                "use": "official",
                "text": kanji,
            },
            {
                "extension": [{"url": REPRESENTATION, "valueCode": "SYL"}],
                "use": kana_use,
                "text": kana,
            },
        ],
    }


@pytest.fixture
async def kana_people(client: httpx.AsyncClient) -> None:
    for body in (
        _person("sato", "佐藤 花子", "サトウ ハナコ"),
        _person("tahata", "田畑 次郎", "タハタ ジロウ"),
        _person("official", "青木 一郎", "アオキ イチロウ", kana_use="official"),
        _person("abe", "阿部 真一", "アベ シンイチ"),
        _person("tabata", "田端 次郎", "タバタ ジロウ"),
        _person("kato", "加藤 太郎", "ｶﾄｳ ﾀﾛｳ"),  # half-width kana folds to the same order
        _person("ito", "伊藤 恵", "いとう めぐみ"),  # hiragana sorts with katakana
    ):
        await put(client, body)


async def test_kana_sort_orders_by_the_usual_kana_name(
    client: httpx.AsyncClient, kana_people: None
) -> None:
    # あべ, いとう, かとう, さとう, then たはた twice: たばた folds to たはた (no dakuten), so
    # タハタ and タバタ tie and keep the order they were created in. アオキ is a kana name of
    # use `official`, not `usual`: JP Core's definition gives it no sort value, so it is last.
    ascending = ["abe", "ito", "kato", "sato", "tahata", "tabata", "official"]
    assert await _order(client, "Patient", "_sort=jp-kana-sort") == ascending
    assert await _order(client, "Patient", "_sort=-jp-kana-sort") == [
        "tahata",
        "tabata",
        "sato",
        "kato",
        "ito",
        "abe",
        "official",
    ]
    assert await _order(client, "Patient", "_sort=jp-kana-sort,-_id") == [
        "abe",
        "ito",
        "kato",
        "sato",
        "tahata",
        "tabata",
        "official",
    ]
    assert await _order(client, "Patient", "_sort=jp-kana-sort&_count=3") == ascending[:3]
    pages: list[str] = []
    url: str | None = "Patient?_sort=jp-kana-sort&_count=2"
    while url is not None:
        page = (await client.get(url)).json()
        pages.extend(e["resource"]["id"] for e in page.get("entry", []))
        links = {link["relation"]: link["url"] for link in page["link"]}
        url = links["next"].removeprefix(BASE + "/") if "next" in links else None
    assert pages == ascending
    # as a search parameter it is a string search on the same kana
    assert await matched_ids(client, "Patient", "jp-kana-sort=たばた") == {"tahata", "tabata"}


async def test_capability_statement_lists_jp_core_parameters_with_their_definitions(
    client: httpx.AsyncClient,
) -> None:
    statement = (await client.get("metadata")).json()
    by_type = {r["type"]: r["searchParam"] for r in statement["rest"][0]["resource"]}
    expected = {
        "Patient": {"jp-kana-sort": ("string", "JP_Patient_KanaSort_SP")},
        "Coverage": {
            "jp-insured-personsymbol": ("string", "JP_Coverage_InsuredPersonSymbol_SP"),
            "jp-insured-personnumber": ("string", "JP_Coverage_InsuredPersonNumber_SP"),
            "jp-insured-personsubnumber": ("string", "JP_Coverage_InsuredPersonSubNumber_SP"),
        },
        "MedicationRequest": {"jp-medication-start": ("date", "JP_MedicationRequest_Start_SP")},
        "Organization": {
            "jp-insurance-organizationcategory": (
                "token",
                "JP_Organization_InsuranceOrganizationCategory_SP",
            ),
            "jp-insurance-organizationno": ("token", "JP_Organization_InsuranceOrganizationNo_SP"),
            "jp-prefectureno": ("token", "JP_Organization_PrefectureNo_SP"),
        },
    }
    for res_type, params in by_type.items():
        jp = {
            p["name"]: (p["type"], p["definition"].removeprefix(JP_SP))
            for p in params
            if p["definition"].startswith(JP_SP)
        }
        assert jp == expected.get(res_type, {}), res_type
        for p in params:  # every entry is a definition this server loaded, by its own code
            definition = registry().by_url(p["definition"])
            assert definition is not None, (res_type, p["name"])
            assert definition.code == p["name"]
    family = next(p for p in by_type["Patient"] if p["name"] == "family")
    assert family["definition"] == "http://hl7.org/fhir/SearchParameter/individual-family"
