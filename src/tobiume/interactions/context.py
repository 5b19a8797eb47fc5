"""The transport-neutral request and response of the FHIR service layer.

The HTTP edge turns an HTTP request into a `FhirRequest`; a batch or transaction Bundle turns
each entry into one (https://hl7.org/fhir/R4/bundle.html#transaction); both hand it to
`interactions.router.dispatch` with a `Context` that carries the open connection, the settings,
the requester (the principal of their token) and their access policy (after Medplum's
`fhir-router`). Nothing here knows HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from tobiume.access.policy import AccessPolicy
from tobiume.auth.principal import Principal
from tobiume.config import Settings
from tobiume.errors import Issue


@dataclass(slots=True)
class FhirRequest:
    """One FHIR interaction as asked: method, path below the base, query and the few headers
    that change its meaning (https://hl7.org/fhir/R4/http.html)."""

    method: str
    path: tuple[str, ...]
    query: list[tuple[str, str]] = field(default_factory=list)
    body: Any = None
    if_match: str | None = None
    if_none_exist: str | None = None
    if_none_match: str | None = None
    if_modified_since: str | None = None
    prefer_return: str | None = None
    prefer_handling: str | None = None
    content_type: str | None = None


@dataclass(slots=True)
class FhirResponse:
    """The outcome of one interaction. `body` is stored JSON text, a dict, or None."""

    status: int
    body: str | dict[str, Any] | None = None
    version: int | None = None
    last_modified: datetime | None = None
    location: str | None = None
    issues: list[Issue] = field(default_factory=list)


@dataclass(slots=True)
class Context:
    """What an interaction needs besides its request: the request's transaction, who asks and
    what they may see."""

    conn: AsyncConnection
    settings: Settings
    access: AccessPolicy
    principal: Principal | None = None
    """The requester; None only for the server's own work (import, the demo city), which no
    scope limits. Every request over HTTP but the public ones has one (`api.authentication`)."""

    @property
    def base_url(self) -> str:
        return self.settings.base_url.rstrip("/")


def now_ms() -> datetime:
    """The current instant in UTC, to the millisecond: what `meta.lastUpdated` can express."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def instant(value: datetime) -> str:
    """A FHIR `instant` (https://hl7.org/fhir/R4/datatypes.html#instant), UTC, milliseconds."""
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
