"""Search on the synthetic city by every parameter type, modifier and prefix, on SQLite and
PostgreSQL (https://hl7.org/fhir/R4/search.html). Every expectation is computed by
`tests.api.city_oracle` straight from the generated resources, and compared with all the pages
the server returns.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from tests.api.city_oracle import (
    Range,
    Resource,
    World,
    coding_pairs,
    codings,
    contains,
    date_matches,
    date_range,
    exact,
    identifier_pairs,
    is_kana,
    name_parts,
    number_matches,
    period_range,
    quantity_matches,
    refers,
    search_all,
    starts,
    token,
)
from tests.api.city_world import (
    CONFIDENTIALITY,
    JLAC10,
    SOURCE,
    TAGGED_OBSERVATIONS,
    TAGGED_PATIENTS,
    TAGS,
    TEST_IDS,
    UCUM,
    City,
)
from tests.conftest import BASE

HBA1C = "3D046000001906202"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
JP_CORE = "http://jpfhir.jp/fhir/core/StructureDefinition/"


def pairs(query: str) -> list[tuple[str, str]]:
    """`a=1&b=2` as query pairs (values are sent percent-encoded as they are written)."""
    out: list[tuple[str, str]] = []
    for part in filter(None, query.split("&")):
        name, _, value = part.partition("=")
        out.append((name, value))
    return out


async def check(
    city: City,
    res_type: str,
    query: str,
    expected: set[str],
    *,
    empty: bool = False,
    everything: bool = False,
    path: str | None = None,
) -> None:
    """The search finds exactly `expected` over all its pages. Unless told, an expectation must
    be neither empty nor every resource of the type, so that the query can tell a right
    answer from a careless one. `path` searches elsewhere than `res_type` (a compartment)."""
    found = await search_all(city.client, path or res_type, pairs(query))
    assert all(m.startswith(f"{res_type}/") for m in found.matches)
    assert found.ids == expected, (
        f"{city.backend}: {res_type}?{query}: missing {sorted(expected - found.ids)[:10]}, "
        f"unexpected {sorted(found.ids - expected)[:10]}"
    )
    if not empty:
        assert expected, f"{res_type}?{query} should find something in the city"
    if not everything:
        assert len(expected) < len(city.world.of(res_type)), f"{res_type}?{query} finds all"


def where(
    world: World, res_type: str, values: Callable[[Resource], Iterable[Any]], test: Any
) -> set[str]:
    """Ids of `res_type` whose `values` pass `test` (a function of the whole iterable)."""
    return world.ids(res_type, lambda r: bool(test(list(values(r)))))


def names(patient: Resource) -> list[str]:
    return [part for name in patient.get("name", []) for part in name_parts(name)]


def kana_names(patient: Resource) -> list[str]:
    kana = [n for n in patient.get("name", []) if is_kana(n)] or patient.get("name", [])
    return [part for name in kana for part in name_parts(name)]


def families(patient: Resource) -> list[str]:
    return [n["family"] for n in patient.get("name", []) if "family" in n]


def givens(patient: Resource) -> list[str]:
    return [g for n in patient.get("name", []) for g in n.get("given", [])]


def kana_of(patient: Resource) -> Resource:
    return next(n for n in patient["name"] if is_kana(n))


def kanji_of(patient: Resource) -> Resource:
    return next(n for n in patient["name"] if not is_kana(n))


def to_hiragana(text: str) -> str:
    return "".join(chr(ord(c) - 0x60) if "ァ" <= c <= "ヶ" else c for c in text)


def to_half_width(text: str) -> str:
    """Katakana to half-width katakana, a voiced sound as the base and ﾞ (U+FF9E)."""
    table = dict(
        zip(
            "アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワヲンャュョッァィゥェォー",
            "ｱｲｳｴｵｶｷｸｹｺｻｼｽｾｿﾀﾁﾂﾃﾄﾅﾆﾇﾈﾉﾊﾋﾌﾍﾎﾏﾐﾑﾒﾓﾔﾕﾖﾗﾘﾙﾚﾛﾜｦﾝｬｭｮｯｧｨｩｪｫｰ",
            strict=True,
        )
    )
    out = []
    for ch in text:
        base = ch
        mark = ""
        if ch not in table:
            decomposed = unicodedata.normalize("NFD", ch)
            base, mark = decomposed[0], {"\u3099": "ﾞ", "\u309a": "ﾟ"}.get(decomposed[1:], "")
        out.append(table[base] + mark)
    return "".join(out)


def voiced_patient(world: World) -> Resource:
    """The first citizen whose kana family name has a voiced sound (ダ, グ, ...)."""
    return next(
        p
        for p in world.of("Patient")
        if any(len(unicodedata.normalize("NFD", c)) > 1 for c in kana_of(p)["family"])
    )


async def test_string_names_fold_as_jp_core_asks(loaded: City) -> None:
    world = loaded.world
    person = voiced_patient(world)
    kana = kana_of(person)["family"]
    kanji = kanji_of(person)["family"]
    forms = {
        "katakana": kana,
        "hiragana": to_hiragana(kana),
        "half-width": to_half_width(kana),
        "unvoiced": "".join(unicodedata.normalize("NFD", c)[0] for c in to_hiragana(kana)),
    }
    assert forms["half-width"] != kana
    assert forms["unvoiced"] != to_hiragana(kana)
    for label, text in forms.items():
        expected = where(world, "Patient", names, starts(text))
        assert person["id"] in expected, label
        await check(loaded, "Patient", f"name={text}", expected)
        await check(
            loaded, "Patient", f"family={text}", where(world, "Patient", families, starts(text))
        )
    await check(
        loaded, "Patient", f"name={kanji[0]}", where(world, "Patient", names, starts(kanji[0]))
    )
    given = kana_of(person)["given"][0]
    await check(
        loaded,
        "Patient",
        f"given={to_hiragana(given)[:2]}",
        where(world, "Patient", givens, starts(given[:2])),
    )
    spaced = f"{kana} {given[:1]}"  # the name's text "ヤマダ キヨシ" starts with it
    await check(loaded, "Patient", f"name={spaced}", where(world, "Patient", names, starts(spaced)))
    await check(
        loaded, "Patient", f"name:exact={kanji}", where(world, "Patient", names, exact(kanji))
    )
    await check(
        loaded, "Patient", f"family:exact={kana}", where(world, "Patient", families, exact(kana))
    )
    hiragana = to_hiragana(kana)
    await check(loaded, "Patient", f"family:exact={hiragana}", set(), empty=True)
    middle = kana_of(person)["given"][0][1:3]
    await check(
        loaded,
        "Patient",
        f"name:contains={middle}",
        where(world, "Patient", names, contains(middle)),
    )
    await check(
        loaded,
        "Patient",
        f"given:contains={to_half_width(middle)}",
        where(world, "Patient", givens, contains(middle)),
    )


async def test_phonetic_and_address(loaded: City) -> None:
    world = loaded.world
    person = voiced_patient(world)
    kana = to_hiragana(kana_of(person)["family"])
    await check(
        loaded, "Patient", f"phonetic={kana}", where(world, "Patient", kana_names, starts(kana))
    )
    kanji = kanji_of(person)["family"]
    assert where(world, "Patient", kana_names, starts(kanji)) == set()
    await check(loaded, "Patient", f"phonetic={kanji}", set(), empty=True)

    def cities(r: Resource) -> list[str]:
        return [a["city"] for a in r.get("address", []) if "city" in a]

    for query, test in [
        ("address-city=北九州市小倉", starts("北九州市小倉")),
        ("address-city=北九州市八幡西区", starts("北九州市八幡西区")),
        ("address-city:exact=北九州市小倉北区", exact("北九州市小倉北区")),
        ("address-city:contains=八幡", contains("八幡")),
    ]:
        await check(loaded, "Patient", query, where(world, "Patient", cities, test))

    def org_names(r: Resource) -> list[str]:
        return [r["name"], *r.get("alias", [])]

    await check(
        loaded,
        "Organization",
        "name=こくらみなみ",
        where(world, "Organization", org_names, starts("こくらみなみ")),
    )
    await check(
        loaded,
        "Organization",
        "name=小倉南",
        where(world, "Organization", org_names, starts("小倉南")),
    )
    await check(
        loaded,
        "Organization",
        "name:contains=ビョウイン",
        where(world, "Organization", org_names, contains("ビョウイン")),
    )


def code_pairs(r: Resource) -> list[tuple[str | None, str | None]]:
    return coding_pairs(codings([r.get("code")]))


def one(
    extract: Callable[[Resource], list[tuple[str | None, str | None]]], query: str
) -> Callable[[Resource], bool]:
    return lambda r: token(query, extract(r))


async def test_token_forms(loaded: City) -> None:
    world = loaded.world
    for query in [
        f"{JLAC10}|{HBA1C}",
        HBA1C,
        "|local-glucose",
        f"{JLAC10}|",
        f"{ICD10}|E11.9",
    ]:
        for res_type in ("Observation", "Condition"):
            expected = world.ids(res_type, one(code_pairs, query))
            if expected:
                await check(loaded, res_type, f"code={query}", expected)
    # an ICD-10 code searched in the JLAC10 system finds nothing
    await check(loaded, "Condition", f"code={JLAC10}|E11.9", set(), empty=True)
    hba1c = world.ids("Observation", one(code_pairs, f"{JLAC10}|{HBA1C}"))
    everything = {r["id"] for r in world.of("Observation")}
    await check(loaded, "Observation", f"code:not={JLAC10}|{HBA1C}", everything - hba1c)

    def identifiers(r: Resource) -> list[tuple[str | None, str | None]]:
        return identifier_pairs(r.get("identifier", []))

    person = world.by_key["Patient/c000009"]
    system, value = person["identifier"][1]["system"], person["identifier"][1]["value"]
    await check(
        loaded,
        "Patient",
        f"identifier={system}|{value}",
        world.ids("Patient", one(identifiers, f"{system}|{value}")),
    )
    await check(
        loaded, "Patient", f"identifier={value}", world.ids("Patient", one(identifiers, value))
    )
    await check(
        loaded,
        "Patient",
        f"identifier={system}|",
        world.ids("Patient", one(identifiers, f"{system}|")),
    )

    def gender(r: Resource) -> list[tuple[str | None, str | None]]:
        return [(None, r.get("gender"))]

    await check(loaded, "Patient", "gender=female", world.ids("Patient", one(gender, "female")))
    await check(
        loaded,
        "Patient",
        "gender:not=female",
        world.ids("Patient", lambda r: not token("female", gender(r))),
    )

    def klass(r: Resource) -> list[tuple[str | None, str | None]]:
        return coding_pairs([r["class"]])

    await check(loaded, "Encounter", "class=IMP", world.ids("Encounter", one(klass, "IMP")))
    await check(
        loaded,
        "Encounter",
        f"class={ACT_CODE}|AMB",
        world.ids("Encounter", one(klass, f"{ACT_CODE}|AMB")),
    )
    await check(
        loaded,
        "Encounter",
        "status=finished",
        world.ids("Encounter", lambda r: r["status"] == "finished"),
        everything=True,
    )
    await check(
        loaded,
        "Encounter",
        "status=in-progress",
        world.ids("Encounter", lambda r: r["status"] == "in-progress"),
        empty=True,
    )

    def clinical(r: Resource) -> list[tuple[str | None, str | None]]:
        return coding_pairs(codings([r.get("clinicalStatus")]))

    await check(
        loaded,
        "Condition",
        "clinical-status=resolved,inactive",
        world.ids(
            "Condition", lambda r: token("resolved", clinical(r)) or token("inactive", clinical(r))
        ),
        empty=True,
    )
    await check(
        loaded,
        "Condition",
        "clinical-status:not=active",
        world.ids("Condition", lambda r: not token("active", clinical(r))),
        empty=True,
    )

    def categories(r: Resource) -> list[tuple[str | None, str | None]]:
        return coding_pairs(codings(r.get("category", [])))

    survey = "http://terminology.hl7.org/CodeSystem/observation-category|survey"
    await check(
        loaded,
        "Observation",
        f"category={survey}",
        world.ids("Observation", one(categories, survey)),
    )


async def test_reference_forms(loaded: City) -> None:
    world = loaded.world

    def subject(query: str, res_type: str | None = None) -> Callable[[Resource], bool]:
        return lambda r: refers(r.get("subject"), query, res_type)

    for query in ["c000001", "Patient/c000001", f"{BASE}/Patient/c000001"]:
        plain = query.removeprefix(f"{BASE}/")
        await check(
            loaded, "Observation", f"subject={query}", world.ids("Observation", subject(plain))
        )
        await check(
            loaded,
            "Observation",
            f"patient={query}",
            world.ids("Observation", subject(plain, "Patient")),
        )
    await check(
        loaded,
        "Observation",
        "subject:Patient=c000004",
        world.ids("Observation", subject("c000004", "Patient")),
    )
    await check(loaded, "Observation", "subject:Group=c000004", set(), empty=True)
    await check(
        loaded,
        "Observation",
        "subject=Patient/c000004,Patient/c000006",
        world.ids(
            "Observation",
            lambda r: (
                refers(r["subject"], "Patient/c000004") or refers(r["subject"], "Patient/c000006")
            ),
        ),
    )

    first = world.by_key["Patient/c000001"]["identifier"][0]
    by_identifier = f"{first['system']}|{first['value']}"

    def logical(r: Resource) -> bool:
        ident = r.get("subject", {}).get("identifier")
        return bool(ident) and token(by_identifier, identifier_pairs([ident]))

    await check(
        loaded,
        "Observation",
        f"subject:identifier={by_identifier}",
        world.ids("Observation", logical),
    )

    providers = sorted({r["serviceProvider"]["reference"] for r in world.of("Encounter")})
    for provider in providers[:3]:
        expected = world.ids("Encounter", lambda r: refers(r.get("serviceProvider"), provider))
        await check(loaded, "Encounter", f"service-provider={provider}", expected)
        await check(loaded, "Encounter", f"service-provider={provider.partition('/')[2]}", expected)
    report = next(r for r in world.of("DiagnosticReport"))
    result = report["result"][3]["reference"]
    await check(
        loaded,
        "DiagnosticReport",
        f"result={result}",
        world.ids("DiagnosticReport", lambda r: any(refers(x, result) for x in r["result"])),
    )


def observation_dates(r: Resource) -> list[Range]:
    return [date_range(r["effectiveDateTime"])] if "effectiveDateTime" in r else []


def encounter_dates(r: Resource) -> list[Range]:
    return [period_range(r["period"])] if "period" in r else []


def birth_dates(r: Resource) -> list[Range]:
    return [date_range(r["birthDate"])] if "birthDate" in r else []


DATE_QUERIES: dict[str, list[str]] = {
    "Observation": [
        "2025",
        "2025-11",
        "2024-06-06",
        "2024-06-06T09:00:00+09:00",
        "2024-06-06T00:00Z",
        "ge2026-09-01",
        "gt2026-09",
        "le2024-07-01T00:00:00+09:00",
        "lt2024-07",
        "ne2025",
        "sa2026-08-31",
        "eb2024-07-01",
    ],
    "Encounter": [
        "2026-01",
        "2025",
        "ge2025-03",
        "gt2025-03-05",
        "le2025-02",
        "lt2025-02-09",
        "ne2026",
        "sa2026-06",
        "eb2025-03-06T12:00:00+09:00",
    ],
    "Patient": [
        "1941",
        "1941-12",
        "1941-12-05",
        "lt1950",
        "ge1960-04-01",
        "gt1960",
        "le1945-06",
        "ne1957",
        "sa1959-12-31",
        "eb1944",
    ],
}
PARAMS = {"Observation": "date", "Encounter": "date", "Patient": "birthdate"}
RANGES: dict[str, Callable[[Resource], list[Range]]] = {
    "Observation": observation_dates,
    "Encounter": encounter_dates,
    "Patient": birth_dates,
}


async def test_date_prefixes_and_partial_dates(loaded: City) -> None:
    world = loaded.world
    for res_type, queries in DATE_QUERIES.items():
        for query in queries:
            expected = world.ids(
                res_type, lambda r: any(date_matches(query, v) for v in RANGES[res_type](r))
            )
            await check(loaded, res_type, f"{PARAMS[res_type]}={query}", expected)
    anded = world.ids(
        "Encounter",
        lambda r: (
            date_matches("ge2025-02", period_range(r["period"]))
            and date_matches("lt2025-04", period_range(r["period"]))
        ),
    )
    await check(loaded, "Encounter", "date=ge2025-02&date=lt2025-04", anded)


async def test_date_prefixes_at_the_edges_of_stored_values(loaded: City) -> None:
    """Searched with a value some resource holds, at its own precision, the edges of the two
    ranges meet: `gt` / `lt` / `sa` / `eb` exclude that resource and `ge` / `le` / `eq` keep it."""
    world = loaded.world
    edges = {
        "Observation": world.by_key["Observation/c000012-lab-1"]["effectiveDateTime"],
        "Patient": world.by_key["Patient/c000008"]["birthDate"],
        "Encounter": world.by_key["Encounter/c000017-enc-3"]["period"]["start"],
    }
    for res_type, value in edges.items():
        for prefix in ("eq", "ne", "gt", "ge", "lt", "le", "sa", "eb"):
            query = f"{prefix}{value}"
            expected = world.ids(
                res_type, lambda r: any(date_matches(query, v) for v in RANGES[res_type](r))
            )
            # a stay is longer than the second it starts in: none equal, all differ
            empty = res_type == "Encounter" and prefix == "eq"
            everything = res_type == "Encounter" and prefix == "ne"
            await check(
                loaded,
                res_type,
                f"{PARAMS[res_type]}={query}",
                expected,
                empty=empty,
                everything=everything,
            )


async def test_date_approximately(loaded: City) -> None:
    """`ap` is "approximately the same", its width the server's choice (10% of the distance from
    now is recommended): a value inside the searched day must match, one further away than the
    searched day's whole distance from now must not."""
    world = loaded.world
    day = "2025-11-10"
    low, high = date_range(day)
    far = abs(datetime.now(UTC) - low)
    found = (await search_all(loaded.client, "Observation", [("date", f"ap{day}")])).ids
    for r in world.of("Observation"):
        ((t_low, t_high),) = observation_dates(r)
        if low <= t_low and t_high <= high:
            assert r["id"] in found
        if t_high < low - far or t_low > high + far:
            assert r["id"] not in found
    assert found


