"""Authentication at the edge: no request reaches a route without a verified bearer token,
except the few public ones (the CapabilityStatement, SMART discovery and the probes).

A pure ASGI middleware in front of every route (after Starlette's own middleware classes), so a
route added later is closed until it is named public here, and an unknown path without a token
is 401, not 404. The token comes in the `Authorization` header as `Bearer` (RFC 6750 section
2.1; the form and query forms of section 2.2 and 2.3 are not accepted: tokens in URLs end up in
logs). Its principal goes into the ASGI scope for the route (`principal_of`); a refusal is a
401 OperationOutcome with a `WWW-Authenticate: Bearer` challenge (RFC 6750 section 3).
Verification is `auth.tokens.TokenVerifier`'s, cached per token.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from tobiume.api.responses import error_response
from tobiume.api.state import AppState
from tobiume.auth.principal import Principal
from tobiume.errors import Unauthorized

PUBLIC_PATHS = frozenset(
    {
        "/fhir/metadata",
        "/fhir/.well-known/smart-configuration",
        "/.well-known/smart-configuration",
        "/healthz",
        "/readyz",
    }
)
"""Paths that answer GET and HEAD without a token: how to talk to the server, and whether it
is up. Nothing else does, `/openapi.json` and `/docs` included."""

PRINCIPAL = "tobiume.principal"
"""The ASGI scope key of the request's principal."""


TOKEN_ENDPOINT = "/auth/token"  # noqa: S105 (a path, not a secret)
"""Where a client trades a signed assertion for a token: it authenticates by the assertion,
not by a bearer token (`api.token_endpoint`)."""


def is_public(method: str, path: str) -> bool:
    if method == "POST" and path == TOKEN_ENDPOINT:
        return True
    return method in ("GET", "HEAD") and path in PUBLIC_PATHS


class Authentication:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or is_public(scope["method"], scope["path"]):
            await self.app(scope, receive, send)
            return
        state: AppState = scope["app"].state.tobiume
        try:
            scope[PRINCIPAL] = state.verifier.verify(bearer_token(scope))
        except Unauthorized as exc:
            await error_response(exc)(scope, receive, send)
            return
        await self.app(scope, receive, send)


def bearer_token(scope: Scope) -> str:
    """The token of `Authorization: Bearer <token>` (the scheme is case-insensitive)."""
    header: bytes | None = None
    for name, value in scope["headers"]:
        if name == b"authorization":
            header = value
            break
    if header is None:
        raise Unauthorized("No access token: send Authorization: Bearer <token>")
    scheme, _, token = header.decode("latin-1").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("The Authorization header must be Bearer <token>")
    return token.strip()


def principal_of(request: Request) -> Principal:
    """The principal `Authentication` verified for this request; 401 if there is none (a
    route reached without the middleware, which must never answer)."""
    principal: Principal | None = request.scope.get(PRINCIPAL)
    if principal is None:
        raise Unauthorized("No access token: send Authorization: Bearer <token>")
    return principal
