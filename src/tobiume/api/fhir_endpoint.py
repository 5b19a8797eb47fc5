"""The HTTP edge of the FHIR API: one handler for every method under `/fhir`.

It negotiates the format (JSON only: XML asked for is 406, XML sent is 415,
https://hl7.org/fhir/R4/http.html#mime-type), bounds and parses the body, opens the request's
one transaction (a write transaction for anything that may write), hands a `FhirRequest` to the
router, with the requester's principal and the access policy of its scopes, and renders the
answer. The transaction commits before the response is built, so a
failure at commit is answered as a failure.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response

from tobiume.access.gates import access_for
from tobiume.access.policy import OpenAccess
from tobiume.api.authentication import PRINCIPAL, principal_of
from tobiume.api.responses import render
from tobiume.api.state import AppState
from tobiume.auth.principal import Principal
from tobiume.errors import BadRequest, NotAcceptable, TooLarge, UnsupportedMediaType
from tobiume.fhir.json import JsonLimits, parse_json
from tobiume.interactions.context import Context, FhirRequest
from tobiume.interactions.router import dispatch

_JSON_TYPES = ("application/fhir+json", "application/json", "application/json-patch+json")
_XML_TYPES = ("application/fhir+xml", "application/xml", "text/xml", "xml")
_FORM = "application/x-www-form-urlencoded"
_OPEN = OpenAccess()


async def handle(request: Request) -> Response:
    state: AppState = request.app.state.tobiume
    settings = state.settings
    method = request.method
    path = tuple(p for p in request.path_params.get("path", "").split("/") if p)
    principal: Principal | None = request.scope.get(PRINCIPAL)
    if principal is None and path != ("metadata",):  # only the CapabilityStatement is public
        principal = principal_of(request)
    access = _OPEN if principal is None else access_for(principal, settings)
    raw_query: bytes = request.scope.get("query_string", b"")
    query = (
        parse_qsl(raw_query.decode("utf-8", "replace"), keep_blank_values=True) if raw_query else []
    )
    _negotiate(request, query)
    body = None
    content_type = None
    if method in ("POST", "PUT", "PATCH"):
        content_type = _content_type(request)
        raw = await _read_body(request, settings.max_body_bytes)
        if content_type == _FORM:
            if path[-1:] != ("_search",):
                raise UnsupportedMediaType("Form-encoded bodies are only for POST [type]/_search")
            query = query + parse_qsl(raw.decode(), keep_blank_values=True)
        elif raw.strip():
            limits = JsonLimits(
                settings.max_body_bytes, settings.max_json_depth, settings.max_string_length
            )
            body = parse_json(raw, limits)
        elif path[-1:] != ("_search",) and method != "DELETE":
            raise BadRequest("The request needs a JSON body")
    headers = request.headers
    prefer = _prefer(headers.get("prefer"))
    req = FhirRequest(
        method=method,
        path=path,
        query=[(k, v) for k, v in query if k not in ("_format", "_pretty")],
        body=body,
        if_match=headers.get("if-match"),
        if_none_exist=headers.get("if-none-exist"),
        if_none_match=headers.get("if-none-match"),
        if_modified_since=headers.get("if-modified-since"),
        prefer_return=prefer.get("return"),
        prefer_handling=prefer.get("handling"),
        content_type=content_type,
    )
    writes = method in ("PUT", "PATCH", "DELETE") or (
        method == "POST" and path[-1:] != ("_search",)
    )
    database = state.database
    async with database.write() if writes else database.read() as conn:
        response = await dispatch(Context(conn, settings, access, principal), req)
    return render(req, response)


def _negotiate(request: Request, query: list[tuple[str, str]]) -> None:
    for key, value in query:
        if key == "_format" and any(x in value for x in _XML_TYPES):
            raise NotAcceptable("This server speaks FHIR JSON only; _format=json")
    accept = request.headers.get("accept")
    if accept:
        kinds = [part.split(";")[0].strip().lower() for part in accept.split(",")]
        if any(k in _XML_TYPES for k in kinds) and not any(
            k in _JSON_TYPES or k in ("*/*", "application/*") or k.endswith("+json") for k in kinds
        ):
            raise NotAcceptable("This server answers in FHIR JSON only (application/fhir+json)")


def _content_type(request: Request) -> str | None:
    raw = request.headers.get("content-type")
    if raw is None:
        return None
    kind = raw.split(";")[0].strip().lower()
    if kind in _JSON_TYPES or kind == _FORM:
        return kind
    if kind in _XML_TYPES or kind.endswith("+xml"):
        raise UnsupportedMediaType("This server reads FHIR JSON only (application/fhir+json)")
    raise UnsupportedMediaType(f"Unsupported Content-Type {kind!r}; send application/fhir+json")


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"Body of {declared} bytes is over the limit of {limit}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"Body is over the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _prefer(header: str | None) -> dict[str, str]:
    """`Prefer: return=minimal, handling=strict` -> {"return": "minimal", "handling": "strict"}."""
    result: dict[str, str] = {}
    if header:
        for part in header.replace(";", ",").split(","):
            key, _, value = part.strip().partition("=")
            if value:
                result[key.strip().lower()] = value.strip().strip('"')
    return result