def values(r: Resource) -> list[Resource]:
    return [r["valueQuantity"]] if "valueQuantity" in r else []


async def test_quantity_prefixes_and_units(loaded: City) -> None:
    world = loaded.world
    mmhg = f"{UCUM}|mm[Hg]"
    for query in [
        f"gt6.6|{UCUM}|%",
        f"ge6.6|{UCUM}|%",
        "6",
        "6.0",
        f"lt5.5|{UCUM}|%",
        f"le5.5|{UCUM}|%",
        f"ne6|{UCUM}|%",
        f"ge140|{mmhg}",
        "102||mg/dL",
        "gt100||mg/dL",
        f"gt100|{UCUM}|mg/dL",
        f"lt90|{UCUM}|kg",
        f"7|{UCUM}|kg",
    ]:
        expected = world.ids(
            "Observation", lambda r: any(quantity_matches(query, v) for v in values(r))
        )
        no_such_weight = query == f"7|{UCUM}|kg"  # HbA1c 7.0 % exists: the unit must count
        await check(
            loaded, "Observation", f"value-quantity={query}", expected, empty=no_such_weight
        )
    both = world.ids(
        "Observation",
        lambda r: (
            token(HBA1C, code_pairs(r)) and any(quantity_matches("ge7", v) for v in values(r))
        ),
    )
    await check(loaded, "Observation", f"code={HBA1C}&value-quantity=ge7", both)
    # ap: the server's width; values within 5% must match, beyond 25% must not
    found = (
        await search_all(loaded.client, "Observation", [("value-quantity", f"ap140|{mmhg}")])
    ).ids
    for r in world.of("Observation"):
        for v in values(r):
            if v.get("code") == "mm[Hg]":
                distance = abs(Decimal(str(v["value"])) - 140)
                if distance <= 7:
                    assert r["id"] in found
                if distance > 35:
                    assert r["id"] not in found
    assert found


