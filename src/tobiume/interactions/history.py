"""history at instance, type and system level (https://hl7.org/fhir/R4/http.html#history).

Newest first, as a Bundle of type `history` whose entries carry `request` and `response`; a
deleted version has no resource. `_since` and `_at` bound the period, `_count` the page size,
and `next` links carry a keyset cursor, so pages stay correct while others write.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from tobiume.errors import BadRequest, NotFound
from tobiume.fhir.bundles import Entry, bundle_text
from tobiume.indexing.dates import parse_range
from tobiume.interactions.context import Context, FhirResponse, instant
from tobiume.storage.store import HistoryCursor, StoredResource, history, read_current

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_STATUS = {"POST": "201 Created", "PUT": "200 OK", "PATCH": "200 OK", "DELETE": "204 No Content"}


def encode_cursor(entry: StoredResource) -> str:
    micros = (entry.last_updated - _EPOCH) // timedelta(microseconds=1)
    raw = f"{micros}:{entry.pk}:{entry.version}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(text: str) -> HistoryCursor:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
        micros, pk, version = (int(part) for part in raw.split(":"))
    except ValueError as exc:
        raise BadRequest("This history page link is not valid; start again") from exc
    return HistoryCursor(_EPOCH + timedelta(microseconds=micros), pk, version)


def _instant_param(name: str, value: str) -> datetime:
    try:
        low, _ = parse_range(value)
    except ValueError as exc:
        raise BadRequest(f"{name} must be an instant, not {value!r}") from exc
    return _EPOCH + timedelta(microseconds=low)


async def history_bundle(
    ctx: Context,
    query: list[tuple[str, str]],
    res_type: str | None = None,
    res_id: str | None = None,
) -> FhirResponse:
    if (
        res_type is not None
        and res_id is not None
        and await read_current(ctx.conn, res_type, res_id, ctx.access.visible()) is None
    ):
        raise NotFound(f"{res_type}/{res_id} is not known")
    count = ctx.settings.default_count
    since = at = None
    cursor = None
    for key, value in query:
        if key == "_count":
            if not value.isdigit():
                raise BadRequest("_count must be a whole number")
            count = min(int(value), ctx.settings.max_count)
        elif key == "_since":
            since = _instant_param("_since", value)
        elif key == "_at":
            at = _instant_param("_at", value)
        elif key == "_cursor":
            cursor = decode_cursor(value)
    rows = await history(
        ctx.conn,
        res_type=res_type,
        res_id=res_id,
        since=since,
        at=at,
        before=cursor,
        count=count + 1,
        visible=ctx.access.visible(),
    )
    page, more = rows[:count], len(rows) > count
    path = "/".join(p for p in (res_type, res_id, "_history") if p)
    kept = [(k, v) for k, v in query if k != "_cursor"]
    links = [{"relation": "self", "url": _url(ctx, path, query)}]
    if more and page:
        links.append(
            {
                "relation": "next",
                "url": _url(ctx, path, [*kept, ("_cursor", encode_cursor(page[-1]))]),
            }
        )
    envelope: dict[str, object] = {"type": "history", "link": links}
    if cursor is None and not more:
        envelope["total"] = len(page)
    return FhirResponse(200, bundle_text(envelope, [_entry(ctx, e) for e in page]))


def _entry(ctx: Context, version: StoredResource) -> Entry:
    url = f"{version.res_type}/{version.res_id}"
    request_url = version.res_type if version.method == "POST" else url
    fields = {
        "fullUrl": f"{ctx.base_url}/{url}",
        "request": {"method": version.method, "url": request_url},
        "response": {
            "status": _STATUS.get(version.method, "200 OK"),
            "etag": f'W/"{version.version}"',
            "lastModified": instant(version.last_updated),
        },
    }
    return Entry(fields, None if version.deleted else version.body)


def _url(ctx: Context, path: str, query: list[tuple[str, str]]) -> str:
    qs = urlencode(query)
    return f"{ctx.base_url}/{path}" + (f"?{qs}" if qs else "")
