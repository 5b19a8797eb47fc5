"""batch and transaction (https://hl7.org/fhir/R4/http.html#transaction, and the processing
rules at https://hl7.org/fhir/R4/http.html#trules).

A transaction is atomic: it runs on the request's one database transaction and any failing entry
raises, so the edge rolls everything back and answers with that entry's error. Before any entry
runs, every POST gets its id (or, with `ifNoneExist`, the id of the match) and every conditional
PUT its target, so `urn:uuid:` fullUrls and conditional references (`Patient?identifier=...`)
can be rewritten to real references in all resources of the Bundle. Entries then run in the
order the specification gives: DELETE, POST, PUT/PATCH, GET/HEAD.

A batch runs its entries in Bundle order, each in a savepoint: a failing entry is reported in
its response entry and leaves no trace, the others stand.

Every entry passes the scope gate of its own interaction (SMART 2.0, "Batches and
Transactions"): in a batch a forbidden entry gets its own 403 response entry, in a transaction
it fails the whole Bundle.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import orjson

from tobiume.db import DATABASE_ERRORS, atomic, savepoint
from tobiume.errors import BadRequest, FhirError, Issue, PreconditionFailed
from tobiume.fhir.bundles import Entry, bundle_text
from tobiume.fhir.outcomes import operation_outcome
from tobiume.fhir.references import split_conditional
from tobiume.fhir.resource_types import is_resource_type
from tobiume.interactions import create as create_mod
from tobiume.interactions.conditional import criteria_pairs, matching_ids
from tobiume.interactions.context import Context, FhirRequest, FhirResponse, instant
from tobiume.interactions.read import current_or_error
from tobiume.interactions.scope_gate import require

log = logging.getLogger("tobiume")

Dispatch = Callable[[Context, FhirRequest], Awaitable[FhirResponse]]
_ORDER = {"DELETE": 0, "POST": 1, "PUT": 2, "PATCH": 2, "GET": 3, "HEAD": 3}
_REASON = {
    200: "OK",
    201: "Created",
    204: "No Content",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    410: "Gone",
    412: "Precondition Failed",
    422: "Unprocessable Entity",
}


@dataclass(slots=True)
class _Item:
    index: int
    full_url: str | None
    request: FhirRequest
    resolved_id: str | None = None
    existing: bool = False


async def process(ctx: Context, body: Any, prefer: str | None, dispatch: Dispatch) -> FhirResponse:
    if not isinstance(body, dict) or body.get("resourceType") != "Bundle":
        raise BadRequest("POST to the base URL takes a Bundle of type batch or transaction")
    kind = body.get("type")
    if kind not in ("batch", "transaction"):
        raise BadRequest(
            f"Bundle.type must be batch or transaction, not {kind!r}", expression=("Bundle.type",)
        )
    entries = body.get("entry") or []
    if not isinstance(entries, list):
        raise BadRequest("Bundle.entry must be an array", expression=("Bundle.entry",))
    if len(entries) > ctx.settings.max_bundle_entries:
        raise BadRequest(
            f"The Bundle has {len(entries)} entries; the limit is {ctx.settings.max_bundle_entries}"
        )
    if kind == "batch":
        return await _batch(ctx, entries, prefer, dispatch)
    items = [_parse_entry(i, e, ctx.base_url) for i, e in enumerate(entries)]
    return await _transaction(ctx, items, prefer, dispatch)


def _parse_entry(index: int, entry: Any, base_url: str) -> _Item:
    where = (f"Bundle.entry[{index}]",)
    if not isinstance(entry, dict) or not isinstance(entry.get("request"), dict):
        raise BadRequest(f"Bundle.entry[{index}] needs a request", expression=where)
    request = entry["request"]
    method, url = request.get("method"), request.get("url")
    if method not in _ORDER or not isinstance(url, str) or not url:
        raise BadRequest(
            f"Bundle.entry[{index}].request needs a method and a url", expression=where
        )
    if url.startswith(base_url + "/"):
        url = url[len(base_url) + 1 :]
    split = urlsplit(url)
    path = tuple(p for p in split.path.split("/") if p)
    body = entry.get("resource")
    content_type = None
    if method == "PATCH":
        body, content_type = _patch_body(index, body)
    req = FhirRequest(
        method=method,
        path=path,
        query=parse_qsl(split.query, keep_blank_values=True),
        body=body,
        if_match=request.get("ifMatch"),
        if_none_exist=request.get("ifNoneExist"),
        if_none_match=request.get("ifNoneMatch"),
        if_modified_since=request.get("ifModifiedSince"),
        content_type=content_type,
    )
    full_url = entry.get("fullUrl")
    return _Item(index, full_url if isinstance(full_url, str) else None, req)


def _patch_body(index: int, resource: Any) -> tuple[Any, str]:
    """A PATCH entry carries its JSON Patch as a Binary (https://hl7.org/fhir/R4/http.html#patch)."""
    if isinstance(resource, dict) and resource.get("resourceType") == "Binary":
        try:
            return orjson.loads(base64.b64decode(resource.get("data") or "")), (
                "application/json-patch+json"
            )
        except (ValueError, orjson.JSONDecodeError) as exc:
            raise BadRequest(f"Bundle.entry[{index}]: the Binary is not a JSON Patch") from exc
    raise BadRequest(f"Bundle.entry[{index}]: a PATCH entry carries a Binary JSON Patch")


async def _batch(
    ctx: Context, entries: list[Any], prefer: str | None, dispatch: Dispatch
) -> FhirResponse:
    out: list[Entry] = []
    for index, raw in enumerate(entries):
        try:
            item = _parse_entry(index, raw, ctx.base_url)
            async with savepoint(ctx.conn):
                if item.request.path and item.request.body is not None:
                    await _rewrite_conditional_references(ctx, item.request.body, {})
                response = await dispatch(ctx, item.request)
            out.append(_response_entry(ctx, response, prefer, item.request))
        except FhirError as exc:
            out.append(_error_entry(exc))
        except DATABASE_ERRORS as exc:
            log.exception("Batch entry %d failed in the database", index, exc_info=exc)
            error = FhirError("The entry could not be stored; the failure has been logged")
            out.append(_error_entry(error))
    return FhirResponse(200, bundle_text({"type": "batch-response"}, out))


async def _transaction(
    ctx: Context, items: list[_Item], prefer: str | None, dispatch: Dispatch
) -> FhirResponse:
    await atomic(ctx.conn)
    for item in items:
        try:
            _require_scopes(ctx, item.request)
        except FhirError as exc:
            raise _at(item, exc) from exc
    mapping: dict[str, str] = {}
    for item in items:
        try:
            await _resolve_target(ctx, item, mapping)
        except FhirError as exc:
            raise _at(item, exc) from exc
    for item in items:
        if item.request.body is not None and item.request.method in ("POST", "PUT"):
            try:
                await _rewrite_conditional_references(ctx, item.request.body, mapping)
            except FhirError as exc:
                raise _at(item, exc) from exc
    responses: dict[int, Entry] = {}
    for item in sorted(items, key=lambda i: (_ORDER[i.request.method], i.index)):
        try:
            response = await _run(ctx, item, dispatch)
        except FhirError as exc:
            raise _at(item, exc) from exc
        responses[item.index] = _response_entry(ctx, response, prefer, item.request)
    ordered = [responses[i] for i in range(len(items))]
    return FhirResponse(200, bundle_text({"type": "transaction-response"}, ordered))


def _require_scopes(ctx: Context, req: FhirRequest) -> None:
    """The scope gate for the entries that do not run through `dispatch` as they are: a POST
    runs as a create with an id given in advance, a conditional PUT searches for its target
    before any entry runs. The other entries are checked by `dispatch` as they run; a refusal
    anywhere fails the transaction, and nothing it wrote stays."""
    if len(req.path) != 1 or not is_resource_type(req.path[0]):
        return
    res_type = req.path[0]
    if req.method == "POST":
        require(ctx, "c", res_type)
        if req.if_none_exist:
            require(ctx, "s", res_type)
    elif req.method == "PUT" and req.query:
        require(ctx, "u", res_type)
        require(ctx, "s", res_type)


async def _resolve_target(ctx: Context, item: _Item, mapping: dict[str, str]) -> None:
    """Give a POST its id (or its match) and a conditional PUT its target, before anything runs."""
    req = item.request
    if req.method == "POST" and len(req.path) == 1:
        res_type = req.path[0]
        if req.if_none_exist:
            ids = await matching_ids(ctx, res_type, criteria_pairs(req.if_none_exist))
            if len(ids) > 1:
                raise PreconditionFailed(f"ifNoneExist matches more than one {res_type}")
            if ids:
                item.resolved_id, item.existing = ids[0], True
        if item.resolved_id is None:
            item.resolved_id = create_mod.new_id()
        if item.full_url:
            mapping[item.full_url] = f"{res_type}/{item.resolved_id}"
    elif req.method == "PUT" and len(req.path) == 1 and req.query:
        res_type = req.path[0]
        ids = await matching_ids(ctx, res_type, req.query)
        if len(ids) > 1:
            raise PreconditionFailed(f"The criteria match more than one {res_type}")
        body_id = req.body.get("id") if isinstance(req.body, dict) else None
        target = ids[0] if ids else (body_id or create_mod.new_id())
        if isinstance(req.body, dict):
            req.body = {**req.body, "id": target}
        req.path, req.query = (res_type, target), []
        if item.full_url:
            mapping[item.full_url] = f"{res_type}/{target}"
    elif req.method == "PUT" and len(req.path) == 2 and item.full_url:
        mapping[item.full_url] = f"{req.path[0]}/{req.path[1]}"


async def _run(ctx: Context, item: _Item, dispatch: Dispatch) -> FhirResponse:
    req = item.request
    if req.method == "POST" and len(req.path) == 1 and item.resolved_id is not None:
        if item.existing:
            found = await current_or_error(ctx, req.path[0], item.resolved_id)
            return FhirResponse(
                200,
                found.body,
                found.version,
                found.last_updated,
                location=f"{ctx.base_url}/{req.path[0]}/{found.res_id}/_history/{found.version}",
            )
        return await create_mod.create(ctx, req.path[0], req.body, assigned_id=item.resolved_id)
    return await dispatch(ctx, req)


async def _rewrite_conditional_references(ctx: Context, node: Any, mapping: dict[str, str]) -> None:
    """Replace fullUrl placeholders and conditional references with `Type/id`, in place."""
    stack: list[Any] = [node]
    while stack:
        current = stack.pop()
        items = current.items() if isinstance(current, dict) else enumerate(current)
        for key, value in list(items):
            if isinstance(value, (dict, list)):
                stack.append(value)
            elif isinstance(value, str):
                if value in mapping:
                    current[key] = mapping[value]
                elif key == "reference":
                    if value.startswith(("urn:uuid:", "urn:oid:")):
                        raise BadRequest(f"The reference {value} names no entry of this Bundle")
                    conditional = split_conditional(value)
                    if conditional is not None:
                        current[key] = await _resolve_reference(ctx, value, *conditional)
                        mapping[value] = current[key]


async def _resolve_reference(ctx: Context, reference: str, res_type: str, query: str) -> str:
    require(ctx, "s", res_type)  # resolving a conditional reference is a search
    ids = await matching_ids(ctx, res_type, criteria_pairs(query), lock=False)
    if len(ids) != 1:
        found = "no" if not ids else "more than one"
        raise PreconditionFailed(
            f"The conditional reference {reference} matches {found} {res_type}"
        )
    return f"{res_type}/{ids[0]}"


def _response_entry(
    ctx: Context, response: FhirResponse, prefer: str | None, request: FhirRequest
) -> Entry:
    fields: dict[str, Any] = {
        "status": f"{response.status} {_REASON.get(response.status, '')}".strip()
    }
    if response.location:
        fields["location"] = response.location
    if response.version is not None:
        fields["etag"] = f'W/"{response.version}"'
    if response.last_modified is not None:
        fields["lastModified"] = instant(response.last_modified)
    if response.issues:
        fields["outcome"] = operation_outcome(response.issues)
    include = request.method in ("GET", "HEAD") or prefer == "representation"
    if prefer == "OperationOutcome" and "outcome" not in fields:
        fields["outcome"] = operation_outcome([])
    return Entry({"response": fields}, response.body if include else None)


def _error_entry(exc: FhirError) -> Entry:
    return Entry(
        {
            "response": {
                "status": f"{exc.status} {_REASON.get(exc.status, '')}".strip(),
                "outcome": operation_outcome(exc.issues),
            }
        }
    )


def _at(item: _Item, exc: FhirError) -> FhirError:
    """The same error, pointing at the entry that caused it."""
    where = f"Bundle.entry[{item.index}]"
    issues = tuple(
        Issue(f"{where}: {i.diagnostics}", i.code, i.severity, (where, *i.expression))
        for i in exc.issues
    )
    error = type(exc)(f"{where}: {exc.diagnostics}", issues=issues)
    return error
