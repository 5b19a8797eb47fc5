"""Paging through a search while another client writes (https://hl7.org/fhir/R4/http.html#paging:
the pages of one search; this server pages by keyset, `search.sort`). A small city is loaded,
then a sorted and an unsorted search are paged to the end while a second server instance on the
same database creates, updates and deletes Observations that sort before, inside and after the
page being read. Every resource that matched from the first page to the last, unchanged in its
sort value, must come back exactly once; nothing may come back twice; a resource deleted or
changed to no longer match before its page was read must not come back.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

import httpx
import pytest

from tests.api.city_oracle import Resource, World, coding_pairs, codings, date_range, token
from tests.api.city_world import JLAC10
from tests.conftest import BASE, Backend, serve
from tests.helpers import FHIR_JSON
from tobiume.demo.generate import AS_OF, city
from tobiume.importer import import_city

CITIZENS = 12
MATCHING = f"{JLAC10}|"
OTHER_CODE = {"coding": [{"system": "http://loinc.org", "code": "4548-4"}]}


@pytest.fixture
async def writer(backend: Backend) -> AsyncIterator[httpx.AsyncClient]:
    """A second server on the same database: the other client's writes."""
    async with serve(backend.settings) as http:
        yield http


@pytest.fixture
async def small_city(backend: Backend) -> World:
    report = await import_city(backend.settings, CITIZENS, 1, AS_OF, jobs=1)
    assert report is not None
    assert report.failures == []
    return World(list(city(CITIZENS, 1, AS_OF)))


def matches(r: Resource) -> bool:
    return r["resourceType"] == "Observation" and token(
        MATCHING, coding_pairs(codings([r.get("code")]))
    )


def when(r: Resource) -> datetime:
    return date_range(r["effectiveDateTime"])[0]


@dataclass
class Ledger:
    """What the other client did, to judge the pages by."""

    touched: set[str] = field(default_factory=set)
    """Kept matching with the same sort value (updated in place)."""
    gone: set[str] = field(default_factory=set)
    """Deleted, or changed to match no more, and when: before which page was read."""
    gone_before_page: dict[str, int] = field(default_factory=dict)
    created: set[str] = field(default_factory=set)
    serial: int = 0


async def put(client: httpx.AsyncClient, body: Resource) -> None:
    response = await client.put(f"Observation/{body['id']}", json=body, headers=FHIR_JSON)
    assert response.is_success, response.text


