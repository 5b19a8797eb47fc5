"""The FHIR router: which interaction a request is, from its method and path
(https://hl7.org/fhir/R4/http.html#summary). The HTTP edge and batch/transaction entries both
come through `dispatch`, so a Bundle entry behaves exactly like the same request sent alone,
the scope gate included: each interaction is checked against the token's scopes
(`scope_gate.require`) before it runs.
"""

from __future__ import annotations

from tobiume.access.codesystems import PUBLISHED, PUBLISHED_AT
from tobiume.errors import BadRequest, MethodNotAllowed, NotFound
from tobiume.fhir.resource_types import is_resource_type
from tobiume.interactions import bundle, create, delete, history, patch, read, search, update
from tobiume.interactions.capabilities import capability_statement
from tobiume.interactions.context import Context, FhirRequest, FhirResponse
from tobiume.interactions.scope_gate import require
from tobiume.operations.everything import everything

_JSON_PATCH = "application/json-patch+json"


async def dispatch(ctx: Context, req: FhirRequest) -> FhirResponse:
    path, method = req.path, req.method
    strict = req.prefer_handling == "strict"
    if not path:
        if method == "POST":
            return await bundle.process(ctx, req.body, req.prefer_return, dispatch)
        if method in ("GET", "HEAD"):
            _require_system_search(ctx, req)
            return await search.system_search(ctx, req.query, strict=strict)
        raise MethodNotAllowed(f"{method} is not allowed on the base URL")
    head = path[0]
    if path == ("_search",) and method == "POST":
        _require_system_search(ctx, req)
        return await search.system_search(ctx, req.query, strict=strict)
    if head == "metadata" and len(path) == 1 and method in ("GET", "HEAD"):
        return FhirResponse(200, capability_statement(ctx.base_url))
    if head == "_history" and len(path) == 1 and method in ("GET", "HEAD"):
        require(ctx, "s")
        return await history.history_bundle(ctx, req.query)
    if len(path) == 3 and head == "Patient" and path[2] == "$everything":
        if method not in ("GET", "HEAD"):
            raise MethodNotAllowed(f"{method} is not allowed on $everything")
        require(ctx, "r", "Patient")
        return await everything(ctx, path[1], req.query)
    if head.startswith("$") or any(p.startswith("$") for p in path[1:]):
        raise NotFound(f"Operation {next(p for p in path if p.startswith('$'))} is not supported")
    if not is_resource_type(head):
        raise NotFound(f"Unknown resource type {head!r}")
    return await _type_level(ctx, req, head)


async def _type_level(ctx: Context, req: FhirRequest, res_type: str) -> FhirResponse:
    path, method = req.path, req.method
    query = req.query
    if len(path) == 1:
        if method in ("GET", "HEAD"):
            require(ctx, "s", res_type)
            return await search.search(
                ctx, res_type, req.query, strict=req.prefer_handling == "strict"
            )
        if method == "POST":
            require(ctx, "c", res_type)
            if req.if_none_exist:
                require(ctx, "s", res_type)
            return await create.create(ctx, res_type, req.body, if_none_exist=req.if_none_exist)
        if method == "PUT" and query:
            _require_conditional(ctx, "u", res_type)
            return await update.conditional_update(
                ctx, res_type, query, req.body, if_match=req.if_match
            )
        if method == "DELETE" and query:
            _require_conditional(ctx, "d", res_type)
            return await delete.conditional_delete(ctx, res_type, query)
        if method == "PATCH" and query:
            _require_json_patch(req)
            _require_conditional(ctx, "u", res_type)
            return await patch.conditional_patch(
                ctx, res_type, query, req.body, if_match=req.if_match
            )
        raise MethodNotAllowed(f"{method} on {res_type} needs search criteria or an id")
    second = path[1]
    if res_type == "CodeSystem" and second in PUBLISHED:
        return _published(ctx, req)
    if len(path) == 2 and second == "_search" and method == "POST":
        require(ctx, "s", res_type)
        return await search.search(ctx, res_type, req.query, strict=req.prefer_handling == "strict")
    if len(path) == 2 and second == "_history" and method in ("GET", "HEAD"):
        require(ctx, "s", res_type)
        return await history.history_bundle(ctx, req.query, res_type)
    if len(path) == 2:
        if method in ("GET", "HEAD"):
            require(ctx, "r", res_type)
            return await read.read(ctx, res_type, second)
        if method == "PUT":
            require(ctx, "u", res_type)
            return await update.update(ctx, res_type, second, req.body, if_match=req.if_match)
        if method == "DELETE":
            require(ctx, "d", res_type)
            return await delete.delete(ctx, res_type, second, if_match=req.if_match)
        if method == "PATCH":
            _require_json_patch(req)
            require(ctx, "u", res_type)
            return await patch.patch(ctx, res_type, second, req.body, if_match=req.if_match)
        raise MethodNotAllowed(f"{method} is not allowed on {res_type}/{second}")
    if len(path) == 3 and res_type == "Patient" and is_resource_type(path[2]):
        if method not in ("GET", "HEAD"):
            raise MethodNotAllowed(f"{method} is not allowed on a compartment search")
        require(ctx, "s", path[2])
        strict = req.prefer_handling == "strict"
        return await search.search(ctx, path[2], req.query, strict=strict, patient=second)
    if len(path) == 3 and path[2] == "_history" and method in ("GET", "HEAD"):
        require(ctx, "r", res_type)
        return await history.history_bundle(ctx, req.query, res_type, second)
    if len(path) == 4 and path[2] == "_history" and method in ("GET", "HEAD"):
        require(ctx, "r", res_type)
        return await read.vread(ctx, res_type, second, path[3])
    raise NotFound(f"No FHIR interaction at /{'/'.join(path)}")


def _published(ctx: Context, req: FhirRequest) -> FhirResponse:
    """A CodeSystem the server publishes (`access.codesystems`): read and vread of version 1;
    it cannot be written."""
    path = req.path
    if req.method not in ("GET", "HEAD"):
        raise MethodNotAllowed(f"CodeSystem/{path[1]} is published by the server: read only")
    require(ctx, "r", "CodeSystem")
    if len(path) == 2 or (len(path) == 4 and path[2] == "_history" and path[3] == "1"):
        body = PUBLISHED[path[1]]
        return FhirResponse(200, body, 1, PUBLISHED_AT)
    raise NotFound(f"No FHIR interaction at /{'/'.join(path)}")


def _require_system_search(ctx: Context, req: FhirRequest) -> None:
    """Each type of `_type` needs `s`; a search of every type needs `s` on `*`."""
    types = search.requested_types(req.query)
    for res_type in types or ["*"]:
        require(ctx, "s", res_type)


def _require_conditional(ctx: Context, permission: str, res_type: str) -> None:
    """A conditional write searches for its target first."""
    require(ctx, permission, res_type)
    require(ctx, "s", res_type)


def _require_json_patch(req: FhirRequest) -> None:
    if req.content_type is not None and req.content_type != _JSON_PATCH:
        raise BadRequest(f"PATCH bodies must be {_JSON_PATCH} (JSON Patch)")