async def test_number(loaded: City) -> None:
    world = loaded.world

    def probabilities(r: Resource) -> list[Decimal]:
        return [
            Decimal(str(p["probabilityDecimal"]))
            for p in r.get("prediction", [])
            if "probabilityDecimal" in p
        ]

    for query in [
        "0.25",
        "0.3",
        "0.30",
        "gt0.12",
        "ge0.12",
        "lt0.25",
        "le0.25",
        "ne0.25",
        "0.1,0.6",
    ]:
        expected = world.ids(
            "RiskAssessment",
            lambda r: any(number_matches(v, p) for v in query.split(",") for p in probabilities(r)),
        )
        await check(
            loaded, "RiskAssessment", f"probability={query}", expected, empty=query == "0.30"
        )
    await check(
        loaded,
        "RiskAssessment",
        "probability:missing=true",
        world.ids("RiskAssessment", lambda r: not probabilities(r)),
    )
    await check(
        loaded,
        "RiskAssessment",
        "probability:missing=false",
        world.ids("RiskAssessment", lambda r: bool(probabilities(r))),
    )


async def test_uri_profile_and_source(loaded: City) -> None:
    world = loaded.world

    def profiles(r: Resource) -> list[str]:
        return list(r.get("meta", {}).get("profile", []))

    lab = f"{JP_CORE}JP_Observation_LabResult"
    await check(
        loaded,
        "Observation",
        f"_profile={lab}",
        world.ids("Observation", lambda r: lab in profiles(r)),
    )
    await check(
        loaded,
        "Patient",
        f"_profile={JP_CORE}JP_Patient",
        world.ids("Patient", lambda r: f"{JP_CORE}JP_Patient" in profiles(r)),
        everything=True,
    )
    await check(loaded, "Observation", f"_profile={JP_CORE}JP_Observation", set(), empty=True)
    await check(
        loaded,
        "Observation",
        "_profile:below=http://jpfhir.jp/fhir/core",
        world.ids(
            "Observation",
            lambda r: any(p.startswith("http://jpfhir.jp/fhir/core/") for p in profiles(r)),
        ),
    )
    source = f"{SOURCE}kokura#batch0"
    await check(
        loaded,
        "Patient",
        f"_source={source}",
        world.ids("Patient", lambda r: r.get("meta", {}).get("source") == source),
    )


