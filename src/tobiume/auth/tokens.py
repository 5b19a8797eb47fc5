"""Access tokens: JWTs (RFC 7519) signed ES384 by the server's key set (`auth.keys`), in the
shape of RFC 9068 (JWT profile for OAuth 2.0 access tokens) with SMART's claims.

Claims: `iss` (`auth.endpoints.issuer`), `aud` (the FHIR base), `sub`, `client_id`, `iat`,
`exp`, `jti`, `scope`, and this server's `role` and `organization`; where set, `fhirUser`,
`patient` (SMART launch context) and `purpose_of_use`. The header names the signing key
(`kid`) and the type `at+jwt` (RFC 9068 section 2.1).

Verification (`TokenVerifier`) refuses, each with a 401 carrying RFC 6750's `invalid_token`:
a token that is not a JWS in compact form; an `alg` other than the issuer's (for this server
only ES384, so never `none` nor an HMAC algorithm keyed with a public key: RFC 8725 section
2.1); a `jku`, `x5u`, `jwk` or `x5c` header, which would have the token name its own key
(RFC 8725 section 3.10); a `crit` header (no extension is understood, RFC 7515 section
4.1.11); an unknown `kid`; a bad signature; a missing `exp`, `iat`, `iss` or `aud`; an issuer
or audience not this server's; an expired token (from its `exp` on, no leeway); and a token
not yet valid, whose `nbf` or `iat` is more than `LEEWAY_SECONDS` ahead of the server's clock
(the leeway allows for clocks a little apart, RFC 7519 sections 4.1.4 and 4.1.5).

A verified token is kept with its principal until its `exp`, so a client that sends the same
token again costs one dict lookup, not an ECDSA verification (about a millisecond). Tokens are
checked per issuer (`iss` -> `IssuerVerifier`): this server's own (`LocalVerifier`) now,
external identity providers beside it later.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from jose import jwt
from jose.exceptions import ExpiredSignatureError, JWTClaimsError, JWTError

from tobiume.auth import endpoints
from tobiume.auth.keys import ALGORITHM, KeyFile, KeySet
from tobiume.auth.principal import Principal
from tobiume.auth.roles import ROLES
from tobiume.auth.scopes import parse_scopes
from tobiume.errors import Unauthorized
from tobiume.fhir.references import is_valid_id

LEEWAY_SECONDS = 30
"""How far ahead of the server's clock a token's `iat` or `nbf` may be."""
MAX_TOKEN_LENGTH = 16_384
"""Longer is no token this server issued, and would not fit a common HTTP header limit."""
CACHED_TOKENS = 10_000
RECHECK_SECONDS = 1.0
"""How often a cache hit also looks whether the key file changed (a rotation can prune keys)."""
TOKEN_TYPE = "at+jwt"  # noqa: S105 (the JWT type of access tokens, RFC 9068 section 2.1)

_REFUSED_HEADERS = ("jku", "x5u", "jwk", "x5c", "crit")
_ORGANIZATION = re.compile(r"Organization/[A-Za-z0-9\-.]{1,64}")


def sign(keys: KeySet, claims: Mapping[str, Any]) -> str:
    """`claims` as a JWS signed by the newest key, its `kid` in the header."""
    key = keys.current
    headers = {"kid": key.kid, "typ": TOKEN_TYPE}
    token: str = jwt.encode(dict(claims), key.signer, algorithm=ALGORITHM, headers=headers)
    return token


def issue(
    keys: KeySet,
    *,
    issuer: str,
    audience: str,
    subject: str,
    role: str,
    organization: str,
    scope: str,
    lifetime: int,
    client_id: str | None = None,
    fhir_user: str | None = None,
    patient: str | None = None,
    purpose_of_use: str | None = None,
    now: float | None = None,
) -> str:
    """A signed access token valid for `lifetime` seconds from `now`."""
    issued = int(time.time() if now is None else now)
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": audience,
        "sub": subject,
        "client_id": client_id or subject,
        "iat": issued,
        "exp": issued + lifetime,
        "jti": secrets.token_urlsafe(18),
        "scope": scope,
        "role": role,
        "organization": organization,
    }
    optional = {"fhirUser": fhir_user, "patient": patient, "purpose_of_use": purpose_of_use}
    claims.update({name: value for name, value in optional.items() if value is not None})
    return sign(keys, claims)


def refuse(reason: str) -> Unauthorized:
    return Unauthorized(f"The access token is not valid: {reason}")


class IssuerVerifier(Protocol):
    """Verifies the tokens of one issuer and maps their claims to a principal."""

    algorithms: tuple[str, ...]

    def refresh(self) -> bool:
        """Reload the issuer's keys if they changed; True if they did (the cache is dropped)."""
        ...

    def verify(self, token: str, header: Mapping[str, Any], now: float) -> Principal:
        """The principal of a token whose header passed the common checks; `Unauthorized`
        for any reason to refuse it."""
        ...


class LocalVerifier:
    """Tokens this server signed: its key set, its issuer, its FHIR base as audience."""

    algorithms: tuple[str, ...] = (ALGORITHM,)

    def __init__(self, key_file: KeyFile, *, issuer: str, audience: str) -> None:
        self.key_file = key_file
        self.issuer = issuer
        self.audience = audience

    def refresh(self) -> bool:
        return self.key_file.refresh()

    def verify(self, token: str, header: Mapping[str, Any], now: float) -> Principal:
        kid = header.get("kid")
        key = self.key_file.keys.find(kid) if isinstance(kid, str) else None
        if key is None:
            raise refuse(f"the signing key {kid!r} is not one of this server's (kid)")
        claims = decode(
            token,
            key.verifier,
            algorithms=self.algorithms,
            audience=self.audience,
            issuer=self.issuer,
            now=now,
        )
        return local_principal(claims)


