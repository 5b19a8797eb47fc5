"""The role policy (DESIGN.md, "Access", gate 2): what each role of the network may read and
write, and through which relationship to the citizen. A table in code; a deployment overrides
any part of any role with a JSON file (`TOBIUME_ROLE_POLICY_FILE`, `docs/access.md`).

* hospital, clinic, pharmacy: read medical, care and checkup records where the consent
  permits; write medical, care, checkup and registrations.
* home-nursing: reads as a hospital does, for citizens whose active CareTeam names the
  organisation; writes medical and care.
* care-provider: care records and the medical summary, through an active CareTeam; writes care.
* community-support-center: care, checkup and the medical summary, through an active CareTeam
  or a ward it serves; writes care, checkup and registrations.
* care-manager: care, checkup and the medical summary, for citizens whose active CareTeam names
  them (their PractitionerRole); writes care and registrations.
* Only care managers, support centres and the municipality write CareTeams (which make the
  relationships above).
* municipality: reads no citizen's records but their registrations, and changes any of those;
  writes care, checkup and registrations.
* auditor: AuditEvent only. admin: the directory and the server's own resources, no patient
  data. citizen: everything of their own, whatever the consent; writes their registration.

Every role but the auditor reads the directory; the medical summary is Condition,
AllergyIntolerance and current (active) MedicationRequest and MedicationStatement; every
organisation reads what it contributed (`access.gates`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, Final, Literal

import orjson

from tobiume.access.classes import (
    ADMIN,
    AUDIT,
    CARE,
    CHECKUP,
    CLASSES,
    CLINICAL,
    DIRECTORY,
    MEDICAL,
    REGISTRATION,
)

Relation = Literal[
    "consent", "care-team", "care-team-member", "care-team-or-ward", "self", "unrestricted"
]
RELATIONS: Final = frozenset(
    {"consent", "care-team", "care-team-member", "care-team-or-ward", "self", "unrestricted"}
)


@dataclass(frozen=True, slots=True)
class RolePolicy:
    """What one role may do; `access.gates` compiles it into SQL."""

    reads: frozenset[str] = frozenset()
    """Classes of patient data read where the consent permits and the relation holds."""
    summary: bool = False
    """The medical summary too (Condition, AllergyIntolerance, current medications)."""
    relation: Relation = "consent"
    """What must tie the requester to the citizen besides the consent: nothing more
    (`consent`), an active CareTeam naming their organisation (`care-team`) or them
    (`care-team-member`), or that or a ward their organisation serves (`care-team-or-ward`);
    `self`: the citizen's own record, whatever the consent. `unrestricted`: no consent and no
    relationship asked, and writes need no registration: what `tobiume import` does, for a
    deployment's own trusted integration (a migration, a test harness); no role has it by
    default, and it must never be given to a participant."""
    shared: frozenset[str] = frozenset({DIRECTORY})
    """Classes of data that belong to no citizen read without any condition."""
    writes: frozenset[str] = frozenset()
    """Classes the role may create (and change, where it contributed the resource)."""
    registrations: bool = False
    """Reads and changes every citizen's registration Consent (the municipality keeps the
    register), whoever sent it."""
    care_teams: bool = False
    """Writes CareTeams. A CareTeam is what relates home nursing, care providers, support
    centres and care managers to a citizen, so only those who organise care write it: were
    every writer of care records allowed, a provider could name itself on anyone's team."""


_ALL_CLINICAL = frozenset(CLINICAL)
_MEDICAL_ROLE = RolePolicy(
    reads=_ALL_CLINICAL, writes=frozenset({MEDICAL, CARE, CHECKUP, REGISTRATION})
)

DEFAULT_POLICY: Final[Mapping[str, RolePolicy]] = {
    "hospital": _MEDICAL_ROLE,
    "clinic": _MEDICAL_ROLE,
    "pharmacy": _MEDICAL_ROLE,
    "home-nursing": RolePolicy(
        reads=_ALL_CLINICAL, relation="care-team", writes=frozenset({MEDICAL, CARE})
    ),
    "care-provider": RolePolicy(
        reads=frozenset({CARE}), summary=True, relation="care-team", writes=frozenset({CARE})
    ),
    "community-support-center": RolePolicy(
        reads=frozenset({CARE, CHECKUP}),
        summary=True,
        relation="care-team-or-ward",
        writes=frozenset({CARE, CHECKUP, REGISTRATION}),
        care_teams=True,
    ),
    "care-manager": RolePolicy(
        reads=frozenset({CARE, CHECKUP}),
        summary=True,
        relation="care-team-member",
        writes=frozenset({CARE, REGISTRATION}),
        care_teams=True,
    ),
    "municipality": RolePolicy(
        writes=frozenset({CARE, CHECKUP, REGISTRATION}), registrations=True, care_teams=True
    ),
    "auditor": RolePolicy(shared=frozenset({AUDIT})),
    "admin": RolePolicy(shared=frozenset({DIRECTORY, ADMIN}), writes=frozenset({DIRECTORY, ADMIN})),
    "citizen": RolePolicy(
        reads=frozenset(CLINICAL | {REGISTRATION}),
        relation="self",
        writes=frozenset({REGISTRATION}),
    ),
}


def load_policy(path: Path | None) -> Mapping[str, RolePolicy]:
    """The default table with the overrides of the JSON file at `path`: an object of roles,
    each an object of `RolePolicy` fields (`reads`, `shared`, `writes` as lists of classes,
    `summary`, `registrations` and `care_teams` booleans, `relation` one of `RELATIONS`). A
    field not given keeps its default. A bad file stops the server at start-up (ValueError),
    never half-applied."""
    if path is None:
        return DEFAULT_POLICY
    try:
        raw = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise ValueError(f"Role policy file {path}: {exc}") from exc
    if not isinstance(raw, dict):
        raise ValueError(f"Role policy file {path}: the top level must be an object of roles")
    table = dict(DEFAULT_POLICY)
    for role, changes in raw.items():
        if role not in DEFAULT_POLICY:
            raise ValueError(f"Role policy file {path}: unknown role {role!r}")
        table[role] = _override(table[role], changes, f"{path}: {role}")
    return table


def _override(policy: RolePolicy, changes: Any, where: str) -> RolePolicy:
    if not isinstance(changes, dict):
        raise ValueError(f"Role policy {where}: must be an object")
    known = {f.name for f in fields(RolePolicy)}
    values: dict[str, Any] = {}
    for name, value in changes.items():
        if name not in known:
            raise ValueError(f"Role policy {where}: unknown field {name!r}")
        if name in ("reads", "shared", "writes"):
            if not isinstance(value, list) or not set(value) <= CLASSES:
                raise ValueError(f"Role policy {where}.{name}: a list of {sorted(CLASSES)}")
            values[name] = frozenset(value)
        elif name in ("summary", "registrations", "care_teams"):
            if not isinstance(value, bool):
                raise ValueError(f"Role policy {where}.{name}: true or false")
            values[name] = value
        else:
            if value not in RELATIONS:
                raise ValueError(f"Role policy {where}.relation: one of {sorted(RELATIONS)}")
            values[name] = value
    return replace(policy, **values)
