"""The public keys of registered clients: the JWK Set given at registration, or fetched from the
client's JWK Set URL and cached (SMART Backend Services, "Registering a SMART Backend Service"
and "Signature verification",
https://hl7.org/fhir/smart-app-launch/backend-services.html#signature-verification).

A fetched set is kept for `ttl` seconds. An assertion naming a `kid` the cached set lacks makes
one early refetch, at most every `MIN_REFETCH_SECONDS` per URL, so a client that rotates its
keys is heard at once and a stream of made-up `kid`s cannot turn the server into a fetcher.
Only https URLs are fetched, and http on the loopback interface for local development and
tests; responses larger than `MAX_JWKS_BYTES` or not a JWK Set are ignored.
"""

from __future__ import annotations

import ipaddress
import time
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson

MAX_JWKS_BYTES = 65_536
MIN_REFETCH_SECONDS = 10.0
FETCH_TIMEOUT_SECONDS = 5.0


def acceptable_url(url: str) -> bool:
    """An https URL, or an http URL of a loopback host (`localhost`, 127.0.0.0/8, ::1)."""
    parts = urlsplit(url)
    if not parts.hostname:
        return False
    if parts.scheme == "https":
        return True
    if parts.scheme != "http":
        return False
    if parts.hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(parts.hostname).is_loopback
    except ValueError:
        return False


def keys_of(document: Any) -> list[dict[str, Any]]:
    """The keys of a JWK Set (RFC 7517 section 5), each a JSON object; [] for anything else."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        return []
    return [key for key in document["keys"] if isinstance(key, dict)]


def find_key(keys: list[dict[str, Any]], kid: str) -> dict[str, Any] | None:
    return next((key for key in keys if key.get("kid") == kid), None)


class ClientKeys:
    """Finds a client's key by `kid`, fetching and caching JWK Sets published at URLs."""

    def __init__(
        self,
        ttl: float = 300.0,
        *,
        min_refetch: float = MIN_REFETCH_SECONDS,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.ttl = ttl
        self.min_refetch = min(min_refetch, ttl)
        self._transport = transport
        self._fetched: dict[str, tuple[float, list[dict[str, Any]]]] = {}

    async def find(
        self, jwks: dict[str, Any] | None, jwks_url: str | None, kid: str
    ) -> dict[str, Any] | None:
        """The key `kid` of a client registered with `jwks` or `jwks_url`, or None."""
        if jwks is not None:
            return find_key(keys_of(jwks), kid)
        if jwks_url is None or not acceptable_url(jwks_url):
            return None
        now = time.monotonic()
        cached = self._fetched.get(jwks_url)
        if cached is not None:
            fetched_at, keys = cached
            key = find_key(keys, kid)
            fresh = now - fetched_at < self.ttl
            if key is not None and fresh:
                return key
            if now - fetched_at < self.min_refetch:
                return None
        fetched = await self.fetch(jwks_url)
        if fetched is None:
            return find_key(cached[1], kid) if cached is not None else None
        self._fetched[jwks_url] = (now, fetched)
        return find_key(fetched, kid)

    async def fetch(self, url: str) -> list[dict[str, Any]] | None:
        """The keys published at `url`, or None when it cannot be read as a JWK Set."""
        try:
            async with (
                httpx.AsyncClient(
                    transport=self._transport, timeout=FETCH_TIMEOUT_SECONDS, follow_redirects=False
                ) as http,
                http.stream("GET", url, headers={"Accept": "application/json"}) as r,
            ):
                if r.status_code != 200:
                    return None
                body = b""
                async for chunk in r.aiter_bytes():
                    body += chunk
                    if len(body) > MAX_JWKS_BYTES:
                        return None
            return keys_of(orjson.loads(body))
        except (httpx.HTTPError, orjson.JSONDecodeError):
            return None
