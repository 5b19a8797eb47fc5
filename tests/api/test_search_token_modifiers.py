"""Token modifiers (https://hl7.org/fhir/R4/search.html#token): `:text` matches the text of a
code (CodeableConcept.text, Coding.display, Identifier.type.text) as string search matches,
with JP Core's folding (kanji, kana of either kind and width, case, spaces); `:of-type` an
identifier by its type coding and value; `:in`, `:not-in`, `:above` and `:below` need a
terminology service and are refused with a 400. On SQLite and PostgreSQL.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.helpers import JP_OID, matched_ids, outcome_text, patient, put

V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
ICD10 = "http://jpfhir.jp/fhir/core/CodeSystem/JP_ConditionDiseaseCode_ICD10"


def _condition(res_id: str, code: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "id": res_id,
        "subject": {"reference": "Patient/p1"},
        "code": code,
    }


@pytest.fixture
async def conditions(client: httpx.AsyncClient) -> None:
    await put(
        client,
        _condition(
            "diabetes",
            {
                "coding": [{"system": ICD10, "code": "E11", "display": "Type 2 diabetes mellitus"}],
                "text": "２型糖尿病",
            },
        ),
    )
    await put(
        client,
        _condition(
            "hypertension", {"coding": [{"system": ICD10, "code": "I10", "display": "高血圧症"}]}
        ),
    )
    await put(client, _condition("colon", {"text": "ﾀﾞｲﾁｮｳｶﾞﾝ"}))


async def test_text_matches_display_and_text_folded(
    client: httpx.AsyncClient, conditions: None
) -> None:
    assert await matched_ids(client, "Condition", "code:text=2型") == {
        "diabetes"
    }  # full width folded
    assert await matched_ids(client, "Condition", "code:text=２型糖尿") == {"diabetes"}
    assert await matched_ids(client, "Condition", f"code:text={quote('type 2 DIABETES')}") == {
        "diabetes"
    }
    assert await matched_ids(client, "Condition", "code:text=高血圧") == {"hypertension"}
    assert await matched_ids(client, "Condition", "code:text=だいちょう") == {
        "colon"
    }  # kana, dakuten
    assert await matched_ids(client, "Condition", "code:text=ダイチョウガン") == {"colon"}
    assert await matched_ids(client, "Condition", "code:text=糖尿") == set()  # from the start only
    assert await matched_ids(client, "Condition", "code:text=E11") == set()  # the code is no text
    assert await matched_ids(client, "Condition", "code:text=高血圧,だいちょう") == {
        "hypertension",
        "colon",
    }
    # The text-only CodeableConcept is no code: plain token search does not see its text.
    assert await matched_ids(client, "Condition", "code=ﾀﾞｲﾁｮｳｶﾞﾝ") == set()
    assert await matched_ids(client, "Condition", f"code={ICD10}|E11") == {"diabetes"}
    assert await matched_ids(client, "Condition", "code:not=E11") == {"hypertension", "colon"}
    assert (await client.get("Condition?code:text=・")).status_code == 400


@pytest.fixture
async def numbered(client: httpx.AsyncClient) -> None:
    card = {
        "type": {"coding": [{"system": V2_0203, "code": "MR"}], "text": "診察券番号"},
        "system": JP_OID,
        "value": "123",
    }
    insurance = {
        "type": {"coding": [{"system": V2_0203, "code": "MB"}], "text": "被保険者番号"},
        "system": "urn:oid:1.2.392.100495.20.3.61",
        "value": "999",
    }
    await put(client, {**patient(), "id": "p1", "identifier": [card, insurance]})
    await put(client, {**patient(mrn="123"), "id": "p2"})  # value 123, no type


async def test_identifier_of_type(client: httpx.AsyncClient, numbered: None) -> None:
    mr = f"{V2_0203}|MR"
    assert await matched_ids(client, "Patient", f"identifier:of-type={mr}|123") == {"p1"}
    assert await matched_ids(client, "Patient", f"identifier:of-type={V2_0203}|MB|999") == {"p1"}
    assert await matched_ids(client, "Patient", f"identifier:of-type={mr}|999") == set()
    assert await matched_ids(client, "Patient", f"identifier:of-type={V2_0203}|MB|123") == set()
    assert await matched_ids(client, "Patient", "identifier:of-type=urn:other|MR|123") == set()
    assert await matched_ids(client, "Patient", "identifier=123") == {"p1", "p2"}
    assert await matched_ids(client, "Patient", "identifier:text=診察券") == {"p1"}
    assert (
        await matched_ids(client, "Patient", "identifier:text=ひほけんしゃ") == set()
    )  # kanji only
    assert await matched_ids(client, "Patient", "identifier:text=被保険者") == {"p1"}
    for bad in ("MR|123", f"{mr}|", "|MR|123", "123"):
        response = await client.get(f"Patient?identifier:of-type={quote(bad)}")
        assert response.status_code == 400, bad
        assert "type-system|type-code|value" in outcome_text(response)


@pytest.mark.parametrize("modifier", ["in", "not-in", "above", "below"])
async def test_terminology_modifiers_are_refused(client: httpx.AsyncClient, modifier: str) -> None:
    response = await client.get(
        f"Condition?code:{modifier}={quote('http://example.org/ValueSet/x')}"
    )
    assert response.status_code == 400
    assert "terminology" in outcome_text(response)
