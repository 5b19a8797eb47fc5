"""Search on the synthetic city by string, token and reference, and by `_id`, `_lastUpdated`,
`_tag`, `_security`, `:missing`, OR and AND, on SQLite and PostgreSQL
(https://hl7.org/fhir/R4/search.html). Every expectation is computed by `tests.api.city_oracle`
straight from the generated resources, and compared with all the pages the server returns.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

from tests.api.city_checks import ACT_CODE, HBA1C, ICD10, check, code_pairs, one, where
from tests.api.city_oracle import (
    Resource,
    World,
    coding_pairs,
    codings,
    contains,
    exact,
    identifier_pairs,
    is_kana,
    name_parts,
    refers,
    starts,
    token,
)
from tests.api.city_world import (
    CONFIDENTIALITY,
    JLAC10,
    TAGGED_OBSERVATIONS,
    TAGGED_PATIENTS,
    TAGS,
    TEST_IDS,
    City,
)
from tests.conftest import BASE


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
