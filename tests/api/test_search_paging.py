"""Page links (https://hl7.org/fhir/R4/http.html#paging): `next` to the end, then `previous`
back to the start gives the same pages in reverse; a page link belongs to its search."""

from __future__ import annotations

from typing import Any

import httpx

from tests.helpers import create, patient


def _link(bundle: dict[str, Any], relation: str) -> str | None:
    for link in bundle["link"]:
        if link["relation"] == relation:
            return str(link["url"])
    return None


def _ids(bundle: dict[str, Any]) -> list[str]:
    return [e["resource"]["id"] for e in bundle.get("entry", [])]


async def _walk(client: httpx.AsyncClient, first: str) -> list[dict[str, Any]]:
    pages = [(await client.get(first)).json()]
    while (url := _link(pages[-1], "next")) is not None:
        pages.append((await client.get(url)).json())
    return pages


async def _births(client: httpx.AsyncClient) -> dict[str, str]:
    """Seven Patients, two pairs born on the same day (ties) and one with no birth date."""
    days = ["1940-01-02", "1938-05-05", "1938-05-05", "1950-12-31", "1945-07-07", "1945-07-07"]
    made = {}
    for n, day in enumerate(days):
        made[(await create(client, patient(mrn=f"P-{n}", birthDate=day)))["id"]] = day
    undated = patient(mrn="P-x")
    del undated["birthDate"]
    made[(await create(client, undated))["id"]] = ""
    return made


async def test_next_then_previous_retraces_the_pages(client: httpx.AsyncClient) -> None:
    births = await _births(client)
    for query in (
        "Patient?_count=3",
        "Patient?_count=2&_sort=-birthdate",
        "Patient?_count=3&_sort=birthdate,-_id",
        "?_type=Patient&_count=3",
    ):
        forward = await _walk(client, query)
        seen = [i for page in forward for i in _ids(page)]
        assert sorted(seen) == sorted(births), query
        assert _link(forward[0], "previous") is None, query
        back = [forward[-1]]
        while (url := _link(back[-1], "previous")) is not None:
            back.append((await client.get(url)).json())
        assert [_ids(p) for p in reversed(back)] == [_ids(p) for p in forward], query
        # and forward again from the first page reached backwards
        again = back[-1]
        assert _link(again, "previous") is None, query
        assert _ids(again) == _ids(forward[0])
        if "_sort=-birthdate" in query:
            dated = [births[i] for i in seen if births[i]]
            assert dated == sorted(dated, reverse=True)
            assert births[seen[-1]] == ""  # missing values last


async def test_previous_page_sees_a_resource_created_before_it(
    client: httpx.AsyncClient,
) -> None:
    """Keyset pages: a resource created meanwhile before the current page is on the
    previous page when the client goes back (no OFFSET shifts rows between pages)."""
    await _births(client)
    first = (await client.get("Patient?_count=3&_sort=birthdate")).json()
    second = (await client.get(_link(first, "next") or "")).json()
    early = (await create(client, patient(mrn="P-early", birthDate="1900-01-01")))["id"]
    back = (await client.get(_link(second, "previous") or "")).json()
    assert _ids(back) == _ids(first)
    before = (await client.get(_link(back, "previous") or "")).json()
    assert _ids(before) == [early]
    assert _link(before, "previous") is None


async def test_a_page_link_belongs_to_its_search(client: httpx.AsyncClient) -> None:
    await _births(client)
    first = (await client.get("Patient?_count=2&gender=male")).json()
    nxt = _link(first, "next")
    assert nxt is not None
    cursor = nxt.split("_cursor=")[1].split("&")[0]
    moved = await client.get(f"Patient?_count=2&gender=female&_cursor={cursor}")
    assert moved.status_code == 400
    assert "another search" in moved.text
    resorted = await client.get(f"Patient?_count=2&gender=male&_sort=birthdate&_cursor={cursor}")
    assert resorted.status_code == 400
    assert (
        await client.get("Patient?_count=2&gender=male&_cursor=not-a-cursor")
    ).status_code == 400
    # how a page is shown may change between pages
    shown = await client.get(f"Patient?_count=5&gender=male&_summary=true&_cursor={cursor}")
    assert shown.status_code == 200
