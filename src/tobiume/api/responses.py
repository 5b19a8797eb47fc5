"""Turning a `FhirResponse` or a `FhirError` into HTTP (https://hl7.org/fhir/R4/http.html):
`application/fhir+json`, `ETag: W/"n"`, `Last-Modified`, `Location`, and the `Prefer: return`
choice of minimal, representation or OperationOutcome (https://hl7.org/fhir/R4/http.html#ops).
"""

from __future__ import annotations

from email.utils import format_datetime

from starlette.responses import Response

from tobiume.errors import FhirError
from tobiume.fhir.json import dumpb
from tobiume.fhir.outcomes import operation_outcome
from tobiume.interactions.context import FhirRequest, FhirResponse

FHIR_JSON = "application/fhir+json; charset=utf-8"


def render(req: FhirRequest, res: FhirResponse) -> Response:
    headers: dict[str, str] = {}
    if res.version is not None:
        headers["ETag"] = f'W/"{res.version}"'
    if res.last_modified is not None:
        headers["Last-Modified"] = format_datetime(res.last_modified, usegmt=True)
    if res.location is not None:
        headers["Location"] = res.location
    if (
        req.method in ("GET", "HEAD")
        and res.status == 200
        and res.version is not None
        and req.if_none_match is not None
        and req.if_none_match.strip() in (f'W/"{res.version}"', f'"{res.version}"')
    ):
        return Response(status_code=304, headers=headers)
    content: bytes | None
    if (
        req.method in ("POST", "PUT", "PATCH")
        and res.status in (200, 201)
        and req.path
        and (req.path[-1] not in ("_search",))
    ):
        content = _write_content(req, res)
    else:
        content = _content(res)
    if res.status == 204 or req.method == "HEAD":
        return Response(status_code=res.status, headers=headers)
    if content is None:
        return Response(status_code=res.status, headers=headers)
    return Response(content, status_code=res.status, headers=headers, media_type=FHIR_JSON)


def _content(res: FhirResponse) -> bytes | None:
    if res.body is None:
        return None
    if isinstance(res.body, str):
        return res.body.encode()
    return dumpb(res.body)


def _write_content(req: FhirRequest, res: FhirResponse) -> bytes | None:
    if req.prefer_return == "minimal":
        return None
    if req.prefer_return == "OperationOutcome":
        return dumpb(operation_outcome(res.issues))
    return _content(res)


def error_response(exc: FhirError) -> Response:
    return Response(
        dumpb(operation_outcome(exc.issues)),
        status_code=exc.status,
        headers=dict(exc.headers) or None,
        media_type=FHIR_JSON,
    )
