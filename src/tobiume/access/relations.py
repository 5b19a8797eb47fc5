"""Who cares for whom: the relationships the role policy asks for, read from the resources
that state them (DESIGN.md, "Access", gate 2; `docs/access.md`, "Relationships").

* An **active CareTeam** relates its citizen (`subject`) to each participant: a member that is
  an Organization relates that organisation; a member that is a PractitionerRole or
  Practitioner relates that person, and the organisation they act for (`onBehalfOf`). Home
  nursing, care providers, support centres and care managers see a citizen through it.
* A 地域包括支援センター also serves the citizens who live in the wards it covers: its
  Organization lists them in the extension `SERVED_WARD` (a string each, the ward as a
  Patient's `address.city` writes it, e.g. 北九州市小倉北区), compared after the same folding
  as string search (`indexing.normalize.fold`).

Both are materialised on write (`access.materialise`), so that the predicate joins a small table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from tobiume.indexing.normalize import fold

SERVED_WARD: Final = "http://tobiume.example/fhir/StructureDefinition/served-ward"


@dataclass(frozen=True, slots=True)
class CareRelation:
    """One participant of a citizen's active CareTeam: an organisation, a person, or both."""

    org: str | None
    user: str | None


def care_team_members(team: Mapping[str, Any]) -> list[CareRelation]:
    """The participants an active CareTeam relates to its citizen (none when not active)."""
    if team.get("resourceType") != "CareTeam" or team.get("status") != "active":
        return []
    found: list[CareRelation] = []
    for participant in team.get("participant") or ():
        if not isinstance(participant, dict):
            continue
        member = _reference(participant.get("member"))
        behalf = _reference(participant.get("onBehalfOf"))
        org = behalf if behalf and behalf.startswith("Organization/") else None
        if member and member.startswith("Organization/"):
            found.append(CareRelation(member, None))
        elif member and member.startswith(("PractitionerRole/", "Practitioner/")):
            found.append(CareRelation(org, member))
        elif org:
            found.append(CareRelation(org, None))
    return list(dict.fromkeys(found))


def served_wards(organization: Mapping[str, Any]) -> list[str]:
    """The folded wards an Organization says it serves."""
    if organization.get("resourceType") != "Organization":
        return []
    wards = [
        fold(ext["valueString"])
        for ext in organization.get("extension") or ()
        if isinstance(ext, dict)
        and ext.get("url") == SERVED_WARD
        and isinstance(ext.get("valueString"), str)
    ]
    return [w for w in dict.fromkeys(wards) if w]


def _reference(value: Any) -> str | None:
    reference = value.get("reference") if isinstance(value, dict) else None
    return reference if isinstance(reference, str) else None
