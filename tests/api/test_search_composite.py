"""Composite search parameters (https://hl7.org/fhir/R4/search.html#composite): every shape of
the R4 definitions (token with quantity, date, string, token, numbers, and a reference with a
token), prefixes on the value component, `\\$` escaping, OR and AND, and the rule that the
components match within one element: a systolic code and a diastolic value of two different
`Observation.component`s are no match. Expectations are written out from the resources each
test stores (some of them the official R4 examples). On SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.conftest import SHARED
from tests.helpers import matched_ids, observation, outcome_text, put

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
HBA1C = "urn:oid:1.2.392.200119.4.504|3D046000001920402"


async def _example(client: httpx.AsyncClient, name: str) -> None:
    await put(client, json.loads((SHARED / "fhir-r4" / "examples" / name).read_text()))


def _code(code: str, system: str = LOINC, text: str | None = None) -> dict[str, Any]:
    concept: dict[str, Any] = {"coding": [{"system": system, "code": code}]}
    if text is not None:
        concept["text"] = text
    return concept


def _mmhg(value: float) -> dict[str, Any]:
    return {"value": value, "unit": "mmHg", "system": UCUM, "code": "mm[Hg]"}


def _blood_pressure(res_id: str, systolic: float, diastolic: float) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": res_id,
        "status": "final",
        "code": _code("85354-9"),
        "component": [
            {"code": _code("8480-6"), "valueQuantity": _mmhg(systolic)},
            {"code": _code("8462-4"), "valueQuantity": _mmhg(diastolic)},
        ],
    }


@pytest.fixture
async def pressures(client: httpx.AsyncClient) -> None:
    await put(client, _blood_pressure("bp-high", 150, 85))
    await put(client, _blood_pressure("bp-dia", 120, 95))
    await _example(client, "Observation-blood-pressure.json")  # 107 / 60 mmHg


async def test_component_code_value_quantity_matches_within_one_component(
    client: httpx.AsyncClient, pressures: None
) -> None:
    param = "component-code-value-quantity"
    assert await matched_ids(client, "Observation", f"{param}={LOINC}|8480-6$gt140") == {"bp-high"}
    assert await matched_ids(client, "Observation", f"{param}=8462-4$gt90") == {"bp-dia"}
    assert await matched_ids(client, "Observation", f"{param}=8480-6$ge120") == {
        "bp-high",
        "bp-dia",
    }
    assert await matched_ids(client, "Observation", f"{param}=8480-6$le120") == {
        "bp-dia",
        "blood-pressure",
    }
    assert await matched_ids(client, "Observation", f"{param}=8480-6$107") == {"blood-pressure"}
    assert await matched_ids(client, "Observation", f"{param}=8480-6$lt100") == set()
    # bp-dia has a component of 95 and one coded 8480-6, but not the same one.
    assert await matched_ids(client, "Observation", f"{param}=8480-6$95") == set()
    assert await matched_ids(client, "Observation", f"{param}=8462-4$150") == set()
    assert await matched_ids(client, "Observation", f"{param}=8462-4$107") == set()
    # The official example's systolic component has a SNOMED CT coding beside LOINC.
    snomed = "http://snomed.info/sct|271649006"
    assert await matched_ids(client, "Observation", f"{param}={snomed}$107") == {"blood-pressure"}
    # Units: the quantity component is a whole quantity search value.
    unit = quote(f"8480-6$150|{UCUM}|mm[Hg]")
    assert await matched_ids(client, "Observation", f"{param}={unit}") == {"bp-high"}
    assert await matched_ids(client, "Observation", f"{param}={quote('8480-6$150||mmHg')}") == {
        "bp-high"
    }
    assert await matched_ids(
        client, "Observation", f"{param}={quote('8480-6$150|' + UCUM + '|kPa')}"
    ) == (set())
    # OR within one parameter, AND across repeats.
    assert await matched_ids(client, "Observation", f"{param}=8480-6$gt140,8462-4$gt90") == {
        "bp-high",
        "bp-dia",
    }
    assert await matched_ids(
        client, "Observation", f"{param}=8480-6$ge120&{param}=8462-4$lt90"
    ) == {"bp-high"}


async def test_combo_code_value_quantity_reads_the_observation_and_its_components(
    client: httpx.AsyncClient, pressures: None
) -> None:
    await put(client, {**observation("Patient/p1", 6.1), "id": "a1c-low"})
    await put(client, {**observation("Patient/p1", 7.5), "id": "a1c-high"})
    param = "combo-code-value-quantity"
    assert await matched_ids(client, "Observation", f"{param}=8480-6$150") == {"bp-high"}
    assert await matched_ids(client, "Observation", f"{param}={HBA1C}$gt7") == {"a1c-high"}
    assert await matched_ids(client, "Observation", f"{param}={HBA1C}$6.1") == {"a1c-low"}
    # code-value-quantity reads Observation.code and Observation.value only.
    assert await matched_ids(client, "Observation", f"code-value-quantity={HBA1C}$ge6") == {
        "a1c-low",
        "a1c-high",
    }
    assert await matched_ids(client, "Observation", "code-value-quantity=8480-6$150") == set()
    # The panel's own code has no value: no match through the Observation itself.
    assert await matched_ids(client, "Observation", f"{param}=85354-9$150") == set()


async def test_code_value_date_with_prefixes(client: httpx.AsyncClient) -> None:
    onset = {
        "resourceType": "Observation",
        "status": "final",
        "code": _code("11368-8"),
    }
    await put(client, {**onset, "id": "d-apr", "valueDateTime": "2026-04-01T09:00:00+09:00"})
    await put(client, {**onset, "id": "d-2025", "valueDateTime": "2025-12-31"})
    await put(
        client,
        {**onset, "id": "d-other", "code": _code("1234-5"), "valueDateTime": "2026-04-01"},
    )
    param = "code-value-date"
    assert await matched_ids(client, "Observation", f"{param}=11368-8$2026-04-01") == {"d-apr"}
    assert await matched_ids(client, "Observation", f"{param}=11368-8$ge2026") == {"d-apr"}
    assert await matched_ids(client, "Observation", f"{param}=11368-8$lt2026-01-01") == {"d-2025"}
    assert await matched_ids(client, "Observation", f"{param}={LOINC}|11368-8$2025") == {"d-2025"}
    assert await matched_ids(client, "Observation", f"{param}=1234-5$2025") == set()
    assert await matched_ids(client, "Observation", f"{param}=1234-5$2026-04") == {"d-other"}


async def test_code_value_string_folds_and_escapes_the_dollar(client: httpx.AsyncClient) -> None:
    base = {"resourceType": "Observation", "status": "final", "code": _code("X-NAME", "urn:x")}
    await put(client, {**base, "id": "s-kana", "valueString": "ヤマダ タロウ"})
    await put(client, {**base, "id": "s-price", "valueString": "US$100 a month"})
    param = "code-value-string"
    assert await matched_ids(client, "Observation", f"{param}=X-NAME$やまだ") == {"s-kana"}
    assert await matched_ids(client, "Observation", f"{param}=X-NAME${quote('ﾔﾏﾀﾞ')}") == {"s-kana"}
    assert (
        await matched_ids(client, "Observation", f"{param}=X-NAME$たろう") == set()
    )  # a prefix match
    escaped = quote("X-NAME$US\\$100")
    assert await matched_ids(client, "Observation", f"{param}={escaped}") == {"s-price"}
    # Unescaped, the dollar makes a third component: X-NAME$US$100 is no string search.
    refused = await client.get(f"Observation?{param}={quote('X-NAME$US$100')}")
    assert refused.status_code == 400
    assert "2 components" in outcome_text(refused)


async def test_token_token_composites(client: httpx.AsyncClient) -> None:
    base = {"resourceType": "Observation", "status": "final"}
    await put(
        client,
        {
            **base,
            "id": "blood-group",
            "code": _code("883-9"),
            "valueCodeableConcept": _code("112144000", "http://snomed.info/sct"),
        },
    )
    await put(
        client,
        {
            **base,
            "id": "panel",
            "code": _code("PANEL"),
            "component": [
                {"code": _code("883-9"), "valueCodeableConcept": _code("A")},
                {"code": _code("10331-7"), "valueCodeableConcept": _code("POS")},
            ],
        },
    )
    group = {
        "resourceType": "Group",
        "id": "women-over-65",
        "type": "person",
        "actual": False,
        "characteristic": [
            {
                "code": _code("gender", "urn:x"),
                "valueCodeableConcept": _code("female", "urn:y"),
                "exclude": False,
            },
            {"code": _code("smoker", "urn:x"), "valueBoolean": True, "exclude": False},
        ],
    }
    await put(client, group)
    sct = "http://snomed.info/sct|112144000"
    assert await matched_ids(client, "Observation", f"code-value-concept=883-9${sct}") == {
        "blood-group"
    }
    assert await matched_ids(client, "Observation", "code-value-concept=883-9$A") == set()
    assert await matched_ids(client, "Observation", "component-code-value-concept=883-9$A") == {
        "panel"
    }
    assert (
        await matched_ids(client, "Observation", "component-code-value-concept=883-9$POS") == set()
    )
    assert await matched_ids(
        client, "Observation", "combo-code-value-concept=883-9$A,883-9$112144000"
    ) == {
        "panel",
        "blood-group",
    }
    assert await matched_ids(client, "Group", "characteristic-value=gender$female") == {
        "women-over-65"
    }
    assert await matched_ids(client, "Group", "characteristic-value=urn:x|smoker$true") == {
        "women-over-65"
    }
    assert await matched_ids(client, "Group", "characteristic-value=gender$true") == set()
    assert await matched_ids(client, "Group", "characteristic-value=smoker$female") == set()


async def test_reference_and_number_composites_on_official_examples(
    client: httpx.AsyncClient,
) -> None:
    await _example(client, "DocumentReference-example.json")  # relatesTo appends example
    await _example(client, "MolecularSequence-example.json")  # NC_000009.11, 22125500-22125510
    assert await matched_ids(
        client, "DocumentReference", "relationship=DocumentReference/example$appends"
    ) == {"example"}
    assert await matched_ids(client, "DocumentReference", "relationship=example$replaces") == set()
    window = "referenceseqid-window-coordinate=NC_000009.11"
    assert await matched_ids(client, "MolecularSequence", f"{window}$22125500$22125510") == {
        "example"
    }
    assert await matched_ids(client, "MolecularSequence", f"{window}$ge22125000$le22126000") == {
        "example"
    }
    assert (
        await matched_ids(client, "MolecularSequence", f"{window}$gt22125500$le22126000") == set()
    )
    variant = "referenceseqid-variant-coordinate=NC_000009.11"
    assert await matched_ids(client, "MolecularSequence", f"{variant}$22125503$22125504") == {
        "example"
    }
    assert await matched_ids(client, "MolecularSequence", f"{variant}$22125500$22125504") == set()


async def test_missing_and_refused_values(client: httpx.AsyncClient, pressures: None) -> None:
    param = "component-code-value-quantity"
    assert await matched_ids(client, "Observation", f"{param}:missing=false") == {
        "bp-high",
        "bp-dia",
        "blood-pressure",
    }
    assert await matched_ids(client, "Observation", "code-value-quantity:missing=false") == set()
    for bad in (
        f"{param}=8480-6",  # one component of two
        f"{param}=8480-6$150$1",  # three
        f"{param}=8480-6$",  # an empty one
        f"{param}=$150",
        f"{param}=8480-6$high",  # no number
        f"{param}=8480-6$150|mm",  # half a unit
        "code-value-date=11368-8$yesterday",
        f"{param}:exact=8480-6$150",  # composites take no modifiers
    ):
        response = await client.get(f"Observation?{bad}")
        assert response.status_code == 400, bad
        assert response.json()["resourceType"] == "OperationOutcome"


async def test_capability_statement_lists_the_composites(client: httpx.AsyncClient) -> None:
    statement = (await client.get("metadata")).json()
    by_type = {r["type"]: r for r in statement["rest"][0]["resource"]}
    observation_params = {p["name"]: p["type"] for p in by_type["Observation"]["searchParam"]}
    composites = {name for name, kind in observation_params.items() if kind == "composite"}
    assert composites == {
        "code-value-quantity",
        "code-value-date",
        "code-value-string",
        "code-value-concept",
        "component-code-value-quantity",
        "component-code-value-concept",
        "combo-code-value-quantity",
        "combo-code-value-concept",
    }
    group_params = {p["name"] for p in by_type["Group"]["searchParam"]}
    assert "characteristic-value" in group_params
    assert "near" not in {p["name"] for p in by_type["Location"]["searchParam"]}
