"""External identity providers: staff who log in at the city's or a hospital's own identity
provider (Keycloak, Entra ID, ...) present its tokens here, verified with the provider's keys
and mapped to this server's principal by configured claims (DESIGN.md, "Users and how they
come in"; RFC 7519 section 7.2 for validation, RFC 8725 for the algorithm rules).

`TOBIUME_IDENTITY_PROVIDERS_FILE` names a JSON file:

    {"providers": [{
        "issuer": "https://login.example.jp/realms/staff",
        "jwks": "https://login.example.jp/realms/staff/protocol/openid-connect/certs",
        "audience": "tobiume",
        "algorithms": ["RS256"],
        "claims": {"role": "realm_access.roles", "organization": "org",
                   "practitioner": "practitioner_role", "purpose_of_use": "pou"},
        "roles": {"ward-nurse": "hospital"},
        "scope": "user/*.rs"
    }]}

`jwks` is an https URL (http on the loopback interface) or a file path. `audience` defaults to
the FHIR base URL. `algorithms` must be asymmetric (RS*, PS*, ES*): a provider's key set is
public, and an HMAC algorithm would let anyone who read it sign (RFC 8725 section 2.1).
Claims are named by dotted paths; a claim holding a list gives the first value that maps to a
role (`roles` renames the provider's role names; this server's own names pass as they are).
The organisation is `Organization/<value>` and the practitioner `PractitionerRole/<value>`
unless the value already says its type. A token without `scope`/`scp` gets `scope`.

Keys from a URL are fetched at start-up and every `TOBIUME_CLIENT_JWKS_CACHE_SECONDS`
afterwards by a background task, and at once (at most every ten seconds) when a token names a
`kid` the set lacks; that token itself is refused, the next one with that key verifies.
Verification stays synchronous and cached with the server's own tokens (`auth.tokens`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from jose import jwk
from jose.backends.base import Key
from jose.exceptions import JWTError

from tobiume.auth import endpoints
from tobiume.auth.client_keys import ClientKeys, acceptable_url, keys_of
from tobiume.auth.keys import KeyFile
from tobiume.auth.principal import Principal
from tobiume.auth.roles import ROLES
from tobiume.auth.scopes import parse_scopes
from tobiume.auth.tokens import (
    IssuerVerifier,
    LocalVerifier,
    TokenVerifier,
    decode,
    refuse,
)

log = logging.getLogger("tobiume")

ASYMMETRIC = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"}
)
_KEY_TYPES = {"R": "RSA", "P": "RSA", "E": "EC"}
MIN_REFETCH_SECONDS = 10.0


class ProviderConfigError(Exception):
    """The identity providers file cannot be used; the message says why."""


@dataclass(frozen=True, slots=True)
class Provider:
    issuer: str
    jwks: str
    audience: str
    algorithms: tuple[str, ...]
    role_claim: str = "role"
    organization_claim: str = "organization"
    practitioner_claim: str | None = "fhirUser"
    purpose_claim: str | None = "purpose_of_use"
    roles: Mapping[str, str] = field(default_factory=dict)
    scope: str = ""

    @property
    def is_url(self) -> bool:
        return self.jwks.startswith(("https://", "http://"))


def load_providers(path: Path, default_audience: str) -> list[Provider]:
    try:
        document = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise ProviderConfigError(f"cannot read {path}: {exc}") from exc
    entries = document.get("providers") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise ProviderConfigError(f'{path} must hold {{"providers": [...]}}')
    return [_provider(entry, default_audience, path) for entry in entries]


def _provider(entry: Any, default_audience: str, path: Path) -> Provider:
    if not isinstance(entry, dict):
        raise ProviderConfigError(f"{path}: each provider is a JSON object")
    issuer, jwks = entry.get("issuer"), entry.get("jwks")
    if not isinstance(issuer, str) or not issuer or not isinstance(jwks, str) or not jwks:
        raise ProviderConfigError(f"{path}: each provider needs an issuer and its jwks")
    if jwks.startswith(("https://", "http://")) and not acceptable_url(jwks):
        raise ProviderConfigError(f"{path}: {issuer} jwks must be https")
    algorithms = entry.get("algorithms", ["RS256"])
    if not isinstance(algorithms, list) or not algorithms or not set(algorithms) <= ASYMMETRIC:
        raise ProviderConfigError(f"{path}: {issuer} algorithms must be among {sorted(ASYMMETRIC)}")
    claims = entry.get("claims", {})
    roles = entry.get("roles", {})
    if not isinstance(claims, dict) or not isinstance(roles, dict):
        raise ProviderConfigError(f"{path}: {issuer} claims and roles are JSON objects")
    unknown = sorted(set(roles.values()) - ROLES)
    if unknown:
        raise ProviderConfigError(f"{path}: {issuer} maps to roles that do not exist: {unknown}")
    return Provider(
        issuer=issuer,
        jwks=jwks,
        audience=str(entry.get("audience") or default_audience),
        algorithms=tuple(algorithms),
        role_claim=str(claims.get("role", "role")),
        organization_claim=str(claims.get("organization", "organization")),
        practitioner_claim=claims.get("practitioner", "fhirUser"),
        purpose_claim=claims.get("purpose_of_use", "purpose_of_use"),
        roles={str(k): str(v) for k, v in roles.items()},
        scope=str(entry.get("scope", "")),
    )


def _claim(claims: Mapping[str, Any], path: str | None) -> Any:
    """The value at a dotted path (`realm_access.roles`), or None; no path names nothing."""
    if not path:
        return None
    value: Any = claims
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _typed(value: Any, kind: str) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    return value if value.startswith(f"{kind}/") else f"{kind}/{value}"


class ExternalVerifier:
    """The tokens of one external identity provider (`auth.tokens.IssuerVerifier`)."""

    def __init__(self, provider: Provider, fetcher: ClientKeys) -> None:
        self.provider = provider
        self.algorithms = provider.algorithms
        self._fetcher = fetcher
        self._keys: dict[str, Key] = {}
        self._changed = False
        self._file_signature: tuple[int, int] | None = None
        self._asked_at = 0.0

    async def load(self) -> None:
        """(Re)read the provider's key set; keep the old one when it cannot be read."""
        if self.provider.is_url:
            fetched = await self._fetcher.fetch(self.provider.jwks)
            if fetched is None:
                log.warning("identity provider %s: cannot fetch its keys", self.provider.issuer)
                return
            self._use(fetched)
        else:
            self._read_file()

    def _read_file(self) -> None:
        path = Path(self.provider.jwks)
        try:
            stat = path.stat()
            signature = (stat.st_mtime_ns, stat.st_size)
            if signature == self._file_signature:
                return
            self._use(keys_of(orjson.loads(path.read_bytes())))
            self._file_signature = signature
        except (OSError, orjson.JSONDecodeError):
            log.warning("identity provider %s: cannot read %s", self.provider.issuer, path)

    def _use(self, keys: list[dict[str, Any]]) -> None:
        built: dict[str, Key] = {}
        for key in keys:
            kid, kty = key.get("kid"), key.get("kty")
            for alg in self.algorithms:
                if isinstance(kid, str) and kty == _KEY_TYPES[alg[0]] and "d" not in key:
                    with contextlib.suppress(JWTError, ValueError, TypeError):
                        built[f"{kid}/{alg}"] = jwk.construct(key, alg)
        if built.keys() != self._keys.keys():
            self._changed = True
        self._keys = built

    def refresh(self) -> bool:
        if not self.provider.is_url:
            self._read_file()
        changed, self._changed = self._changed, False
        return changed

    def verify(self, token: str, header: Mapping[str, Any], now: float) -> Principal:
        kid, alg = header.get("kid"), str(header.get("alg"))
        key = self._keys.get(f"{kid}/{alg}") if isinstance(kid, str) else None
        if key is None:
            self._ask_for_keys(now)
            raise refuse(f"the signing key {kid!r} is not one of {self.provider.issuer}'s (kid)")
        claims = decode(
            token,
            key,
            algorithms=[alg],
            audience=self.provider.audience,
            issuer=self.provider.issuer,
            now=now,
        )
        return self._principal(claims)

    def _principal(self, claims: Mapping[str, Any]) -> Principal:
        provider = self.provider
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject:
            raise refuse("it names no subject (sub)")
        role = self._role(_claim(claims, provider.role_claim))
        if role is None:
            raise refuse(f"it carries no role this network knows ({provider.role_claim})")
        organization = _typed(_claim(claims, provider.organization_claim), "Organization")
        if organization is None:
            raise refuse(f"it names no organisation ({provider.organization_claim})")
        scope = claims.get("scope")
        if isinstance(claims.get("scp"), list):
            scope = " ".join(str(s) for s in claims["scp"])
        purpose = _claim(claims, provider.purpose_claim)
        client = claims.get("azp") or claims.get("client_id")
        return Principal(
            subject=subject,
            client_id=client if isinstance(client, str) and client else subject,
            role=role,
            organization=organization,
            scopes=parse_scopes(
                scope if isinstance(scope, str) else provider.scope, has_patient=False
            ),
            fhir_user=_typed(_claim(claims, provider.practitioner_claim), "PractitionerRole"),
            purpose_of_use=purpose if isinstance(purpose, str) else None,
            token_id=claims.get("jti") if isinstance(claims.get("jti"), str) else None,
            expires_at=float(claims["exp"]),
            issued_at=float(claims.get("iat") or 0),
        )

    def _role(self, value: Any) -> str | None:
        for candidate in value if isinstance(value, list) else [value]:
            if not isinstance(candidate, str):
                continue
            role = self.provider.roles.get(candidate, candidate)
            if role in ROLES:
                return role
        return None

    def _ask_for_keys(self, now: float) -> None:
        """Fetch the set again soon (a provider that rotated its keys), at most every ten s."""
        if not self.provider.is_url or now - self._asked_at < MIN_REFETCH_SECONDS:
            return
        self._asked_at = now
        with contextlib.suppress(RuntimeError):  # no running loop: nothing to schedule on
            task = asyncio.get_running_loop().create_task(self.load())
            _PENDING.add(task)
            task.add_done_callback(_PENDING.discard)


