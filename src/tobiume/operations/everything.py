"""`Patient/{id}/$everything` (https://hl7.org/fhir/R4/patient-operation-everything.html):
everything of one citizen that the requester may see, for the admission screen.

The answer is a `searchset` Bundle of the Patient and the resources whose Patient-compartment
owner is that citizen (`resource.patient_id`, DESIGN.md "Storage"), filtered in SQL by the
requester's access predicate like any search (`access.gates`), in key order and paged by a
keyset cursor (`search.cursor`) so that pages stay correct while others write. Parameters:
`_since` (resources changed at or after an instant), `_type` (a comma-separated list of
types), `_count` (the page size, at most the configured maximum). A Patient the requester may
not see answers 404, exactly as a missing one does. `start` and `end` (the care date range)
are not supported and are reported as ignored, as a search reports an unknown parameter.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_

from tobiume.compiled import fetch_rows
from tobiume.errors import BadRequest
from tobiume.fhir.bundles import Entry, bundle_text
from tobiume.fhir.resource_types import is_resource_type
from tobiume.indexing.dates import parse_range
from tobiume.interactions.context import Context, FhirResponse
from tobiume.interactions.read import current_or_error
from tobiume.interactions.search import ignored_outcome, page_links
from tobiume.search import cursor
from tobiume.search.compile import system_page_statement
from tobiume.storage.tables import resource

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_OWN = frozenset({"_since", "_type", "_count", "_cursor", "_format", "_pretty"})


async def everything(ctx: Context, patient_id: str, query: list[tuple[str, str]]) -> FhirResponse:
    await current_or_error(ctx, "Patient", patient_id)
    types = [t for k, v in query if k == "_type" for t in v.split(",") if t]
    for res_type in types:
        if not is_resource_type(res_type):
            raise BadRequest(f"_type: {res_type!r} is not a resource type")
    count = _count(ctx, query)
    clauses: list[Any] = [
        resource.c.deleted.is_(False),
        resource.c.patient_id == patient_id,
        ctx.access.visible(),
    ]
    if types:
        clauses.append(resource.c.res_type.in_(types))
    since = _since(query)
    if since is not None:
        clauses.append(resource.c.last_updated >= since)
    rest = [(k, v) for k, v in query if k != "_cursor"]
    owner = cursor.fingerprint("$everything", patient_id, rest)
    given = [v for k, v in query if k == "_cursor"]
    start = cursor.decode(owner, (), given[-1]) if given else None
    rows = list(await fetch_rows(ctx.conn, system_page_statement(and_(*clauses), start, count)))
    page, more = rows[:count], len(rows) > count
    if start is not None and start.backward:
        page.reverse()
    envelope: dict[str, object] = {"type": "searchset"}
    if start is None and not more:
        envelope["total"] = len(page)
    where = f"Patient/{patient_id}/$everything"
    envelope["link"] = page_links(ctx, where, query, owner, start, page, more, sort_values=False)
    entries = [
        Entry({"fullUrl": f"{ctx.base_url}/{kind}/{res_id}", "search": {"mode": "match"}}, body)
        for _pk, kind, res_id, body in page
    ]
    ignored = sorted({k for k, _ in query if k not in _OWN})
    if ignored:
        entries.append(ignored_outcome(ignored))
    return FhirResponse(200, bundle_text(envelope, entries))


def _count(ctx: Context, query: list[tuple[str, str]]) -> int:
    given = [v for k, v in query if k == "_count"]
    if not given:
        return ctx.settings.default_count
    if not given[-1].isdigit() or int(given[-1]) < 1:
        raise BadRequest(f"_count must be a positive whole number, not {given[-1]!r}")
    return min(int(given[-1]), ctx.settings.max_count)


def _since(query: list[tuple[str, str]]) -> datetime | None:
    given = [v for k, v in query if k == "_since"]
    if not given:
        return None
    try:
        low, _high = parse_range(given[-1])
    except ValueError as exc:
        raise BadRequest(f"_since: {given[-1]!r} is not an instant") from exc
    return _EPOCH + timedelta(microseconds=low)
