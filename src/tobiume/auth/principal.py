"""The principal: who a verified access token says is asking, in the terms the access, consent
and audit layers use (DESIGN.md, "Access: three gates, one predicate"; the audit's
who/what/why after IHE BALP).

A principal is immutable and made only from a verified token (`auth.tokens`), so it can be
cached with the token and shared by every request that presents it.
"""

from __future__ import annotations

from dataclasses import dataclass

from tobiume.auth.scopes import ScopeSet


@dataclass(frozen=True, slots=True, kw_only=True)
class Principal:
    subject: str
    """`sub`: the person or system the token was issued to (RFC 7519 section 4.1.2)."""
    client_id: str
    """The client that asked for the token (RFC 9068 section 2.2)."""
    role: str
    """One of `auth.roles.ROLES`."""
    organization: str
    """`Organization/ID`: the participating organisation the requester acts for."""
    scopes: ScopeSet
    fhir_user: str | None = None
    """`fhirUser`: the requester as a FHIR resource, e.g. `PractitionerRole/ID`."""
    patient: str | None = None
    """The Patient id of a `patient/` token's launch context (SMART App Launch,
    "Launch context arrives with your access_token")."""
    purpose_of_use: str | None = None
    """Why they ask, a code of http://terminology.hl7.org/CodeSystem/v3-ActReason such as
    `TREAT` or `ETREAT` (emergency access)."""
    token_id: str | None = None
    """`jti` (RFC 7519 section 4.1.7)."""
    expires_at: float = 0.0
    issued_at: float = 0.0
    """`iat`, seconds since the epoch: how old the token is (an emergency access counts only
    for a while after it, `access.gates`)."""
    """`exp`, seconds since the epoch: the principal is not valid from then on."""