_PENDING: set[asyncio.Task[None]] = set()


async def keep_fresh(verifiers: list[ExternalVerifier], every: float) -> None:
    """Reload the providers' key sets every `every` seconds until cancelled."""
    while True:
        await asyncio.sleep(max(every, MIN_REFETCH_SECONDS))
        for verifier in verifiers:
            await verifier.load()


async def trusted(
    key_file: KeyFile, base_url: str, providers_file: Path | None, fetcher: ClientKeys
) -> tuple[TokenVerifier, list[ExternalVerifier]]:
    """The verifier of every issuer the server trusts: itself, and the configured providers
    (their keys loaded); the providers are returned too, for `keep_fresh`."""
    own = LocalVerifier(
        key_file, issuer=endpoints.issuer(base_url), audience=endpoints.audience(base_url)
    )
    issuers: dict[str, IssuerVerifier] = {own.issuer: own}
    externals: list[ExternalVerifier] = []
    if providers_file is not None:
        for provider in load_providers(providers_file, endpoints.audience(base_url)):
            if provider.issuer in issuers:
                raise ProviderConfigError(f"{provider.issuer} is configured twice")
            external = ExternalVerifier(provider, fetcher)
            await external.load()
            issuers[provider.issuer] = external
            externals.append(external)
    return TokenVerifier(issuers), externals
