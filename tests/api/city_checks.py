"""Asking the server a search and comparing every page it returns with an expectation from
`tests.api.city_oracle`; shared by the city search modules."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from tests.api.city_oracle import Resource, World, coding_pairs, codings, search_all, token
from tests.api.city_world import City

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


def code_pairs(r: Resource) -> list[tuple[str | None, str | None]]:
    return coding_pairs(codings([r.get("code")]))


def one(
    extract: Callable[[Resource], list[tuple[str | None, str | None]]], query: str
) -> Callable[[Resource], bool]:
    return lambda r: token(query, extract(r))