def decode(
    token: str,
    key: Any,
    *,
    algorithms: Sequence[str],
    audience: str,
    issuer: str,
    now: float,
) -> dict[str, Any]:
    """The claims of a token signed by `key` with one of `algorithms`, for `audience`, from
    `issuer`, with `exp`, `iat`, `iss` and `aud` present and its times valid at `now`; every
    other outcome is `Unauthorized` (every issuer's tokens are held to the same rules)."""
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=list(algorithms),
            audience=audience,
            issuer=issuer,
            options={
                "require_exp": True,
                "require_iat": True,
                "require_iss": True,
                "require_aud": True,
                "verify_at_hash": False,
                "leeway": LEEWAY_SECONDS,
            },
        )
    except ExpiredSignatureError as exc:
        raise refuse("it has expired (exp)") from exc
    except JWTClaimsError as exc:
        raise refuse(str(exc)) from exc
    except (JWTError, TypeError, ValueError) as exc:
        raise refuse(str(exc) or type(exc).__name__) from exc
    check_times(claims, now)
    return claims


def check_times(claims: Mapping[str, Any], now: float) -> None:
    """Expired from `exp` on; not yet valid while `iat` is ahead of the clock by more than the
    leeway (`nbf` is checked by jose with the same leeway)."""
    expires, issued = _instant(claims, "exp"), _instant(claims, "iat")
    if now >= expires:
        raise refuse("it has expired (exp)")
    if issued > now + LEEWAY_SECONDS:
        raise refuse("it is not valid yet (iat is in the future)")


def _instant(claims: Mapping[str, Any], name: str) -> float:
    value = claims.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise refuse(f"{name} must be a NumericDate (seconds since the epoch)")
    return float(value)


def local_principal(claims: Mapping[str, Any]) -> Principal:
    """The principal of a verified token of this server's shape."""
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise refuse("it names no subject (sub)")
    role = claims.get("role")
    if role not in ROLES:
        raise refuse(f"{role!r} is not a role of this network (role)")
    organization = claims.get("organization")
    if not isinstance(organization, str) or not _ORGANIZATION.fullmatch(organization):
        raise refuse("organization must be Organization/ID")
    patient = _optional(claims, "patient")
    if patient is not None and not is_valid_id(patient):
        raise refuse("patient must be a Patient id")
    scope = _optional(claims, "scope") or ""
    return Principal(
        subject=subject,
        client_id=_optional(claims, "client_id") or subject,
        role=role,
        organization=organization,
        scopes=parse_scopes(scope, has_patient=patient is not None),
        fhir_user=_optional(claims, "fhirUser"),
        patient=patient,
        purpose_of_use=_optional(claims, "purpose_of_use"),
        token_id=_optional(claims, "jti"),
        expires_at=_instant(claims, "exp"),
        issued_at=_instant(claims, "iat"),
    )


def _optional(claims: Mapping[str, Any], name: str) -> str | None:
    value = claims.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise refuse(f"{name} must be a string")
    return value


class TokenVerifier:
    """Bearer token -> principal, for every request: cached, and per issuer."""

    def __init__(
        self,
        issuers: Mapping[str, IssuerVerifier],
        *,
        capacity: int = CACHED_TOKENS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.issuers = dict(issuers)
        self.capacity = capacity
        self.clock = clock
        self._cache: dict[str, Principal] = {}
        self._checked = clock()

    def verify(self, token: str) -> Principal:
        now = self.clock()
        if now - self._checked >= RECHECK_SECONDS:
            self._refresh(now)
        known = self._cache.get(token)
        if known is not None:
            if now < known.expires_at:
                return known
            del self._cache[token]
        else:
            self._refresh(now)
        principal = self._verify(token, now)
        self._remember(token, principal, now)
        return principal

    def _verify(self, token: str, now: float) -> Principal:
        if len(token) > MAX_TOKEN_LENGTH:
            raise refuse("it is longer than any token this server accepts")
        try:
            header = jwt.get_unverified_header(token)
            claims = jwt.get_unverified_claims(token)
        except JWTError as exc:
            raise refuse("it is not a signed JWT (RFC 7519)") from exc
        for name in _REFUSED_HEADERS:
            if name in header:
                raise refuse(f"the header {name!r} is not accepted")
        issuer = claims.get("iss")
        if not isinstance(issuer, str):
            raise refuse("it names no issuer (iss)")
        verifier = self.issuers.get(issuer)
        if verifier is None:
            raise refuse(f"{issuer!r} is not an issuer this server trusts (iss)")
        alg = header.get("alg")
        if alg not in verifier.algorithms:
            raise refuse(f"the algorithm {alg!r} is not accepted (alg)")
        return verifier.verify(token, header, now)

    def _refresh(self, now: float) -> None:
        self._checked = now
        changed = [v.refresh() for v in self.issuers.values()]
        if any(changed):
            self._cache.clear()

    def _remember(self, token: str, principal: Principal, now: float) -> None:
        if len(self._cache) >= self.capacity:
            for stale in [t for t, p in self._cache.items() if p.expires_at <= now]:
                del self._cache[stale]
            while len(self._cache) >= self.capacity:
                del self._cache[next(iter(self._cache))]
        self._cache[token] = principal


def local_verifier(key_file: KeyFile, base_url: str) -> TokenVerifier:
    """The verifier of a server that trusts only itself."""
    own = LocalVerifier(
        key_file, issuer=endpoints.issuer(base_url), audience=endpoints.audience(base_url)
    )
    return TokenVerifier({own.issuer: own})