async def write_around(
    client: httpx.AsyncClient,
    world: World,
    ledger: Ledger,
    seen: list[str],
    page: list[str],
    pending: list[str],
    page_number: int,
) -> None:
    """One round of writes: resources sorting before, inside and after the page just read."""
    ledger.serial += 1
    n = ledger.serial
    # what the other client touches is from the city, never one of its own new resources
    seen = [k for k in seen if k in world.by_key and k.partition("/")[2] not in ledger.gone]
    page = [k for k in page if k in world.by_key and k.partition("/")[2] not in ledger.gone]
    current = world.by_key[page[len(page) // 2]] if page else None
    base = world.by_key[seen[0]] if seen else next(r for r in world.of("Observation"))
    for label, moment in (
        ("before", "2001-01-01T09:00:00+09:00"),
        ("inside", current["effectiveDateTime"] if current else "2025-01-01T09:00:00+09:00"),
        ("after", "2099-01-01T09:00:00+09:00"),
    ):
        body = copy.deepcopy(base)
        body["id"] = f"new-{n}-{label}"
        body["effectiveDateTime"] = moment
        body.pop("meta", None)
        await put(client, body)
        ledger.created.add(body["id"])
    untouched = [k for k in pending if k.partition("/")[2] not in ledger.touched | ledger.gone]
    # updated in place, same code and time: one already read, one on this page, one to come
    for target in [seen[0] if seen else None, page[0] if page else None, *untouched[:1]]:
        if target is None or target.partition("/")[2] in ledger.gone:
            continue
        body = copy.deepcopy(world.by_key[target])
        body["status"] = "amended"
        body.pop("meta", None)
        await put(client, body)
        ledger.touched.add(body["id"])
    # gone before they are read: one deleted, one changed to another code
    rest = untouched[1:]
    if len(rest) >= 4:
        deleted, recoded = rest[1], rest[3]
        response = await client.delete(deleted)
        assert response.status_code in (200, 204), response.text
        body = copy.deepcopy(world.by_key[recoded])
        body["code"] = OTHER_CODE
        body.pop("meta", None)
        await put(client, body)
        for k in (deleted, recoded):
            ledger.gone.add(k.partition("/")[2])
            ledger.gone_before_page[k.partition("/")[2]] = page_number + 1
    # and one deleted that was already read
    if len(seen) > 2 and seen[1].partition("/")[2] not in ledger.gone:
        response = await client.delete(seen[1])
        assert response.status_code in (200, 204), response.text
        ledger.gone.add(seen[1].partition("/")[2])


Pager = Callable[[list[str], list[str], int], Awaitable[None]]


async def page_through(client: httpx.AsyncClient, url: str, between: Pager) -> list[list[str]]:
    pages: list[list[str]] = []
    next_url: str | None = url
    seen: list[str] = []
    while next_url is not None:
        response = await client.get(next_url)
        assert response.status_code == 200, response.text
        bundle = response.json()
        page = [f"Observation/{e['resource']['id']}" for e in bundle.get("entry", [])]
        pages.append(page)
        seen.extend(page)
        links = {link["relation"]: link["url"] for link in bundle["link"]}
        next_url = links["next"].removeprefix(BASE + "/") if "next" in links else None
        if next_url is not None:
            await between(seen, page, len(pages))
        assert len(pages) < 500
    return pages


def judge(initial: list[str], pages: list[list[str]], ledger: Ledger) -> None:
    returned = [k for page in pages for k in page]
    duplicates = {k for k in returned if returned.count(k) > 1}
    assert not duplicates, f"returned twice: {sorted(duplicates)}"
    ids = {k.partition("/")[2] for k in returned}
    throughout = {k.partition("/")[2] for k in initial} - ledger.gone
    assert throughout - ids == set(), f"skipped: {sorted(throughout - ids)}"
    for res_id, page_number in ledger.gone_before_page.items():
        position = next((i for i, p in enumerate(pages, 1) if f"Observation/{res_id}" in p), None)
        assert position is None or position < page_number, f"{res_id} came back after it went"
    assert ids <= {k.partition("/")[2] for k in initial} | ledger.created
    assert ledger.touched & ids, "some updated resources should have been read"
    assert ledger.gone, "the other client should have deleted something"


def initial_order(world: World, sort: bool) -> list[str]:
    rows = [r for r in world.resources if matches(r)]
    if sort:
        rows.sort(key=lambda r: (when(r), r["id"]))
    return [f"Observation/{r['id']}" for r in rows]


@pytest.mark.parametrize("sort", ["", "date,_id", "-date"])
async def test_pages_while_another_client_writes(
    client: httpx.AsyncClient, writer: httpx.AsyncClient, small_city: World, sort: str
) -> None:
    world = small_city
    initial = initial_order(world, bool(sort))
    assert len(initial) > 60
    ledger = Ledger()
    query = f"Observation?code={MATCHING}&_count=12" + (f"&_sort={sort}" if sort else "")

    async def between(seen: list[str], page: list[str], number: int) -> None:
        pending = [k for k in initial if k not in seen]
        if sort.startswith("-"):
            pending.reverse()
        await write_around(writer, world, ledger, seen, page, pending, number)

    pages = await page_through(client, query, between)
    judge(initial, pages, ledger)


async def test_pages_while_writes_run_at_the_same_time(
    client: httpx.AsyncClient, writer: httpx.AsyncClient, small_city: World
) -> None:
    """The writes run as their own task while the pages are read, not between them: every
    resource the writer leaves alone comes back exactly once, in date order."""
    world = small_city
    initial = initial_order(world, True)
    stop = asyncio.Event()
    ledger = Ledger()

    async def write_continuously() -> None:
        n = 0
        base = world.by_key[initial[0]]
        while not stop.is_set():
            n += 1
            body = copy.deepcopy(base)
            body["id"] = f"busy-{n}"
            body["effectiveDateTime"] = world.by_key[initial[(n * 7) % len(initial)]][
                "effectiveDateTime"
            ]
            body.pop("meta", None)
            await put(writer, body)
            ledger.created.add(body["id"])
            target = world.by_key[initial[(n * 11) % len(initial)]]
            updated = copy.deepcopy(target)
            updated["status"] = "amended" if n % 2 else "final"
            updated.pop("meta", None)
            await put(writer, updated)
            ledger.touched.add(updated["id"])
            await asyncio.sleep(0)

    async def read() -> list[list[str]]:
        async def between(seen: list[str], page: list[str], number: int) -> None:
            await asyncio.sleep(0.005)

        try:
            return await page_through(
                client, f"Observation?code={MATCHING}&_sort=date&_count=15", between
            )
        finally:
            stop.set()

    pages, _ = await asyncio.gather(read(), write_continuously())
    returned = [k for page in pages for k in page]
    assert len(returned) == len(set(returned)), "nothing may come back twice"
    assert set(initial) <= set(returned)
    times = [when(world.by_key[k]) for k in returned if k in world.by_key]
    assert times == sorted(times)
    assert len(ledger.created) > 3
