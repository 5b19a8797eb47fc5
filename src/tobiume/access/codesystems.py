"""The CodeSystems the access rules are written in, as the server publishes them at
`/fhir/CodeSystem/{id}` (https://hl7.org/fhir/R4/codesystem.html): `data-class` (the classes of
`access.classes`) and `participant-role` (the roles a Consent's actor may name,
`access.consent_rules`). They are part of the server, not stored data: reads and vreads of
these ids are answered from here (version 1), and writes to them are refused (405), so they
are the same on every server of a release and no test or import can lose them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tobiume.access.classes import DATA_CLASS_SYSTEM, DESCRIPTIONS
from tobiume.access.consent_rules import PARTICIPANT_ROLE_SYSTEM
from tobiume.auth.roles import ROLES

PUBLISHED_AT = datetime(2026, 12, 8, tzinfo=UTC)
"""When this release's CodeSystems took their present form (their `meta.lastUpdated`)."""


def published() -> dict[str, dict[str, Any]]:
    """The CodeSystem resources by the id each is served under."""
    found = [
        _code_system(
            "data-class",
            DATA_CLASS_SYSTEM,
            "Tobiume data classes",
            "What kind of record a resource is, for the role policy and the citizen's consent "
            "(docs/access.md).",
            [(code, display, definition) for code, (display, definition) in DESCRIPTIONS.items()],
        ),
        _code_system(
            "participant-role",
            PARTICIPANT_ROLE_SYSTEM,
            "Tobiume participant roles",
            "The roles of the network's participants, as a Consent's provision.actor.role may "
            "name them (docs/access.md).",
            [(role, role, f"Every participant of role {role}.") for role in sorted(ROLES)],
        ),
    ]
    return {body["id"]: body for body in found}


def _code_system(
    res_id: str, url: str, title: str, description: str, concepts: list[tuple[str, str, str]]
) -> dict[str, Any]:
    return {
        "resourceType": "CodeSystem",
        "id": res_id,
        "meta": {"versionId": "1", "lastUpdated": PUBLISHED_AT.isoformat().replace("+00:00", "Z")},
        "url": url,
        "name": title.replace(" ", ""),
        "title": title,
        "status": "active",
        "content": "complete",
        "caseSensitive": True,
        "description": description,
        "count": len(concepts),
        "concept": [
            {"code": code, "display": display, "definition": definition}
            for code, display, definition in concepts
        ],
    }


PUBLISHED: dict[str, dict[str, Any]] = published()
