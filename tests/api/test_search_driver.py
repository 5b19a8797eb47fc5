"""How a search with several criteria is put together (`search.compile.matching`): one criterion
drives, and the others test its keys, inside the driver's table when it is an equality, outside
when it is a range or prefix. Whatever the shape, the matches are those of every criterion:
criteria on the same index table as the driver are not confused with its rows, pages of a large
driver stop at their count, and a deleted resource never comes back. On SQLite and PostgreSQL.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import literal, select

from tests.conftest import Backend
from tests.helpers import FHIR_JSON, matched_ids, put
from tobiume.compiled import Shaped, fetch_shaped, forget

LAB = "urn:oid:1.2.392.200119.4.504"
HBA1C = "3D046000001920402"
GLUCOSE = "3D010000001926101"


def _lab(ident: str, subject: str, code: str, status: str, when: str) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": ident,
        "status": status,
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "laboratory",
                    }
                ]
            }
        ],
        "code": {"coding": [{"system": LAB, "code": code}]},
        "subject": {"reference": subject},
        "effectiveDateTime": when,
    }


@pytest.fixture
async def labs(client: httpx.AsyncClient) -> None:
    """Two citizens' results: codes, statuses and dates crossed so that each pair of criteria
    keeps a different set."""
    for ident, subject, code, status, when in [
        ("a1", "Patient/a", HBA1C, "final", "2024-03-01"),
        ("a2", "Patient/a", HBA1C, "preliminary", "2024-06-01"),
        ("a3", "Patient/a", GLUCOSE, "final", "2023-01-10"),
        ("a4", "Patient/a", HBA1C, "final", "2022-12-31"),
        ("b1", "Patient/b", HBA1C, "final", "2024-03-01"),
        ("b2", "Patient/b", GLUCOSE, "preliminary", "2024-06-01"),
    ]:
        await put(client, _lab(ident, subject, code, status, when))


@pytest.mark.usefixtures("labs")
async def test_criteria_on_the_driver_table_are_their_own_rows(client: httpx.AsyncClient) -> None:
    """Three token criteria (idx_token, like the driver): each compares its own rows."""
    assert await matched_ids(client, "Observation", f"code={LAB}|{HBA1C}&status=final") == {
        "a1",
        "a4",
        "b1",
    }
    assert await matched_ids(
        client, "Observation", f"code={LAB}|{HBA1C}&status=final&category=laboratory"
    ) == {"a1", "a4", "b1"}
    assert await matched_ids(client, "Observation", f"code={HBA1C}&status=preliminary") == {"a2"}
    assert await matched_ids(client, "Observation", f"code={GLUCOSE}&status=final") == {"a3"}


@pytest.mark.usefixtures("labs")
async def test_equality_driver_with_range_and_negated_criteria(client: httpx.AsyncClient) -> None:
    """A reference drives; a date range, a token and a negated token test its keys."""
    query = f"patient=a&code={LAB}|{HBA1C}&date=ge2024-01-01"
    assert await matched_ids(client, "Observation", query) == {"a1", "a2"}
    assert await matched_ids(client, "Observation", query + "&status:not=final") == {"a2"}
    assert await matched_ids(client, "Observation", "patient=a&date=2023") == {"a3"}
    assert await matched_ids(client, "Observation", "patient=b&date=lt2020") == set()


@pytest.mark.usefixtures("labs")
async def test_range_driver_keeps_its_criteria_outside(client: httpx.AsyncClient) -> None:
    """Two OR-ed codes (no longer one equality) and a date drive the search: the other
    criteria still hold."""
    query = f"code={HBA1C},{GLUCOSE}&date=ge2024-01-01&status=final"
    assert await matched_ids(client, "Observation", query) == {"a1", "b1"}
    assert await matched_ids(client, "Observation", "date=2024-06-01&status=preliminary") == {
        "a2",
        "b2",
    }


async def test_large_driver_pages_and_forgets_deleted(client: httpx.AsyncClient) -> None:
    """More matches of the driver than a page: pages hold `_count` matches each, every match
    once, and a deleted match is on none of them."""
    for n in range(12):
        status = "final" if n % 3 else "preliminary"
        await put(client, _lab(f"o{n:02}", "Patient/p", HBA1C, status, f"2025-01-{n + 1:02}"))
    assert (await client.delete("Observation/o04", headers=FHIR_JSON)).status_code in (200, 204)
    url: str | None = f"Observation?code={HBA1C}&status=final&patient=p&_count=3"
    seen: list[str] = []
    while url is not None:
        page = (await client.get(url)).json()
        entries = page.get("entry", [])
        assert len(entries) <= 3
        seen.extend(e["resource"]["id"] for e in entries)
        url = next((lk["url"] for lk in page["link"] if lk["relation"] == "next"), None)
    expected = [f"o{n:02}" for n in range(12) if n % 3 and n != 4]
    assert sorted(seen) == expected
    assert len(seen) == len(expected)


@pytest.mark.usefixtures("labs")
async def test_a_shape_seen_with_shared_values_binds_each_criterion(
    client: httpx.AsyncClient,
) -> None:
    """Two criteria with equal values are one clause (built once per value) and share its
    parameters; the next search of the same shape has two values, each bound to its own
    criterion (`compiled.fetch_shaped`)."""
    forget()
    assert await matched_ids(client, "Observation", "status=final&status=final") == {
        "a1",
        "a3",
        "a4",
        "b1",
    }
    assert await matched_ids(client, "Observation", "status=final&code=" + GLUCOSE) == {"a3"}
    assert await matched_ids(client, "Observation", f"code={HBA1C}&code={HBA1C}") == {
        "a1",
        "a2",
        "a4",
        "b1",
    }
    assert await matched_ids(client, "Observation", f"code={HBA1C}&status=preliminary") == {"a2"}


async def test_a_value_outside_the_parts_is_never_reused(backend: Backend) -> None:
    """An assembly that binds a value of its own (not in a part, not named in the params) is
    run as it is and never kept for its shape, so the next request gets its own value."""
    forget()

    def shaped(value: int) -> Shaped:
        return Shaped("test-loose", (), lambda parts: select(literal(value)))

    async with backend.database.read() as conn:
        assert [tuple(r) for r in await fetch_shaped(conn, shaped(1))] == [(1,)]
        assert [tuple(r) for r in await fetch_shaped(conn, shaped(2))] == [(2,)]
