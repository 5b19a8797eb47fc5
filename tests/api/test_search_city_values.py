"""Search on the synthetic city by date, quantity, number and uri, with every prefix and the
edges where they part, on SQLite and PostgreSQL (https://hl7.org/fhir/R4/search.html#prefix).
Every expectation is computed by `tests.api.city_oracle` from the generated resources.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

from tests.api.city_checks import HBA1C, JP_CORE, check, code_pairs
from tests.api.city_oracle import (
    Range,
    Resource,
    date_matches,
    date_range,
    number_matches,
    period_range,
    quantity_matches,
    search_all,
    token,
)
from tests.api.city_world import SOURCE, UCUM, City


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
