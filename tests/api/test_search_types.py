"""Search by every parameter type (https://hl7.org/fhir/R4/search.html#ptypes): string with JP
Core's folding and `:exact` / `:contains`, reference in all its forms and `:Type` /
`:identifier`, date with prefixes and partial dates, number and quantity with implicit
precision and units, uri with `:above` / `:below`, `:missing` on any type and token `:not`.
Each expectation is written out from the resources the test creates. On SQLite and PostgreSQL.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import BASE
from tests.helpers import matched_ids, observation, patient, put

UCUM = "http://unitsofmeasure.org"


@pytest.fixture
async def people(client: httpx.AsyncClient) -> None:
    await put(
        client,
        {
            **patient(mrn="N1", family="山田", kana="ヤマダ", given="太郎", given_kana="タロウ"),
            "id": "yamada",
        },
    )
    await put(
        client,
        {
            **patient(mrn="N2", family="田畑", kana="タハタ", given="花子", given_kana="ハナコ"),
            "id": "tahata",
        },
    )
    await put(
        client,
        {
            **patient(mrn="N3", family="田端", kana="タバタ", given="次郎", given_kana="ジロウ"),
            "id": "tabata",
            "gender": "female",
        },
    )
    nobirth = {**patient(mrn="N4", family="Smith", kana="スミス"), "id": "smith"}
    del nobirth["birthDate"]
    nobirth["gender"] = "unknown"
    await put(client, nobirth)


async def test_string_search_folds_as_jp_core_asks(client: httpx.AsyncClient, people: None) -> None:
    assert await matched_ids(client, "Patient", "name=やまだ") == {"yamada"}
    assert await matched_ids(client, "Patient", "name=ﾔﾏﾀﾞ") == {"yamada"}
    assert await matched_ids(client, "Patient", "name=ヤマ") == {"yamada"}
    assert await matched_ids(client, "Patient", "name=山") == {"yamada"}
    assert await matched_ids(client, "Patient", "family=たはた") == {"tahata", "tabata"}
    assert await matched_ids(client, "Patient", "family=SMI") == {"smith"}
    assert await matched_ids(client, "Patient", "family:exact=タバタ") == {"tabata"}
    assert await matched_ids(client, "Patient", "family:exact=たばた") == set()
    assert await matched_ids(client, "Patient", "family:exact=smith") == set()
    assert await matched_ids(client, "Patient", "name:contains=ナコ") == {"tahata"}
    assert await matched_ids(client, "Patient", "name:contains=100%25") == set()  # % is no wildcard
    assert await matched_ids(client, "Patient", "name=やまだ,たはた") == {
        "yamada",
        "tahata",
        "tabata",
    }
    assert await matched_ids(client, "Patient", "name=やまだ&name=たろう") == {"yamada"}
    assert (await client.get("Patient?name:below=x")).status_code == 400
    assert (await client.get("Patient?name=・")).status_code == 400


async def test_token_not_and_missing(client: httpx.AsyncClient, people: None) -> None:
    assert await matched_ids(client, "Patient", "gender:not=male") == {"tabata", "smith"}
    assert await matched_ids(client, "Patient", "birthdate:missing=true") == {"smith"}
    assert await matched_ids(client, "Patient", "birthdate:missing=false") == {
        "yamada",
        "tahata",
        "tabata",
    }
    assert await matched_ids(client, "Patient", "identifier:missing=true") == set()
    assert (await client.get("Patient?birthdate:missing=maybe")).status_code == 400


async def test_reference_forms(client: httpx.AsyncClient) -> None:
    await put(client, {**patient(mrn="R1"), "id": "p1"})
    await put(client, {**patient(mrn="R2"), "id": "p2"})
    await put(client, {**observation("Patient/p1"), "id": "o1"})
    await put(client, {**observation(f"{BASE}/Patient/p2"), "id": "o2"})
    await put(client, {**observation("http://elsewhere.example/fhir/Patient/p1"), "id": "o3"})
    logical = observation("Patient/p1")
    logical["subject"] = {
        "identifier": {"system": "urn:oid:1.2.392.100495.20.3.51.11234567890", "value": "R9"}
    }
    await put(client, {**logical, "id": "o4"})
    assert await matched_ids(client, "Observation", "subject=Patient/p1") == {"o1"}
    assert await matched_ids(client, "Observation", "subject=p1") == {"o1"}
    assert await matched_ids(client, "Observation", "subject:Patient=p1") == {"o1"}
    assert await matched_ids(client, "Observation", "patient=p1") == {"o1"}
    assert await matched_ids(client, "Observation", "patient=Patient/p2") == {"o2"}
    assert await matched_ids(client, "Observation", f"subject={BASE}/Patient/p1") == {"o1"}
    assert await matched_ids(
        client, "Observation", "subject=http://elsewhere.example/fhir/Patient/p1"
    ) == {"o3"}
    assert await matched_ids(client, "Observation", "subject=Patient/p1,Patient/p2") == {"o1", "o2"}
    assert await matched_ids(client, "Observation", "subject=Patient/nobody") == set()
    assert await matched_ids(
        client, "Observation", "subject:identifier=urn:oid:1.2.392.100495.20.3.51.11234567890|R9"
    ) == {"o4"}
    assert (await client.get("Observation?subject:Medication=p1")).status_code == 400
    assert (await client.get("Observation?subject:Group=Patient/p1")).status_code == 400


async def test_date_prefixes_and_precision(client: httpx.AsyncClient) -> None:
    await put(client, {**patient(mrn="D1"), "id": "d"})
    early = {
        **observation("Patient/d"),
        "id": "early",
        "effectiveDateTime": "2024-03-15T09:00:00+09:00",
    }
    late = {**observation("Patient/d"), "id": "late", "effectiveDateTime": "2025-06-01"}
    await put(client, early)
    await put(client, late)
    assert await matched_ids(client, "Observation", "date=2024") == {"early"}
    assert await matched_ids(client, "Observation", "date=2024-03-15") == {"early"}
    assert await matched_ids(client, "Observation", "date=2024-03-15T00:00:00Z") == {"early"}
    assert await matched_ids(client, "Observation", "date=ge2025-01-01") == {"late"}
    assert await matched_ids(client, "Observation", "date=lt2025") == {"early"}
    assert await matched_ids(client, "Observation", "date=gt2024-03-15T00:00:00Z") == {"late"}
    assert await matched_ids(client, "Observation", "date=ne2024") == {"late"}
    assert await matched_ids(client, "Observation", "date=sa2024-12-31") == {"late"}
    assert await matched_ids(client, "Observation", "date=eb2025-01") == {"early"}
    assert await matched_ids(client, "Observation", "date=ge2024&date=le2024-12") == {"early"}
    assert await matched_ids(client, "Observation", "date=ap2025-06-02") == {"late"}
    assert await matched_ids(client, "Patient", "birthdate=1940") == {"d"}
    assert (await client.get("Observation?date=2024-13-01")).status_code == 400
    assert (await client.get("Observation?date=yesterday")).status_code == 400


async def test_quantity_and_number(client: httpx.AsyncClient) -> None:
    await put(client, {**patient(mrn="Q1"), "id": "q"})
    await put(client, {**observation("Patient/q", value=6.1), "id": "six"})
    await put(client, {**observation("Patient/q", value=7.5), "id": "seven"})
    assert await matched_ids(client, "Observation", "value-quantity=gt7") == {"seven"}
    assert await matched_ids(client, "Observation", "value-quantity=6.1") == {"six"}
    assert await matched_ids(client, "Observation", "value-quantity=6") == {"six"}  # [5.5, 6.5)
    assert await matched_ids(client, "Observation", "value-quantity=6.0") == set()  # [5.95, 6.05)
    assert await matched_ids(client, "Observation", f"value-quantity=6.1|{UCUM}|%25") == {"six"}
    assert await matched_ids(client, "Observation", "value-quantity=6.1||%25") == {"six"}
    assert await matched_ids(client, "Observation", f"value-quantity=6.1|{UCUM}|mg") == set()
    assert await matched_ids(client, "Observation", "value-quantity=ap7") == {"seven"}
    assert await matched_ids(client, "Observation", "value-quantity=le7.5") == {"six", "seven"}
    assert (await client.get("Observation?value-quantity=high")).status_code == 400
    risk = {
        "resourceType": "RiskAssessment",
        "id": "risk",
        "status": "final",
        "subject": {"reference": "Patient/q"},
        "prediction": [{"probabilityDecimal": 0.25}],
    }
    await put(client, risk)
    assert await matched_ids(client, "RiskAssessment", "probability=gt0.2") == {"risk"}
    assert await matched_ids(client, "RiskAssessment", "probability=0.3") == {
        "risk"
    }  # [0.25, 0.35)
    assert await matched_ids(client, "RiskAssessment", "probability=0.30") == set()
    assert await matched_ids(client, "RiskAssessment", "probability=0.25") == {"risk"}


async def test_uri_above_and_below(client: httpx.AsyncClient) -> None:
    value_set = {
        "resourceType": "ValueSet",
        "id": "vs",
        "url": "http://example.org/fhir/ValueSet/care-level",
        "status": "active",
    }
    await put(client, value_set)
    assert await matched_ids(
        client, "ValueSet", "url=http://example.org/fhir/ValueSet/care-level"
    ) == {"vs"}
    assert await matched_ids(client, "ValueSet", "url=http://example.org/fhir") == set()
    assert await matched_ids(client, "ValueSet", "url:below=http://example.org/fhir") == {"vs"}
    assert (
        await matched_ids(client, "ValueSet", "url:below=http://example.org/fhir/CodeSystem")
        == set()
    )
    above = "url:above=http://example.org/fhir/ValueSet/care-level/2"
    assert await matched_ids(client, "ValueSet", above) == {"vs"}
    assert await matched_ids(client, "ValueSet", "url:above=http://example.org/fhir") == set()


async def test_negated_criteria_stay_within_the_searched_type(
    client: httpx.AsyncClient, people: None
) -> None:
    await put(client, {**observation("Patient/yamada"), "id": "yamada"})  # same id, other type
    assert await matched_ids(client, "Patient", "gender:not=female") == {
        "yamada",
        "tahata",
        "smith",
    }
    assert await matched_ids(client, "Patient", "birthdate:missing=true") == {"smith"}
    found = (await client.get("Patient?gender:not=female")).json()
    assert {e["resource"]["resourceType"] for e in found["entry"]} == {"Patient"}


@pytest.fixture
async def records(client: httpx.AsyncClient, people: None) -> None:
    org = {"resourceType": "Organization", "id": "clinic", "name": "小倉はまゆう内科クリニック"}
    await put(client, org)
    yamada = (await client.get("Patient/yamada")).json()
    await put(client, {**yamada, "managingOrganization": {"reference": "Organization/clinic"}})
    await put(client, {**observation("Patient/yamada"), "id": "obs-yamada"})
    await put(client, {**observation("Patient/tabata", value=8.2), "id": "obs-tabata"})
    plan = {
        "resourceType": "CarePlan",
        "id": "plan-tahata",
        "status": "active",
        "intent": "plan",
        "subject": {"reference": "Patient/tahata"},
    }
    await put(client, plan)
    await put(
        client,
        {
            **plan,
            "id": "plan-smith",
            "status": "completed",
            "subject": {"reference": "Patient/smith"},
        },
    )


async def test_chained_parameters(client: httpx.AsyncClient, records: None) -> None:
    assert await matched_ids(client, "Observation", "subject:Patient.name=やまだ") == {"obs-yamada"}
    assert await matched_ids(client, "Observation", "patient.name=ﾀﾊﾞﾀ") == {"obs-tabata"}
    assert await matched_ids(client, "Observation", "patient.family:exact=タハタ") == set()
    assert await matched_ids(client, "Observation", "patient.gender=female") == {"obs-tabata"}
    nested = "patient.organization.name=はまゆう"
    assert (
        await matched_ids(client, "Observation", nested) == set()
    )  # a name matches from its start
    assert await matched_ids(client, "Observation", "patient.organization.name=小倉") == {
        "obs-yamada"
    }
    assert (await client.get("Observation?subject.name=やまだ")).status_code == 400
    assert (await client.get("Observation?patient.nonsense=x")).status_code == 400
    assert (await client.get("Observation?status.name=x")).status_code == 400


async def test_reverse_chaining_with_has(client: httpx.AsyncClient, records: None) -> None:
    code = "3D046000001920402"
    assert await matched_ids(client, "Patient", f"_has:Observation:patient:code={code}") == {
        "yamada",
        "tabata",
    }
    assert await matched_ids(client, "Patient", "_has:Observation:patient:value-quantity=gt8") == {
        "tabata"
    }
    assert await matched_ids(client, "Patient", "_has:CarePlan:subject:status=active") == {"tahata"}
    both = "_has:CarePlan:subject:status=active&name=たはた"
    assert await matched_ids(client, "Patient", both) == {"tahata"}
    nested = "_has:Observation:patient:patient.name=やまだ"
    assert await matched_ids(client, "Patient", nested) == {"yamada"}
    assert await matched_ids(client, "Organization", "_has:Patient:organization:name=やまだ") == {
        "clinic"
    }
    assert (await client.get("Patient?_has:Observation:patient=x")).status_code == 400
    assert (await client.get("Patient?_has:Observation:code:status=final")).status_code == 400
    assert (await client.get("Patient?_has:Observation:patient:nonsense=x")).status_code == 400


async def _entries(client: httpx.AsyncClient, query: str) -> dict[str, set[str]]:
    response = await client.get(query)
    assert response.status_code == 200, response.text
    modes: dict[str, set[str]] = {}
    for entry in response.json().get("entry", []):
        resource = entry["resource"]
        key = f"{resource['resourceType']}/{resource['id']}"
        modes.setdefault(entry["search"]["mode"], set()).add(key)
    return modes


async def test_include_and_revinclude(client: httpx.AsyncClient, records: None) -> None:
    found = await _entries(client, "Observation?patient=yamada&_include=Observation:subject")
    assert found == {"match": {"Observation/obs-yamada"}, "include": {"Patient/yamada"}}
    typed = await _entries(client, "Observation?_id=obs-yamada&_include=Observation:subject:Group")
    assert typed == {"match": {"Observation/obs-yamada"}}
    every = await _entries(client, "Observation?_id=obs-tabata&_include=Observation:*")
    assert every["include"] == {"Patient/tabata"}
    rev = await _entries(client, "Patient?_id=yamada,tahata&_revinclude=Observation:subject")
    assert rev == {
        "match": {"Patient/yamada", "Patient/tahata"},
        "include": {"Observation/obs-yamada"},
    }
    plans = await _entries(client, "Patient?_id=tahata&_revinclude=CarePlan:subject")
    assert plans["include"] == {"CarePlan/plan-tahata"}
    iterate = (
        "Observation?_id=obs-yamada&_include=Observation:patient"
        "&_include:iterate=Patient:organization"
    )
    chained = await _entries(client, iterate)
    assert chained["include"] == {"Patient/yamada", "Organization/clinic"}
    once = "Observation?_id=obs-yamada&_include=Observation:patient&_include=Patient:organization"
    assert (await client.get(once)).status_code == 400  # Patient:organization needs :iterate
    await client.delete("Patient/tabata")
    gone = await _entries(client, "Observation?_id=obs-tabata&_include=Observation:subject")
    assert gone == {"match": {"Observation/obs-tabata"}}
    assert (await client.get("Observation?_include=Observation:status")).status_code == 400
    assert (await client.get("Observation?_include=nonsense")).status_code == 400


SUBSETTED = "SUBSETTED"


def _tags(resource: dict[str, Any]) -> list[str]:
    return [tag["code"] for tag in resource.get("meta", {}).get("tag", [])]


async def test_summary_and_elements(client: httpx.AsyncClient) -> None:
    body = {
        **patient(mrn="S1"),
        "id": "sum",
        "text": {
            "status": "generated",
            "div": '<div xmlns="http://www.w3.org/1999/xhtml">山田</div>',
        },
        "contact": [{"name": {"family": "山田", "given": ["花子"]}}],
    }
    await put(client, body)
    await put(client, {**observation("Patient/sum"), "id": "sum-obs"})
    counted = (await client.get("Patient?_summary=count")).json()
    assert counted["total"] == 1
    assert "entry" not in counted
    summary = (await client.get("Patient?_id=sum&_summary=true")).json()["entry"][0]["resource"]
    assert {"name", "gender", "birthDate", "identifier"} <= set(summary)
    assert "contact" not in summary
    assert "text" not in summary
    assert SUBSETTED in _tags(summary)
    data = (await client.get("Patient?_id=sum&_summary=data")).json()["entry"][0]["resource"]
    assert "contact" in data
    assert "text" not in data
    text = (await client.get("Patient?_id=sum&_summary=text")).json()["entry"][0]["resource"]
    assert set(text) == {"resourceType", "id", "meta", "text"}
    whole = (await client.get("Patient?_id=sum&_summary=false")).json()["entry"][0]["resource"]
    assert "contact" in whole
    assert SUBSETTED not in _tags(whole)
    named = (await client.get("Patient?_id=sum&_elements=name")).json()["entry"][0]["resource"]
    assert set(named) == {"resourceType", "id", "meta", "name"}
    value = (await client.get("Observation?_id=sum-obs&_elements=value")).json()
    kept = value["entry"][0]["resource"]
    assert set(kept) == {"resourceType", "id", "meta", "valueQuantity", "status", "code"}
    assert (await client.get("Patient?_summary=maybe")).status_code == 400
    assert (await client.get("Patient?_elements=na;me")).status_code == 400


async def test_compartment_search(client: httpx.AsyncClient, records: None) -> None:
    performed = {**observation("Patient/tahata"), "id": "obs-performed"}
    performed["performer"] = [{"reference": "Patient/yamada"}]
    await put(client, performed)
    assert await matched_ids(client, "Patient/yamada/Observation", "") == {
        "obs-yamada",
        "obs-performed",
    }
    code = "code=3D046000001920402"
    assert await matched_ids(client, "Patient/tabata/Observation", code) == {"obs-tabata"}
    assert await matched_ids(client, "Patient/tahata/CarePlan", "status=active") == {"plan-tahata"}
    assert await matched_ids(client, "Patient/yamada/CarePlan", "") == set()
    assert await matched_ids(client, "Patient/yamada/Patient", "") == {"yamada"}
    assert await matched_ids(client, "Patient/nobody/Observation", "") == set()
    page = (await client.get("Patient/yamada/Observation?_count=1")).json()
    links = {link["relation"]: link["url"] for link in page["link"]}
    assert links["self"].startswith(f"{BASE}/Patient/yamada/Observation?")
    assert links["next"].startswith(f"{BASE}/Patient/yamada/Observation?")
    rest = (await client.get(links["next"].removeprefix(BASE + "/"))).json()
    assert len(rest["entry"]) == 1
    assert (await client.get("Patient/yamada/Organization")).status_code == 400
    assert (await client.delete("Patient/yamada/Observation")).status_code == 405


async def _all_pages(client: httpx.AsyncClient, url: str) -> list[str]:
    seen: list[str] = []
    next_url: str | None = url
    while next_url is not None:
        page = (await client.get(next_url)).json()
        seen.extend(e["resource"]["id"] for e in page.get("entry", []))
        links = {link["relation"]: link["url"] for link in page["link"]}
        next_url = links["next"].removeprefix(BASE + "/") if "next" in links else None
    return seen


@pytest.fixture
async def dated(client: httpx.AsyncClient) -> None:
    await put(client, {**patient(mrn="T1"), "id": "t"})
    rows = [
        ("a", "2024-05-01", 7.0),
        ("b", "2023-01-10", 6.0),
        ("c", "2025-02-02", 6.0),
        ("d", "2024-05-01", 5.5),
        ("e", None, 9.0),
    ]
    for res_id, day, value in rows:
        body = {**observation("Patient/t", value=value), "id": res_id}
        if day is None:
            del body["effectiveDateTime"]
        else:
            body["effectiveDateTime"] = day
        await put(client, body)


async def test_sort_orders_ties_and_missing_values(client: httpx.AsyncClient, dated: None) -> None:
    async def order(query: str) -> list[str]:
        response = await client.get(f"Observation?{query}")
        assert response.status_code == 200, response.text
        return [e["resource"]["id"] for e in response.json()["entry"]]

    assert await order("_sort=date") == ["b", "a", "d", "c", "e"]
    assert await order("_sort=-date") == ["c", "a", "d", "b", "e"]
    assert await order("_sort=value-quantity") == ["d", "b", "c", "a", "e"]
    assert await order("_sort=-value-quantity,date") == ["e", "a", "b", "c", "d"]
    assert await order("_sort=date,-value-quantity") == ["b", "a", "d", "c", "e"]
    assert await order("_sort=-_id") == ["e", "d", "c", "b", "a"]
    assert await order("_sort=date&date=ge2024") == ["a", "d", "c"]
    assert (await client.get("Observation?_sort=nonsense")).status_code == 400
    assert (await client.get("Observation?_sort=date&_cursor=garbage")).status_code == 400


async def test_sorted_pages_are_stable_while_others_write(
    client: httpx.AsyncClient, dated: None
) -> None:
    url = "Observation?_sort=-date,value-quantity&_count=2"
    assert await _all_pages(client, url) == ["c", "d", "a", "b", "e"]
    first = (await client.get(url)).json()
    assert [e["resource"]["id"] for e in first["entry"]] == ["c", "d"]
    next_url = next(link["url"] for link in first["link"] if link["relation"] == "next")
    # Written after the first page: one sorts before the cursor, one after it.
    await put(
        client,
        {**observation("Patient/t", value=1.0), "id": "early", "effectiveDateTime": "2026-01-01"},
    )
    await put(
        client,
        {**observation("Patient/t", value=1.0), "id": "late", "effectiveDateTime": "2020-01-01"},
    )
    rest = await _all_pages(client, next_url.removeprefix(BASE + "/"))
    assert rest == ["a", "b", "late", "e"]


async def test_phonetic_searches_the_kana_name(client: httpx.AsyncClient, people: None) -> None:
    assert await matched_ids(client, "Patient", "phonetic=やまだ") == {"yamada"}
    assert await matched_ids(client, "Patient", "phonetic=ﾀﾊﾀ") == {"tahata", "tabata"}
    assert (
        await matched_ids(client, "Patient", "phonetic=山田") == set()
    )  # the kanji name is not phonetic
    assert await matched_ids(client, "Patient", "name=山田") == {"yamada"}


async def test_system_search_with_and_without_type(
    client: httpx.AsyncClient, records: None
) -> None:
    async def keys(query: str) -> set[str]:
        response = await client.get(query)
        assert response.status_code == 200, response.text
        return {
            e["fullUrl"].removeprefix(BASE + "/")
            for e in response.json().get("entry", [])
            if e["search"]["mode"] == "match"
        }

    same_id = "?_id=yamada"
    assert await keys(same_id) == {"Patient/yamada"}
    await put(client, {**observation("Patient/yamada"), "id": "yamada"})
    assert await keys(same_id) == {"Patient/yamada", "Observation/yamada"}
    assert await keys("?_type=Observation&_id=yamada") == {"Observation/yamada"}
    both = "?_type=Patient,CarePlan&_id=yamada,plan-tahata"
    assert await keys(both) == {"Patient/yamada", "CarePlan/plan-tahata"}
    typed = "?_type=Patient,Observation&_lastUpdated=gt2000&_count=2"
    pages = await _all_pages(client, typed)
    patients = ["yamada", "tahata", "tabata", "smith"]
    assert sorted(pages) == sorted([*patients, "obs-yamada", "obs-tabata", "yamada"])
    counted = (await client.get("?_type=CarePlan&_summary=count")).json()
    assert counted["total"] == 2
    posted = await client.post(
        "_search",
        content="_type=CarePlan&_id=plan-smith",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert [e["resource"]["id"] for e in posted.json()["entry"]] == ["plan-smith"]
    ignored = (await client.get("?_tag=x")).json()
    assert ignored["entry"][-1]["search"]["mode"] == "outcome"
    assert (await client.get("?_type=Nonsense")).status_code == 400
    assert (await client.get("?_type=Patient&_sort=_id")).status_code == 400
    assert (await client.delete("")).status_code == 405