async def test_id_last_updated_tag_and_security(loaded: City) -> None:
    world = loaded.world
    await check(loaded, "Patient", "_id=c000001,c000042,nobody", {"c000001", "c000042"})
    await check(loaded, "Observation", "_id=c000001", set(), empty=True)
    await check(loaded, "Patient", f"_lastUpdated=gt{loaded.mark}", set(TAGGED_PATIENTS))
    await check(
        loaded,
        "Patient",
        f"_lastUpdated=le{loaded.mark}",
        world.ids("Patient", lambda r: r["id"] not in TAGGED_PATIENTS),
    )
    later = {*TAGGED_OBSERVATIONS, "logical-1", "logical-2", "logical-3"}
    await check(loaded, "Observation", f"_lastUpdated=ge{loaded.mark}", later)
    await check(
        loaded,
        "Observation",
        f"_lastUpdated=ge{loaded.mark[:4]}",
        world.ids("Observation", lambda r: True),
        everything=True,
    )

    def tags(r: Resource) -> list[tuple[str | None, str | None]]:
        return coding_pairs(r.get("meta", {}).get("tag", []))

    def security(r: Resource) -> list[tuple[str | None, str | None]]:
        return coding_pairs(r.get("meta", {}).get("security", []))

    for res_type in ("Patient", "Observation"):
        for query in (f"{TAGS}|review", f"{TAGS}|audit", "review", f"{TAGS}|"):
            await check(loaded, res_type, f"_tag={query}", world.ids(res_type, one(tags, query)))
        await check(
            loaded,
            res_type,
            f"_tag:not={TAGS}|review",
            world.ids(res_type, lambda r: not token(f"{TAGS}|review", tags(r))),
        )
    await check(
        loaded,
        "Patient",
        f"_security={CONFIDENTIALITY}|R",
        world.ids("Patient", one(security, f"{CONFIDENTIALITY}|R")),
    )
    await check(loaded, "Observation", f"_security={CONFIDENTIALITY}|R", set(), empty=True)


