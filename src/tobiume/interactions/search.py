"""search at type level (https://hl7.org/fhir/R4/search.html), answered as a `searchset` Bundle.

The statement carries the access predicate (see `search.compile`), pages go in key order with a
`next` link holding the last key (a keyset, not an OFFSET over a moving set), and `total` is
given when it is known for free (a first page that holds everything) or asked for with
`_total=accurate`. Ignored parameters are reported in an OperationOutcome entry
(https://hl7.org/fhir/R4/search.html#errors).
"""

from __future__ import annotations

from urllib.parse import urlencode

from tobiume.errors import Issue
from tobiume.fhir.bundles import Entry, bundle_text
from tobiume.fhir.outcomes import operation_outcome
from tobiume.interactions.context import Context, FhirResponse
from tobiume.search.compile import count_statement, page_statement
from tobiume.search.query import parse_query


async def search(
    ctx: Context, res_type: str, query: list[tuple[str, str]], *, strict: bool = False
) -> FhirResponse:
    parsed = parse_query(
        res_type,
        query,
        default_count=ctx.settings.default_count,
        max_count=ctx.settings.max_count,
        strict=strict,
        base_url=ctx.base_url,
    )
    visible = ctx.access.visible()
    rows = (await ctx.conn.execute(page_statement(parsed, visible))).all()
    page, more = rows[: parsed.count], len(rows) > parsed.count
    envelope: dict[str, object] = {"type": "searchset"}
    if parsed.total == "accurate":
        envelope["total"] = (await ctx.conn.execute(count_statement(parsed, visible))).scalar_one()
    elif parsed.cursor is None and not more and parsed.total != "none":
        envelope["total"] = len(page)
    kept = [(k, v) for k, v in query if k != "_cursor"]
    links = [{"relation": "self", "url": _url(ctx, res_type, query)}]
    if more and page:
        links.append(
            {"relation": "next", "url": _url(ctx, res_type, [*kept, ("_cursor", str(page[-1][0]))])}
        )
    envelope["link"] = links
    entries = [
        Entry({"fullUrl": f"{ctx.base_url}/{res_type}/{res_id}", "search": {"mode": "match"}}, body)
        for _pk, res_id, body in page
    ]
    if parsed.ignored:
        outcome = operation_outcome(
            [
                Issue(
                    f"Parameter {name!r} is not supported and was ignored",
                    "not-supported",
                    "warning",
                )
                for name in parsed.ignored
            ]
        )
        entries.append(Entry({"search": {"mode": "outcome"}}, outcome))
    return FhirResponse(200, bundle_text(envelope, entries))


def _url(ctx: Context, res_type: str, query: list[tuple[str, str]]) -> str:
    qs = urlencode(query)
    return f"{ctx.base_url}/{res_type}" + (f"?{qs}" if qs else "")
