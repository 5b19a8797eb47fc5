"""Client authentication by a signed JWT (`private_key_jwt`), as SMART Backend Services asks
(https://hl7.org/fhir/smart-app-launch/backend-services.html#request-1 and
#signature-verification; RFC 7523 sections 2.2 and 3).

The assertion's header names RS384 or ES384 and the `kid` of one of the client's registered
keys; a `jku`, when present, must be the JWK Set URL the client registered (the server never
fetches a URL a request names). Its claims: `iss` and `sub` both the client's id, `aud` the
token endpoint's URL, `exp` at most five minutes ahead, and a `jti` the client never used
before (checked by the caller against `storage.clients.first_use_of_assertion`, so that the
check and the token it allows are one transaction).

Every refusal is an `AssertionRefused`, which the token endpoint answers as RFC 6749's
`invalid_client` (section 5.2).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jose import jwt
from jose.exceptions import ExpiredSignatureError, JWTClaimsError, JWTError

ALGORITHMS: Mapping[str, tuple[str, str | None]] = {
    "RS384": ("RSA", None),
    "ES384": ("EC", "P-384"),
}
"""The algorithms SMART Backend Services requires servers to support, with the key type (and
curve) each needs: a key of another type never verifies, whatever the header says."""
MAX_LIFETIME_SECONDS = 300
"""SMART: `exp` "no more than five minutes in the future"."""
LEEWAY_SECONDS = 30
"""Clocks a little apart: an assertion just expired, or issued a moment ahead, still counts."""
MAX_ASSERTION_LENGTH = 16_384
MAX_JTI_LENGTH = 255
_REFUSED_HEADERS = ("x5u", "jwk", "x5c", "crit")


class AssertionRefused(Exception):
    """The client assertion does not authenticate its client; the message says why."""


@dataclass(frozen=True, slots=True)
class Claimed:
    """What an assertion says before its signature is checked: enough to find the client."""

    client_id: str
    kid: str
    alg: str
    jku: str | None


@dataclass(frozen=True, slots=True)
class Verified:
    """An assertion whose signature and claims hold: its `jti` still has to be new."""

    client_id: str
    jti: str
    expires_at: int


def claimed(assertion: str) -> Claimed:
    """The client and key an assertion names, read without trusting it."""
    if not assertion or len(assertion) > MAX_ASSERTION_LENGTH or assertion.count(".") != 2:
        raise AssertionRefused("client_assertion is not a signed JWT in compact form")
    try:
        header = jwt.get_unverified_header(assertion)
        claims = jwt.get_unverified_claims(assertion)
    except JWTError as exc:
        raise AssertionRefused("client_assertion cannot be decoded") from exc
    alg = header.get("alg")
    if alg not in ALGORITHMS:
        raise AssertionRefused(f"client_assertion must be signed RS384 or ES384, not {alg!r}")
    for name in _REFUSED_HEADERS:
        if name in header:
            raise AssertionRefused(f"client_assertion header {name!r} is not accepted")
    typ = header.get("typ")
    if typ is not None and str(typ).upper() != "JWT":
        raise AssertionRefused("client_assertion typ must be JWT")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise AssertionRefused("client_assertion header needs the kid of a registered key")
    jku = header.get("jku")
    if jku is not None and not isinstance(jku, str):
        raise AssertionRefused("client_assertion jku must be a URL")
    issuer, subject = claims.get("iss"), claims.get("sub")
    if not isinstance(issuer, str) or not issuer or issuer != subject:
        raise AssertionRefused("client_assertion iss and sub must both be the client_id")
    return Claimed(issuer, kid, str(alg), jku)


def verify(
    assertion: str,
    said: Claimed,
    key: dict[str, Any],
    *,
    token_endpoint: str,
    now: float,
) -> Verified:
    """Check the assertion's signature by the client's `key` and its claims."""
    kty, curve = ALGORITHMS[said.alg]
    if key.get("kty") != kty or (curve is not None and key.get("crv") != curve):
        raise AssertionRefused(f"key {said.kid!r} is not a key for {said.alg}")
    try:
        claims = jwt.decode(
            assertion,
            key,
            algorithms=[said.alg],
            audience=token_endpoint,
            issuer=said.client_id,
            subject=said.client_id,
            options={
                "require_exp": True,
                "require_iss": True,
                "require_sub": True,
                "require_aud": True,
                "require_jti": True,
                "verify_at_hash": False,
                "leeway": LEEWAY_SECONDS,
            },
        )
    except ExpiredSignatureError as exc:
        raise AssertionRefused("client_assertion has expired") from exc
    except JWTClaimsError as exc:
        raise AssertionRefused(f"client_assertion claims: {exc}") from exc
    except JWTError as exc:
        raise AssertionRefused(f"client_assertion is not valid: {exc}") from exc
    expires = claims.get("exp")
    if not isinstance(expires, int) or expires > now + MAX_LIFETIME_SECONDS + LEEWAY_SECONDS:
        raise AssertionRefused("client_assertion exp must be at most five minutes ahead")
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti or len(jti) > MAX_JTI_LENGTH:
        raise AssertionRefused("client_assertion needs a jti of at most 255 characters")
    return Verified(said.client_id, jti, expires)
