"""Search on the synthetic city across resources and pages, on SQLite and PostgreSQL: chaining
and `_has` (https://hl7.org/fhir/R4/search.html#chaining, #has), `_include` / `_revinclude`
with `:iterate` and `*` (#include), `_sort` (#sort), paging and totals (#count, #total), and
the Patient compartment (https://hl7.org/fhir/R4/compartmentdefinition-patient.html). Every
expectation is computed by `tests.api.city_oracle` from the generated resources.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.api.city_checks import HBA1C, ICD10, check
from tests.api.city_oracle import (
    Found,
    Resource,
    World,
    coding_pairs,
    codings,
    date_matches,
    date_range,
    is_kana,
    key,
    name_parts,
    period_range,
    quantity_matches,
    refers,
    refs,
    search_all,
    starts,
    token,
)
from tests.api.city_world import JLAC10, City
from tests.conftest import ROOT

RECORD_CATEGORY = "http://tobiume.example/fhir/CodeSystem/record-category"


def targets(references: Iterable[Resource | None], world: World) -> set[str]:
    """`Type/id` of the stored resources these Reference elements point at."""
    out = set()
    for ref in references:
        if ref and isinstance(ref.get("reference"), str) and ref["reference"] in world.by_key:
            out.add(ref["reference"])
    return out


def resolve(ref: Resource | None, world: World) -> Resource | None:
    if ref and isinstance(ref.get("reference"), str):
        return world.by_key.get(ref["reference"])
    return None


def patient_names(patient: Resource | None) -> list[str]:
    if patient is None or patient["resourceType"] != "Patient":
        return []
    return [part for name in patient.get("name", []) for part in name_parts(name)]


def org_names(org: Resource | None) -> list[str]:
    if org is None or org["resourceType"] != "Organization":
        return []
    return [org["name"], *org.get("alias", [])]


def code_of(r: Resource) -> list[tuple[str | None, str | None]]:
    return coding_pairs(codings([r.get("code")]))


async def test_chained_parameters(loaded: City) -> None:
    world = loaded.world
    person = world.by_key["Patient/c000008"]
    kana_text = next(n for n in person["name"] if is_kana(n))["family"]
    subject_named = world.ids(
        "Observation", lambda r: starts(kana_text)(patient_names(resolve(r.get("subject"), world)))
    )
    await check(loaded, "Observation", f"subject:Patient.name={kana_text}", subject_named)
    hiragana = "".join(chr(ord(c) - 0x60) if "ァ" <= c <= "ヶ" else c for c in kana_text)
    await check(loaded, "Observation", f"patient.name={hiragana}", subject_named)

    def lives_in(r: Resource, ward: str) -> bool:
        patient = resolve(r.get("subject"), world)
        return patient is not None and any(
            starts(ward)([a.get("city", "")]) for a in patient.get("address", [])
        )

    wakamatsu = "北九州市若松区"
    await check(
        loaded,
        "Encounter",
        f"subject:Patient.address-city={wakamatsu}&class=IMP",
        world.ids("Encounter", lambda r: lives_in(r, wakamatsu) and r["class"]["code"] == "IMP"),
        empty=True,
    )
    await check(
        loaded,
        "Encounter",
        f"patient.address-city={wakamatsu}",
        world.ids("Encounter", lambda r: lives_in(r, wakamatsu)),
    )
    for name in ("小倉", "こくらみなみ", "ヤハタニシ", "ｺｸﾗﾊﾅｵ"):
        await check(
            loaded,
            "Encounter",
            f"service-provider.name={name}",
            world.ids(
                "Encounter",
                lambda r: starts(name)(org_names(resolve(r.get("serviceProvider"), world))),
            ),
        )

    def born_before_1950(r: Resource) -> bool:
        patient = resolve(r.get("subject"), world)
        return (
            patient is not None
            and patient["resourceType"] == "Patient"
            and "birthDate" in patient
            and date_matches("lt1950", date_range(patient["birthDate"]))
        )

    two_levels = world.ids(
        "DiagnosticReport",
        lambda r: any(
            born_before_1950(obs)
            for obs in (resolve(x, world) for x in r.get("result", []))
            if obs is not None
        ),
    )
    await check(loaded, "DiagnosticReport", "result.subject:Patient.birthdate=lt1950", two_levels)

    def home_clinic_in(r: Resource, place: str) -> bool:
        patient = resolve(r.get("subject"), world)
        if patient is None or patient["resourceType"] != "Patient":
            return False
        return any(
            starts(place)(org_names(resolve(gp, world)))
            for gp in patient.get("generalPractitioner", [])
        )

    await check(
        loaded,
        "Condition",
        "subject:Patient.general-practitioner:Organization.name=八幡西",
        world.ids("Condition", lambda r: home_clinic_in(r, "八幡西")),
    )


async def test_reverse_chaining_with_has(loaded: City) -> None:
    world = loaded.world

    def having(
        res_type: str, ref: Callable[[Resource], Iterable[Resource | None]], test: Any
    ) -> set[str]:
        """`Type/id` referred to (through `ref`) by some `res_type` resource passing `test`."""
        return {t for r in world.of(res_type) if test(r) for t in targets(ref(r), world)}

    def subject(r: Resource) -> list[Resource | None]:
        return [r.get("subject")]

    def ids_of(keys: set[str], res_type: str) -> set[str]:
        return {k.partition("/")[2] for k in keys if k.startswith(f"{res_type}/")}

    active_plans = ids_of(having("CarePlan", subject, lambda r: r["status"] == "active"), "Patient")
    yahata = world.ids(
        "Patient",
        lambda r: any(starts("北九州市八幡西区")([a["city"]]) for a in r["address"]),
    )
    await check(loaded, "Patient", "_has:CarePlan:subject:status=active", active_plans)
    await check(
        loaded,
        "Patient",
        "_has:CarePlan:subject:status=active&address-city=北九州市八幡西区",
        active_plans & yahata,
    )
    diabetic = ids_of(
        having("Condition", subject, lambda r: token(f"{ICD10}|E11.9", code_of(r))), "Patient"
    )
    await check(loaded, "Patient", f"_has:Condition:subject:code={ICD10}|E11.9", diabetic)
    hba1c = ids_of(having("Observation", subject, lambda r: token(HBA1C, code_of(r))), "Patient")
    high = ids_of(
        having(
            "Observation",
            subject,
            lambda r: quantity_matches("ge7", r.get("valueQuantity")),
        ),
        "Patient",
    )
    await check(
        loaded,
        "Patient",
        f"_has:Observation:patient:code={HBA1C}&_has:Observation:patient:value-quantity=ge7",
        hba1c & high,
    )
    elderly = f"{RECORD_CATEGORY}|elderly-health-checkup"
    results_of_elderly = having(
        "DiagnosticReport", lambda r: r.get("result", []), lambda r: token(elderly, code_of(r))
    )
    nested = ids_of(
        having("Observation", subject, lambda r: key(r) in results_of_elderly), "Patient"
    )
    await check(
        loaded,
        "Patient",
        f"_has:Observation:patient:_has:DiagnosticReport:result:code={elderly}",
        nested,
    )
    inpatient_hospitals = ids_of(
        having(
            "Encounter", lambda r: [r.get("serviceProvider")], lambda r: r["class"]["code"] == "IMP"
        ),
        "Organization",
    )
    await check(
        loaded, "Organization", "_has:Encounter:service-provider:class=IMP", inpatient_hospitals
    )
    care_roles = having(
        "CareTeam",
        lambda r: [p.get("member") for p in r.get("participant", [])],
        lambda r: r["status"] == "active",
    )
    practitioners = ids_of(
        having(
            "PractitionerRole", lambda r: [r.get("practitioner")], lambda r: key(r) in care_roles
        ),
        "Practitioner",
    )
    await check(
        loaded,
        "Practitioner",
        "_has:PractitionerRole:practitioner:_has:CareTeam:participant:status=active",
        practitioners,
    )


# --- _include and _revinclude ----------------------------------------------------------------

REFERENCE_PATHS: dict[str, Callable[[Resource], list[Resource | None]]] = {
    "Encounter:service-provider": lambda r: [r.get("serviceProvider")],
    "Encounter:subject": lambda r: [r.get("subject")],
    "Encounter:participant": lambda r: [p.get("individual") for p in r.get("participant", [])],
    "MedicationRequest:encounter": lambda r: [r.get("encounter")],
    "DiagnosticReport:result": lambda r: list(r.get("result", [])),
    "Observation:performer": lambda r: list(r.get("performer", [])),
    "CarePlan:subject": lambda r: [r.get("subject")],
    "PractitionerRole:practitioner": lambda r: [r.get("practitioner")],
}


def expected_includes(
    world: World,
    matches: list[str],
    include: list[str],
    iterate: Iterable[str] = (),
    revinclude: Iterable[str] = (),
    rev_iterate: Iterable[str] = (),
) -> set[str]:
    """What a page with these matches should include: `_include` and `_revinclude` from the
    matches, then the `:iterate` ones from everything so far until nothing new comes."""

    def forward(spec: str, sources: set[str]) -> set[str]:
        src_type = spec.partition(":")[0]
        out: set[str] = set()
        for k in sources:
            if k.startswith(f"{src_type}/"):
                resource = world.by_key[k]
                if spec.endswith(":*"):
                    out |= {x for x in refs(resource) if x in world.by_key}
                else:
                    out |= targets(REFERENCE_PATHS[spec](resource), world)
        return out

    def backward(spec: str, sources: set[str]) -> set[str]:
        src_type = spec.partition(":")[0]
        return {
            key(r) for r in world.of(src_type) if targets(REFERENCE_PATHS[spec](r), world) & sources
        }

    base = set(matches)
    found = set().union(
        *(forward(s, base) for s in include), *(backward(s, base) for s in revinclude)
    )
    while True:
        pool = base | found
        more = set().union(
            *(forward(s, pool) for s in iterate), *(backward(s, pool) for s in rev_iterate)
        )
        if more <= found:
            return found - base
        found |= more


def check_includes(found: Found, expected_per_page: Callable[[list[str]], set[str]]) -> None:
    assert found.matches, "the search should match something"
    everything: set[str] = set()
    for page, included in zip(found.pages, found.includes, strict=True):
        assert included == expected_per_page(page), f"page {page[:3]}..."
        everything |= included
    assert everything, "something should be included"


async def test_include_revinclude_iterate_and_star(loaded: City) -> None:
    world, client = loaded.world, loaded.client
    imp = world.ids("Encounter", lambda r: r["class"]["code"] == "IMP")
    found = await search_all(
        client,
        "Encounter",
        [
            ("class", "IMP"),
            ("_include", "Encounter:service-provider"),
            ("_include", "Encounter:subject"),
        ],
        count=3,
    )
    assert found.ids == imp
    check_includes(
        found,
        lambda page: expected_includes(
            world, page, ["Encounter:service-provider", "Encounter:subject"]
        ),
    )
    star = await search_all(
        client, "Encounter", [("class", "IMP"), ("_include", "Encounter:*")], count=3
    )
    assert star.ids == imp
    check_includes(star, lambda page: expected_includes(world, page, ["Encounter:*"]))

    drug = next(r for r in world.of("MedicationRequest"))["medicationCodeableConcept"]["coding"][0]
    iterated = await search_all(
        client,
        "MedicationRequest",
        [
            ("code", f"{drug['system']}|{drug['code']}"),
            ("_include", "MedicationRequest:encounter"),
            ("_include:iterate", "Encounter:service-provider"),
        ],
        count=4,
    )
    assert iterated.ids == world.ids(
        "MedicationRequest",
        lambda r: token(drug["code"], code_of({"code": r["medicationCodeableConcept"]})),
    )
    check_includes(
        iterated,
        lambda page: expected_includes(
            world, page, ["MedicationRequest:encounter"], iterate=["Encounter:service-provider"]
        ),
    )

    plans = await search_all(
        client,
        "Patient",
        [("address-city", "北九州市八幡西区"), ("_revinclude", "CarePlan:subject")],
        count=5,
    )
    check_includes(
        plans, lambda page: expected_includes(world, page, [], revinclude=["CarePlan:subject"])
    )

    chained = await search_all(
        client,
        "Patient",
        [
            ("_id", "c000001,c000012,c000031"),
            ("_revinclude", "Encounter:subject"),
            ("_revinclude:iterate", "MedicationRequest:encounter"),
        ],
        count=2,
    )
    assert chained.ids == {"c000001", "c000012", "c000031"}
    check_includes(
        chained,
        lambda page: expected_includes(
            world,
            page,
            [],
            revinclude=["Encounter:subject"],
            rev_iterate=["MedicationRequest:encounter"],
        ),
    )
    checkup = next(r for r in world.of("DiagnosticReport"))
    reports = await search_all(
        client,
        "DiagnosticReport",
        [
            ("_id", checkup["id"]),
            ("_include", "DiagnosticReport:result"),
            ("_include:iterate", "Observation:performer"),
        ],
    )
    check_includes(
        reports,
        lambda page: expected_includes(
            world, page, ["DiagnosticReport:result"], iterate=["Observation:performer"]
        ),
    )


# --- _sort, paging and totals ----------------------------------------------------------------

SortKey = Callable[[Resource], Any]


def ordered(resources: Iterable[Resource], keys: list[tuple[SortKey, bool]]) -> list[str]:
    """`Type/id` in the order of `keys` (each (value, descending)), by stable passes from the
    last key to the first."""
    rows = list(resources)
    for value, descending in reversed(keys):
        rows.sort(key=value, reverse=descending)
    return [key(r) for r in rows]


def by_id(r: Resource) -> str:
    return str(r["id"])


def quantity(r: Resource) -> Decimal:
    return Decimal(str(r["valueQuantity"]["value"]))


def effective_start(r: Resource) -> datetime:
    return date_range(r["effectiveDateTime"])[0]


async def test_sort_by_one_and_several_keys(loaded: City) -> None:
    world, client = loaded.world, loaded.client
    patients = world.of("Patient")

    def born(r: Resource) -> datetime:
        return date_range(r["birthDate"])[0]

    def born_end(r: Resource) -> datetime:
        return date_range(r["birthDate"])[1]

    found = await search_all(client, "Patient", [("_sort", "birthdate,_id")], count=7)
    assert found.matches == ordered(patients, [(born, False), (by_id, False)])
    found = await search_all(client, "Patient", [("_sort", "-birthdate,-_id")], count=7)
    assert found.matches == ordered(patients, [(born_end, True), (by_id, True)])

    hba1c = [r for r in world.of("Observation") if token(HBA1C, code_of(r))]
    query = [("code", HBA1C), ("_sort", "-value-quantity,date,_id")]
    found = await search_all(client, "Observation", query, count=9)
    expected = ordered(hba1c, [(quantity, True), (effective_start, False), (by_id, False)])
    assert found.matches == expected

    # A Period sorts by its start ascending and by its end descending.
    encounters = world.of("Encounter")

    def ends(r: Resource) -> datetime:
        return period_range(r["period"])[1]

    found = await search_all(client, "Encounter", [("_sort", "-date,_id")], count=25)
    assert found.matches == ordered(encounters, [(ends, True), (by_id, False)])
    starts_first = ordered(
        encounters, [(lambda r: period_range(r["period"])[0], False), (by_id, False)]
    )
    found = await search_all(client, "Encounter", [("_sort", "date,_id")], count=25)
    assert found.matches == starts_first


async def test_ties_come_out_in_one_order_across_pages(loaded: City) -> None:
    """Sorted on a value many resources share (the items of one checkup share its time), the
    pages must still hold every match once, in an order that does not depend on the page size."""
    world, client = loaded.world, loaded.client
    system = f"{JLAC10}|"
    matching = [
        r
        for r in world.of("Observation")
        if token(system, code_of(r))
        and date_matches("ge2026-09", date_range(r["effectiveDateTime"]))
    ]
    query = [("code", system), ("date", "ge2026-09"), ("_sort", "-date")]
    small = await search_all(client, "Observation", query, count=23)
    large = await search_all(client, "Observation", query, count=1000)
    assert len(large.pages) == 1
    assert small.matches == large.matches
    assert small.ids == {r["id"] for r in matching}
    ends = [date_range(world.by_key[k]["effectiveDateTime"])[1] for k in small.matches]
    assert ends == sorted(ends, reverse=True)
    assert len(set(ends)) < len(ends), "the sort should have ties"


async def test_count_total_and_summary_count(loaded: City) -> None:
    world, client = loaded.world, loaded.client
    expected = world.ids("Observation", lambda r: token(HBA1C, code_of(r)))
    for count in (1, 7, 50):
        found = await search_all(
            client, "Observation", [("code", HBA1C), ("_total", "accurate")], count=count
        )
        assert found.ids == expected
        assert found.total == len(expected)
        assert all(len(page) <= count for page in found.pages)
        assert all(len(page) == count for page in found.pages[:-1])
    counted = await client.get("Observation", params=[("code", HBA1C), ("_summary", "count")])
    assert counted.status_code == 200
    body = counted.json()
    assert body["total"] == len(expected)
    assert "entry" not in body
    every = await client.get("Encounter?_summary=count")
    assert every.json()["total"] == len(world.of("Encounter"))
    narrowed = await client.get("Encounter?_summary=count&class=IMP&date=ge2025-03")
    assert narrowed.json()["total"] == len(
        world.ids(
            "Encounter",
            lambda r: (
                r["class"]["code"] == "IMP" and date_matches("ge2025-03", period_range(r["period"]))
            ),
        )
    )


# --- the Patient compartment -----------------------------------------------------------------

COMPARTMENT_PATHS: dict[str, dict[str, Callable[[Resource], list[Resource | None]]]] = {
    "Observation": {
        "subject": lambda r: [r.get("subject")],
        "performer": lambda r: list(r.get("performer", [])),
    },
    "Encounter": {"subject": lambda r: [r.get("subject")]},
    "CarePlan": {
        "patient": lambda r: [r.get("subject")],
        "performer": lambda r: [
            p for a in r.get("activity", []) for p in a.get("detail", {}).get("performer", [])
        ],
    },
    "Consent": {"patient": lambda r: [r.get("patient")]},
    "DiagnosticReport": {"subject": lambda r: [r.get("subject")]},
    "RiskAssessment": {"subject": lambda r: [r.get("subject")]},
}


def compartment_params() -> dict[str, set[str]]:
    path = Path(ROOT / "src/tobiume/fhir/data/compartmentdefinition-patient.json")
    definition = json.loads(path.read_text())
    return {r["code"]: set(r.get("param", [])) for r in definition["resource"]}


async def test_patient_compartment(loaded: City) -> None:
    world = loaded.world
    params = compartment_params()
    for res_type, paths in COMPARTMENT_PATHS.items():
        assert set(paths) == params[res_type], res_type

    def member(res_type: str, patient: str) -> Callable[[Resource], bool]:
        return lambda r: any(
            refers(ref, f"Patient/{patient}")
            for path in COMPARTMENT_PATHS[res_type].values()
            for ref in path(r)
        )

    for res_type in COMPARTMENT_PATHS:
        held = set()
        for patient in ("c000001", "c000004", "c000012", "c000031"):
            expected = world.ids(res_type, member(res_type, patient))
            held |= expected
            path = f"Patient/{patient}/{res_type}"
            await check(loaded, res_type, "", expected, empty=True, path=path)
        assert held, f"some of these citizens should have a {res_type}"
    imp = world.ids(
        "Encounter", lambda r: member("Encounter", "c000031")(r) and r["class"]["code"] == "IMP"
    )
    await check(loaded, "Encounter", "class=IMP", imp, path="Patient/c000031/Encounter")
    hba1c = world.ids(
        "Observation",
        lambda r: member("Observation", "c000012")(r) and token(HBA1C, code_of(r)),
    )
    await check(
        loaded,
        "Observation",
        f"code={HBA1C}",
        hba1c,
        empty=True,
        path="Patient/c000012/Observation",
    )
