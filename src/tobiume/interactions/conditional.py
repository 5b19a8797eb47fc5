"""Finding the target of a conditional interaction
(https://hl7.org/fhir/R4/http.html#cond-update, #ccreate, #cdelete, and conditional references
in transactions, #trules).

Criteria are parsed strictly: a parameter the server cannot evaluate would silently match too
much, so it is a 400. Concurrent conditional writes on the same criteria are serialised by a
transaction-scoped lock taken before the search, so twenty parallel conditional creates make
exactly one resource.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from sqlalchemy import select

from tobiume.db import lock_criteria
from tobiume.errors import BadRequest, PreconditionFailed
from tobiume.interactions.context import Context
from tobiume.search.compile import where_clauses
from tobiume.search.query import parse_query
from tobiume.storage.tables import resource


def criteria_pairs(query_string: str) -> list[tuple[str, str]]:
    pairs = parse_qsl(query_string, keep_blank_values=True)
    if not pairs:
        raise BadRequest("Conditional criteria are empty")
    return pairs


async def single_match(ctx: Context, res_type: str, criteria: list[tuple[str, str]]) -> str | None:
    """The id of the one live resource matching the criteria, None if none does; 412 if several
    do (conditional update, patch and delete are single-match: https://hl7.org/fhir/R4/http.html#cond-update)."""
    ids = await matching_ids(ctx, res_type, criteria)
    if len(ids) > 1:
        raise PreconditionFailed(
            f"The criteria match more than one {res_type}: {urlencode(criteria)}"
        )
    return ids[0] if ids else None


async def matching_ids(
    ctx: Context, res_type: str, pairs: list[tuple[str, str]], *, lock: bool = True
) -> list[str]:
    """Ids of up to two live resources matching the criteria (two is enough to say 'several')."""
    if lock:
        key = res_type + "?" + "&".join(f"{k}={v}" for k, v in sorted(pairs))
        await lock_criteria(ctx.conn, key)
    query = parse_query(
        res_type,
        [(k, v) for k, v in pairs if k not in ("_format", "_pretty")],
        default_count=2,
        max_count=2,
        strict=True,
        base_url=ctx.base_url,
    )
    if not query.criteria:
        raise BadRequest("Conditional criteria must name at least one search parameter")
    stmt = (
        select(resource.c.res_id)
        .where(*where_clauses(query, ctx.access.visible()))
        .order_by(resource.c.pk)
        .limit(2)
    )
    return list((await ctx.conn.execute(stmt)).scalars())
