"""`POST /auth/token`: the token endpoint of SMART Backend Services
(https://hl7.org/fhir/smart-app-launch/backend-services.html#obtain-access-token; RFC 6749
sections 4.4, 5.1 and 5.2). The request is form-encoded; the answer is OAuth's JSON, not FHIR's,
with `Cache-Control: no-store` (RFC 6749 section 5.1). The work is `auth.grant.TokenService`'s.

The caller's address for counting failures is the connection's peer: behind a reverse proxy
that is the proxy, unless uvicorn is told to trust its `X-Forwarded-For` (`--forwarded-allow-ips`).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response

from tobiume.api.state import AppState
from tobiume.auth.grant import TOKEN_TYPE, TokenRefused
from tobiume.fhir.json import dumpb

MAX_FORM_BYTES = 65_536
_FORM = "application/x-www-form-urlencoded"
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _oauth(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    return Response(
        dumpb(body),
        status_code=status,
        media_type="application/json",
        headers={**_NO_STORE, **(headers or {})},
    )


def _refusal(refused: TokenRefused) -> Response:
    headers = {"Retry-After": str(refused.retry_after)} if refused.retry_after else None
    body = {"error": refused.error, "error_description": refused.description}
    return _oauth(refused.status, body, headers)


async def token(request: Request) -> Response:
    state: AppState = request.app.state.tobiume
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != _FORM:
        return _refusal(TokenRefused("invalid_request", f"The request body must be {_FORM}"))
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_FORM_BYTES:
            return _refusal(TokenRefused("invalid_request", "The request body is too large"))
    try:
        pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(raw))
    except (UnicodeDecodeError, ValueError):
        return _refusal(TokenRefused("invalid_request", "The request body is not a form"))
    form: dict[str, str] = {}
    for name, value in pairs:
        if name in form:  # RFC 6749 section 3.2: parameters MUST NOT be included more than once
            return _refusal(TokenRefused("invalid_request", f"{name} is given more than once"))
        form[name] = value
    address = request.client.host if request.client is not None else None
    try:
        issued = await state.tokens.request(form, address)
    except TokenRefused as refused:
        return _refusal(refused)
    body = {
        "access_token": issued.access_token,
        "token_type": TOKEN_TYPE,
        "expires_in": issued.expires_in,
        "scope": issued.scope,
    }
    return _oauth(200, body)
