"""The client-credentials grant of SMART Backend Services
(https://hl7.org/fhir/smart-app-launch/backend-services.html#obtain-access-token): a registered
client proves who it is with a signed assertion (`auth.assertion`) and gets a short-lived access
token (`auth.tokens`) for the scopes it asked for, narrowed to those it was registered with
(`auth.narrowing`).

A request is refused with RFC 6749's errors (section 5.2): `unsupported_grant_type`,
`invalid_request`, `invalid_client` (anything about the client or its assertion, unknown and
disabled clients included, with no hint of which) and `invalid_scope`. Each refusal counts
against the client the assertion names and against the caller's address; a caller with too
many refusals in the window (`TOBIUME_TOKEN_FAILURE_LIMIT` per
`TOBIUME_TOKEN_FAILURE_WINDOW_SECONDS`) is refused outright until the window passes (429), so
keys cannot be guessed at the speed of the server. The counts live in the database, so every
worker and host sees the same ones.

The assertion's `jti` is recorded in the transaction that issues the token: two requests with
one assertion, even at once, get one token.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tobiume.auth import endpoints
from tobiume.auth.assertion import AssertionRefused, claimed, verify
from tobiume.auth.client_keys import ClientKeys
from tobiume.auth.keys import KeyFile
from tobiume.auth.narrowing import narrow
from tobiume.auth.tokens import issue
from tobiume.config import Settings
from tobiume.db import Database
from tobiume.storage.clients import (
    failures_since,
    find_client,
    first_use_of_assertion,
    record_failure,
)

GRANT_TYPE = "client_credentials"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
TOKEN_TYPE = "bearer"  # noqa: S105 (RFC 6750's token type name, not a secret)


class TokenRefused(Exception):
    """A token request refused with an RFC 6749 section 5.2 error."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status
        self.retry_after: int | None = None


@dataclass(frozen=True, slots=True)
class Issued:
    """A successful token response (RFC 6749 section 5.1)."""

    access_token: str
    expires_in: int
    scope: str


@dataclass(frozen=True, slots=True)
class TokenService:
    """What the token endpoint needs for its lifetime."""

    settings: Settings
    database: Database
    key_file: KeyFile
    client_keys: ClientKeys

    async def request(self, form: Mapping[str, str], address: str | None) -> Issued:
        """Answer one token request; `TokenRefused` for every refusal."""
        now = time.time()
        subjects = [f"address:{address}"] if address else []
        said_client = _claimed_client(form.get("client_assertion", ""))
        if said_client is not None:
            subjects.append(f"client:{said_client[:64]}")
        await self._check_throttle(subjects, now)
        try:
            return await self._grant(form, now)
        except TokenRefused:
            async with self.database.write() as conn:
                await record_failure(conn, subjects, _instant(now))
            raise

    async def _check_throttle(self, subjects: list[str], now: float) -> None:
        window = self.settings.token_failure_window_seconds
        since = _instant(now - window)
        async with self.database.write() as conn:
            for subject in subjects:
                if await failures_since(conn, subject, since) >= self.settings.token_failure_limit:
                    refused = TokenRefused(
                        "invalid_client",
                        "Too many failed token requests; try again later",
                        status=429,
                    )
                    refused.retry_after = window
                    raise refused

    async def _grant(self, form: Mapping[str, str], now: float) -> Issued:
        if form.get("grant_type") != GRANT_TYPE:
            raise TokenRefused("unsupported_grant_type", "grant_type must be client_credentials")
        if form.get("client_assertion_type") != ASSERTION_TYPE:
            raise TokenRefused("invalid_request", f"client_assertion_type must be {ASSERTION_TYPE}")
        asked = form.get("scope", "").strip()
        if not asked:
            raise TokenRefused("invalid_request", "scope is required")
        assertion = form.get("client_assertion", "")
        try:
            said = claimed(assertion)
        except AssertionRefused as exc:
            raise TokenRefused("invalid_client", str(exc)) from exc
        if "client_id" in form and form["client_id"] != said.client_id:
            raise TokenRefused("invalid_client", "client_id is not the assertion's client")
        async with self.database.read() as conn:
            client = await find_client(conn, said.client_id)
        if client is None or client.disabled:
            raise TokenRefused("invalid_client", "The client is not registered or is disabled")
        if said.jku is not None and said.jku != client.jwks_url:
            raise TokenRefused("invalid_client", "jku is not the client's registered JWK Set URL")
        key = await self.client_keys.find(client.jwks, client.jwks_url, said.kid)
        if key is None:
            raise TokenRefused(
                "invalid_client", f"No registered key of the client has kid {said.kid!r}"
            )
        base_url = self.settings.base_url
        try:
            verified = verify(
                assertion, said, key, token_endpoint=endpoints.token_endpoint(base_url), now=now
            )
        except AssertionRefused as exc:
            raise TokenRefused("invalid_client", str(exc)) from exc
        scope = narrow(asked, client.scopes)
        if not scope:
            raise TokenRefused("invalid_scope", "None of the scopes asked for may be granted")
        lifetime = self.settings.token_lifetime_seconds
        async with self.database.write() as conn:
            expires = _instant(verified.expires_at + 60)
            if not await first_use_of_assertion(
                conn, client.client_id, verified.jti, expires, _instant(now)
            ):
                raise TokenRefused("invalid_client", "This client_assertion was used before (jti)")
            token = issue(
                self.key_file.keys,
                issuer=endpoints.issuer(base_url),
                audience=endpoints.audience(base_url),
                subject=client.client_id,
                client_id=client.client_id,
                role=client.role,
                organization=client.organization,
                scope=scope,
                lifetime=lifetime,
                now=now,
            )
        return Issued(token, lifetime, scope)


def _claimed_client(assertion: str) -> str | None:
    """The client an assertion names, for counting failures even when it is refused."""
    try:
        return claimed(assertion).client_id
    except AssertionRefused:
        return None


def _instant(seconds: float) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds)
