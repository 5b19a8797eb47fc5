"""`GET /.well-known/smart-configuration` and `GET /fhir/.well-known/smart-configuration`: how a
client gets an access token (https://hl7.org/fhir/smart-app-launch/conformance.html#using-well-known:
the document is published beside the FHIR base; the root copy serves clients that look at the
origin). Public, JSON (`application/json`, as the specification asks)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from tobiume.api.state import AppState
from tobiume.auth.discovery import smart_configuration
from tobiume.fhir.json import dumpb


async def smart_configuration_document(request: Request) -> Response:
    state: AppState = request.app.state.tobiume
    document = smart_configuration(state.settings.base_url.rstrip("/"))
    return Response(dumpb(document), media_type="application/json")