async def test_missing(loaded: City) -> None:
    world = loaded.world
    cases: list[tuple[str, str, Callable[[Resource], bool]]] = [
        ("Observation", "value-quantity", lambda r: "valueQuantity" in r),
        ("Observation", "encounter", lambda r: "encounter" in r),
        (
            # R4: (Observation.value as string) | (Observation.value as CodeableConcept).text
            "Observation",
            "value-string",
            lambda r: "valueString" in r or "text" in r.get("valueCodeableConcept", {}),
        ),
        ("Observation", "_tag", lambda r: bool(r.get("meta", {}).get("tag"))),
        ("Patient", "_security", lambda r: bool(r.get("meta", {}).get("security"))),
        ("Encounter", "reason-reference", lambda r: "reasonReference" in r),
        ("Patient", "death-date", lambda r: "deceasedDateTime" in r),
        ("Organization", "partof", lambda r: "partOf" in r),
        ("Organization", "address-city", lambda r: any("city" in a for a in r.get("address", []))),
    ]
    for res_type, name, present in cases:
        has = world.ids(res_type, present)
        lacks = world.ids(res_type, lambda r: not present(r))
        await check(
            loaded, res_type, f"{name}:missing=false", has, empty=True, everything=not lacks
        )
        await check(loaded, res_type, f"{name}:missing=true", lacks, empty=True, everything=not has)


