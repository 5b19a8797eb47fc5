"""Where the authorization server lives, derived from the public FHIR base URL
(`TOBIUME_BASE_URL`), so one setting names them all.

The issuer is the server's origin with `/auth` (`http://h:8000/auth` for the base
`http://h:8000/fhir`); it is the `iss` of every token this server signs (RFC 7519 section
4.1.1), and the token endpoint of SMART Backend Services is below it, at `/auth/token`
(https://hl7.org/fhir/smart-app-launch/backend-services.html#obtain-access-token). A token's
audience is the FHIR base itself (`aud`, RFC 7519 section 4.1.3), as SMART asks a client to
name the FHIR server it means.
"""

from __future__ import annotations

from urllib.parse import urlsplit


def origin(base_url: str) -> str:
    """`scheme://host[:port]` of the base URL; empty for a relative base."""
    parts = urlsplit(base_url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def issuer(base_url: str) -> str:
    return origin(base_url) + "/auth"


def token_endpoint(base_url: str) -> str:
    return origin(base_url) + "/auth/token"


def audience(base_url: str) -> str:
    return base_url.rstrip("/")
