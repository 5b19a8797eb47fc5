"""search at type level (https://hl7.org/fhir/R4/search.html), answered as a `searchset` Bundle.

The statement carries the access predicate (see `search.compile`), pages go in key order with a
`next` link holding the last key (a keyset, not an OFFSET over a moving set), and `total` is
given when it is known for free (a first page that holds everything) or asked for with
`_total=accurate`. Ignored parameters are reported in an OperationOutcome entry
(https://hl7.org/fhir/R4/search.html#errors).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

import orjson

from tobiume.compiled import fetch_rows, fetch_shaped
from tobiume.errors import BadRequest, Issue
from tobiume.fhir.bundles import Entry, bundle_text
from tobiume.fhir.outcomes import operation_outcome
from tobiume.fhir.resource_types import is_resource_type
from tobiume.fhir.summary import select_elements, summarize
from tobiume.interactions.context import Context, FhirResponse
from tobiume.search import cursor
from tobiume.search.compile import (
    count_shaped,
    counts_everything,
    matching,
    page_shaped,
    system_count_statement,
    system_match,
    system_page_statement,
)
from tobiume.search.cursor import Cursor
from tobiume.search.include import MAX_INCLUDED, MAX_ROUNDS, Include, Row
from tobiume.search.include import statement as include_statement
from tobiume.search.query import SearchQuery, parse_query
from tobiume.storage.counts import estimated_rows, live_count
from tobiume.storage.tables import resource


async def search(
    ctx: Context,
    res_type: str,
    query: list[tuple[str, str]],
    *,
    strict: bool = False,
    patient: str | None = None,
) -> FhirResponse:
    """Search `res_type`; with `patient`, within that Patient's compartment
    (`GET /Patient/{id}/{type}`, https://hl7.org/fhir/R4/search.html#compartments)."""
    parsed = parse_query(
        res_type,
        query,
        default_count=ctx.settings.default_count,
        max_count=ctx.settings.max_count,
        strict=strict,
        base_url=ctx.base_url,
        patient=patient,
    )
    where = f"Patient/{patient}/{res_type}" if patient is not None else res_type
    visible = ctx.access.visible()
    if parsed.summary == "count":
        total = await _count(ctx, parsed)
        self_link = [{"relation": "self", "url": _url(ctx, where, query)}]
        return FhirResponse(
            200, bundle_text({"type": "searchset", "total": total, "link": self_link}, [])
        )
    rows = list(await fetch_shaped(ctx.conn, page_shaped(parsed, visible)))
    page, more = rows[: parsed.count], len(rows) > parsed.count
    if parsed.cursor is not None and parsed.cursor.backward:
        page.reverse()
    envelope: dict[str, object] = {"type": "searchset"}
    if parsed.total == "accurate":
        envelope["total"] = await _count(ctx, parsed)
    elif parsed.cursor is None and not more and parsed.total != "none":
        envelope["total"] = len(page)
    elif parsed.total == "estimate":
        envelope["total"] = await _estimate(ctx, parsed)
    envelope["link"] = page_links(ctx, where, query, parsed.fingerprint, parsed.cursor, page, more)
    entries = [
        Entry(
            {"fullUrl": f"{ctx.base_url}/{res_type}/{res_id}", "search": {"mode": "match"}},
            _shown(parsed, body),
        )
        for _pk, res_id, body, *_sort in page
    ]
    if parsed.includes and page:
        matches = [(pk, res_type, res_id, body) for pk, res_id, body, *_sort in page]
        for _pk, kind, res_id, body in await _included(ctx, parsed.includes, matches):
            fields = {"fullUrl": f"{ctx.base_url}/{kind}/{res_id}", "search": {"mode": "include"}}
            entries.append(Entry(fields, _shown(parsed, body)))
    if parsed.ignored:
        entries.append(ignored_outcome(parsed.ignored))
    return FhirResponse(200, bundle_text(envelope, entries))


async def system_search(
    ctx: Context, query: list[tuple[str, str]], *, strict: bool = False
) -> FhirResponse:
    """`GET [base]?_type=A,B&...`: several types at once, in key order
    (https://hl7.org/fhir/R4/search.html#all); without `_type`, every type, by `_id` and
    `_lastUpdated` only. `_sort` and the includes are for type-level searches."""
    types = requested_types(query)
    for res_type in types:
        if not is_resource_type(res_type):
            raise BadRequest(f"_type: {res_type!r} is not a resource type")
    rest = [(k, v) for k, v in query if k not in ("_type", "_cursor")]
    owner = cursor.fingerprint(",".join(types), None, rest)
    given = [v for k, v in query if k == "_cursor"]
    start = cursor.decode(owner, (), given[-1]) if given else None
    queries = [
        parse_query(
            res_type,
            rest,
            default_count=ctx.settings.default_count,
            max_count=ctx.settings.max_count,
            strict=strict,
            base_url=ctx.base_url,
        )
        for res_type in (types or [""])
    ]
    first = queries[0]
    if first.sort or first.includes:
        raise BadRequest("_sort, _include and _revinclude need a resource type in the URL")
    visible = ctx.access.visible()
    match = system_match(queries, visible)
    envelope: dict[str, object] = {"type": "searchset"}
    if first.summary == "count" or first.total == "accurate":
        (row,) = await fetch_rows(ctx.conn, system_count_statement(match))
        envelope["total"] = int(row[0])
    links = [{"relation": "self", "url": _url(ctx, "", query)}]
    if first.summary == "count":
        return FhirResponse(200, bundle_text({**envelope, "link": links}, []))
    rows = list(await fetch_rows(ctx.conn, system_page_statement(match, start, first.count)))
    page, more = rows[: first.count], len(rows) > first.count
    if start is not None and start.backward:
        page.reverse()
    if start is None and not more and first.total != "none":
        envelope["total"] = len(page)
    envelope["link"] = page_links(ctx, "", query, owner, start, page, more, sort_values=False)
    entries = [
        Entry(
            {"fullUrl": f"{ctx.base_url}/{kind}/{res_id}", "search": {"mode": "match"}},
            _shown(first, body),
        )
        for _pk, kind, res_id, body in page
    ]
    ignored = sorted({name for q in queries for name in q.ignored})
    if ignored:
        entries.append(ignored_outcome(ignored))
    return FhirResponse(200, bundle_text(envelope, entries))


def requested_types(query: list[tuple[str, str]]) -> list[str]:
    """The types a system-level search names with `_type` (none: every type)."""
    return [t for k, v in query if k == "_type" for t in v.split(",") if t]


def page_links(
    ctx: Context,
    where: str,
    query: list[tuple[str, str]],
    owner: str,
    start: Cursor | None,
    page: Sequence[Sequence[Any]],
    more: bool,
    *,
    sort_values: bool = True,
) -> list[dict[str, str]]:
    """`self`, and `next` and `previous` where such pages exist
    (https://hl7.org/fhir/R4/http.html#paging): going forward, a next page when a row beyond
    this page was read and a previous one unless this is the first; going back, the reverse.
    Each starts beside this page's last or first row (`search.cursor`)."""
    links = [{"relation": "self", "url": _url(ctx, where, query)}]
    if not page:
        return links
    backward = start is not None and start.backward
    kept = [(k, v) for k, v in query if k != "_cursor"]

    def link(relation: str, row: Sequence[Any], back: bool) -> dict[str, str]:
        values = tuple(row[3:]) if sort_values else ()  # a system search is in key order
        text = cursor.encode(owner, Cursor(back, values, row[0]))
        return {"relation": relation, "url": _url(ctx, where, [*kept, ("_cursor", text)])}

    if more or backward:
        links.append(link("next", page[-1], False))
    if (start is not None and not backward) or (backward and more):
        links.append(link("previous", page[0], True))
    return links


async def _count(ctx: Context, parsed: SearchQuery) -> int:
    """How many resources match: kept, not counted, for all of a type when the requester sees
    everything (`storage.counts`)."""
    if counts_everything(parsed) and ctx.access.sees_everything():
        return await live_count(ctx.conn, parsed.res_type)
    (row,) = await fetch_shaped(ctx.conn, count_shaped(parsed, ctx.access.visible()))
    return int(row[0])


async def _estimate(ctx: Context, parsed: SearchQuery) -> int:
    """`_total=estimate`: the kept count of a whole type, else the planner's estimate
    (PostgreSQL), else an accurate count (SQLite, whose databases are small).

    The planner estimates from statistics over every row, hidden ones included: a requester
    who does not see everything gets the accurate count of what they see instead, or the
    estimate would tell them how many resources they may not see."""
    if not ctx.access.sees_everything():
        return await _count(ctx, parsed)
    if counts_everything(parsed):
        return await live_count(ctx.conn, parsed.res_type)
    keys = matching(parsed, ctx.access.visible(), resource.c.pk)
    estimate = await estimated_rows(ctx.conn, keys)
    return estimate if estimate is not None else await _count(ctx, parsed)


def ignored_outcome(names: list[str]) -> Entry:
    """The OperationOutcome entry that reports ignored parameters
    (https://hl7.org/fhir/R4/search.html#errors)."""
    outcome = operation_outcome(
        [
            Issue(
                f"Parameter {name!r} is not supported and was ignored", "not-supported", "warning"
            )
            for name in names
        ]
    )
    return Entry({"search": {"mode": "outcome"}}, outcome)


def _shown(parsed: SearchQuery, body: str) -> str | dict[str, Any]:
    """The stored JSON as `_summary` or `_elements` asks (parsed only when they ask)."""
    if parsed.elements is not None:
        return select_elements(orjson.loads(body), parsed.elements)
    if parsed.summary in ("true", "text", "data"):
        return summarize(orjson.loads(body), parsed.summary)
    return body


async def _included(ctx: Context, specs: list[Include], matches: list[Row]) -> list[Row]:
    """What `_include` and `_revinclude` add to the matches, each resource once; `:iterate`
    specs run again on what the previous round added."""
    seen = {pk for pk, *_ in matches}
    added: list[Row] = []
    current = matches
    for round_ in range(MAX_ROUNDS):
        fresh: list[Row] = []
        for spec in specs:
            if round_ > 0 and not spec.iterate:
                continue
            bound = include_statement(
                spec, current, ctx.access.visible(), ctx.base_url, ctx.conn.dialect.name
            )
            if bound is None:
                continue
            for pk, kind, res_id, body in await fetch_rows(ctx.conn, bound.statement, bound.params):
                if pk not in seen and len(added) + len(fresh) < MAX_INCLUDED:
                    seen.add(pk)
                    fresh.append((pk, kind, res_id, body))
        if not fresh:
            break
        added.extend(fresh)
        current = fresh
    return added


def _url(ctx: Context, where: str, query: list[tuple[str, str]]) -> str:
    qs = urlencode(query)
    path = f"{ctx.base_url}/{where}" if where else ctx.base_url
    return path + (f"?{qs}" if qs else "")