async def test_or_and_and_escaped_commas(loaded: City) -> None:
    world = loaded.world
    a, b = (
        to_hiragana(kana_of(world.by_key[f"Patient/{i}"])["family"]) for i in ("c000003", "c000006")
    )
    either = where(world, "Patient", families, lambda v: starts(a)(v) or starts(b)(v))
    await check(loaded, "Patient", f"family={a},{b}", either)
    person = world.by_key["Patient/c000003"]
    given = kana_of(person)["given"][0]
    both = where(world, "Patient", names, lambda v: starts(a)(v)) & where(
        world, "Patient", givens, starts(given)
    )
    await check(loaded, "Patient", f"family={a}&given={given}", both)

    def ids(r: Resource) -> list[tuple[str | None, str | None]]:
        return identifier_pairs(r.get("identifier", []))

    await check(
        loaded,
        "Organization",
        f"identifier={TEST_IDS}|K\\,001",
        world.ids("Organization", one(ids, f"{TEST_IDS}|K,001")),
    )
    unescaped = world.ids(
        "Organization", lambda r: token(f"{TEST_IDS}|K", ids(r)) or token("001", ids(r))
    )
    await check(loaded, "Organization", f"identifier={TEST_IDS}|K,001", unescaped)

    def org_names(r: Resource) -> list[str]:
        return [r["name"], *r.get("alias", [])]

    await check(
        loaded,
        "Organization",
        "name=小倉\\,東",
        where(world, "Organization", org_names, starts("小倉,東")),
    )
    await check(
        loaded,
        "Organization",
        "name=小倉,東",
        where(world, "Organization", org_names, lambda v: starts("小倉")(v) or starts("東")(v)),
    )
