"""The three gates as one SQL predicate over `resource` (DESIGN.md, "Access: three gates, one
predicate"; `docs/access.md`).

A requester sees a stored resource when the token's scopes reach it (gate 1, `access.scoped`)
and one of these holds:

* their organisation contributed it (`resource.owner_org`) and it is of a class their role
  writes: the contributor can always read what it sent, a withdrawn citizen's records
  included;
* it belongs to no citizen and its class is one their role reads without condition (the
  directory for every participant, AuditEvent for auditors; `access.role_policy`);
* it is a citizen's record of a class their role reads (gate 2), their role's relationship to
  the citizen holds (a CareTeam, a ward), and the citizen's consent permits their
  organisation, role or person that class of record, now, for their purpose (gate 3, the
  `consent_rule` rows of `access.consent_rules`: a permit that matches with no deny as deep
  or deeper that matches too). The Patient (and the citizen's RelatedPerson) is visible to
  whoever may see any class of the citizen's records; the Consent only to its contributor
  and the citizen.

Each condition is a join to a small table keyed by the citizen (`EXISTS`), so search, counts,
includes, chains, `_has`, history and reads by id all carry it in their SQL, and a hidden
resource is absent exactly as a missing one is.

Writes (`writable`): a role creates only the classes it writes, and changes or deletes only
what its organisation contributed; the municipality also changes any citizen's Consent, the
admin any directory entry; a citizen their own registration. A citizen has one registration:
a second active one is refused (`interactions.write`), so that no organisation can widen its
own access by registering a citizen again; the registration is changed, by those who may.
Whether the citizen is registered at all is asked separately (`registered`), so that a write
for an unregistered citizen gets its own answer (422).

Break the glass: a token whose purpose of use is ETREAT, of a role allowed emergency access
(`TOBIUME_EMERGENCY_ROLES`, hospitals by default) and not older than
`TOBIUME_EMERGENCY_ACCESS_SECONDS`, matches the consent provisions for purpose ETREAT (and
those for any purpose); any other token's ETREAT counts for nothing.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Final

from sqlalchemy import BigInteger, and_, exists, false, literal, or_, select, true
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import expression
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement, True_

from tobiume.access.classes import (
    ADMIN,
    CLASSES,
    CLINICAL,
    DIRECTORY,
    MEDICAL,
    PATIENT_CLASSES,
    REGISTRATION,
)
from tobiume.access.policy import AccessPolicy
from tobiume.access.role_policy import RolePolicy, load_policy
from tobiume.access.scoped import scoped_access
from tobiume.auth.principal import Principal
from tobiume.config import Settings
from tobiume.storage.tables import (
    care_relation,
    consent_rule,
    idx_string,
    idx_token,
    registration,
    resource,
    served_ward,
)

EMERGENCY: Final = "ETREAT"
SUMMARY_TYPES: Final = ("Condition", "AllergyIntolerance")
CURRENT_MEDICATION_TYPES: Final = ("MedicationRequest", "MedicationStatement")


class now_us(expression.FunctionElement[int]):
    """The database's clock in microseconds since the epoch, the unit of `indexing.dates`."""

    type = BigInteger()
    inherit_cache = True


@compiles(now_us)
def _now_sqlite(element: now_us, compiler: SQLCompiler, **kw: Any) -> str:
    return "CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)"


@compiles(now_us, "postgresql")
def _now_pg(element: now_us, compiler: SQLCompiler, **kw: Any) -> str:
    return "CAST(EXTRACT(EPOCH FROM now()) * 1000000 AS BIGINT)"


@dataclass(frozen=True, slots=True)
class Requester:
    """What the gates ask of a principal."""

    role: str
    org: str | None
    user: str | None
    patient: str | None
    purpose: str | None


def requester(
    principal: Principal, emergency_roles: frozenset[str], emergency_seconds: float
) -> Requester:
    """The principal as the gates see it; an ETREAT purpose counts only for a role allowed
    emergency access, within the window from the token's issue."""
    purpose = principal.purpose_of_use
    if purpose == EMERGENCY and (
        principal.role not in emergency_roles
        or time.time() > principal.issued_at + emergency_seconds
    ):
        purpose = None
    return Requester(
        principal.role, principal.organization, principal.fhir_user, principal.patient, purpose
    )


class GatedAccess:
    """The scope gate and the two gates of this module, AND-ed."""

    __slots__ = ("_known", "_policy", "_requester", "_scoped", "_visible", "_writable")

    def __init__(self, scoped: AccessPolicy, who: Requester, policy: RolePolicy) -> None:
        self._scoped = scoped
        self._requester = who
        self._policy = policy
        self._known = _visible(who, policy)
        self._visible = _both(scoped.visible(), self._known)
        self._writable: dict[str, ColumnElement[bool]] = {}

    @property
    def unrestricted(self) -> bool:
        """The role's relation is `unrestricted` (no consent, no registration asked)."""
        return self._policy.relation == "unrestricted"

    def visible(self) -> ColumnElement[bool]:
        return self._visible

    def requires_registration(self) -> bool:
        return not self.unrestricted

    def known(self) -> ColumnElement[bool]:
        return self._known

    def sees_everything(self) -> bool:
        return isinstance(self._visible, True_)

    def writable(self, permission: str, res_type: str) -> ColumnElement[bool]:
        if res_type == "CareTeam" and not (self._policy.care_teams or self.unrestricted):
            return false()
        found = self._writable.get(permission)
        if found is None:
            found = _writable(self._requester, self._policy, permission)
            self._writable[permission] = found
        return _both(self._scoped.writable(permission, res_type), found)


@lru_cache(maxsize=2048)
def gated_access(scoped: AccessPolicy, who: Requester, policy: RolePolicy) -> GatedAccess:
    """One policy object per requester and scopes, so the search compiler's statement cache
    (keyed by the predicate) is shared by the requests of one requester."""
    return GatedAccess(scoped, who, policy)


def registered(patient_id: str, besides: int | None = None) -> ColumnElement[bool]:
    """True when the citizen has an active registration Consent (other than resource
    `besides`)."""
    stmt = select(literal(1)).where(registration.c.patient_id == patient_id)
    if besides is not None:
        stmt = stmt.where(registration.c.consent_pk != besides)
    return exists(stmt)


def _both(scope: ColumnElement[bool], gate: ColumnElement[bool]) -> ColumnElement[bool]:
    if isinstance(scope, True_):
        return gate
    if isinstance(gate, True_):
        return scope
    return and_(scope, gate)


def _visible(who: Requester, policy: RolePolicy) -> ColumnElement[bool]:
    if policy.relation == "unrestricted":
        if _covers_everything(policy):
            return true()
        classes = sorted(policy.shared | policy.reads | {REGISTRATION})
        return or_(resource.c.data_class.in_(classes), *_owned(who, policy))
    clauses: list[ColumnElement[bool]] = [*_owned(who, policy)]
    if policy.shared:
        clauses.append(
            and_(resource.c.patient_id.is_(None), resource.c.data_class.in_(sorted(policy.shared)))
        )
    patient = _patient_records(who, policy)
    if patient is not None:
        clauses.append(patient)
    if policy.registrations:
        clauses.append(_is_registration_consent())
    if not clauses:
        return false()
    return or_(*clauses) if len(clauses) > 1 else clauses[0]


def _covers_everything(policy: RolePolicy) -> bool:
    """An unrestricted role that reads every class: its predicate is SQL TRUE."""
    return policy.reads >= CLINICAL and policy.shared >= CLASSES - PATIENT_CLASSES


def _owned(who: Requester, policy: RolePolicy) -> list[ColumnElement[bool]]:
    """What the requester's organisation contributed, of the classes its role writes (an
    admin token of the city's organisation does not read the city's checkups)."""
    if who.role == "citizen" or not who.org or not policy.writes:
        return []
    return [and_(resource.c.owner_org == who.org, resource.c.data_class.in_(sorted(policy.writes)))]


def _is_registration_consent() -> ColumnElement[bool]:
    """A Consent of scope patient-privacy and category LOINC 59284-0, whatever its status."""
    scope, category = idx_token.alias("gate_scope"), idx_token.alias("gate_category")

    def coded(token: Any, param: str, code: str) -> ColumnElement[bool]:
        return exists(
            select(literal(1))
            .where(
                token.c.res_pk == resource.c.pk,
                token.c.res_type == "Consent",
                token.c.param == param,
                token.c.code == code,
            )
            .correlate_except(token)
        )

    return and_(
        resource.c.res_type == "Consent",
        coded(scope, "scope", "patient-privacy"),
        coded(category, "category", "59284-0"),
    )


def _patient_records(who: Requester, policy: RolePolicy) -> ColumnElement[bool] | None:
    """A citizen's records the role reads, through its relation and the consent."""
    if not policy.reads and not policy.summary:
        return None
    kinds = _readable_kinds(policy)
    if policy.relation == "self":
        if who.patient is None:
            return None
        return and_(resource.c.patient_id == who.patient, or_(kinds, _is_registration()))
    relation = _relation(who, policy)
    if relation is None:
        return None
    classes = sorted(policy.reads | ({MEDICAL} if policy.summary else set()))
    return and_(
        resource.c.patient_id.is_not(None),
        relation,
        or_(
            and_(kinds, _consented(who)),
            and_(
                _is_registration(),
                resource.c.res_type != "Consent",
                _consented_any(who, classes),
            ),
        ),
    )


def _is_registration() -> ColumnElement[bool]:
    return resource.c.data_class == REGISTRATION


def _readable_kinds(policy: RolePolicy) -> ColumnElement[bool]:
    clauses: list[ColumnElement[bool]] = []
    if policy.reads:
        clauses.append(resource.c.data_class.in_(sorted(policy.reads)))
    if policy.summary and MEDICAL not in policy.reads:
        status = idx_token.alias("gate_status")
        active = (
            select(literal(1))
            .where(
                status.c.res_pk == resource.c.pk,
                status.c.res_type == resource.c.res_type,
                status.c.param == "status",
                status.c.code == "active",
            )
            .correlate_except(status)
        )
        clauses.append(
            and_(
                resource.c.data_class == MEDICAL,
                or_(
                    resource.c.res_type.in_(SUMMARY_TYPES),
                    and_(resource.c.res_type.in_(CURRENT_MEDICATION_TYPES), exists(active)),
                ),
            )
        )
    return or_(*clauses) if len(clauses) > 1 else clauses[0]


def _relation(who: Requester, policy: RolePolicy) -> ColumnElement[bool] | None:
    if policy.relation == "consent":
        return true()
    team = care_relation.alias("gate_team")
    if policy.relation == "care-team-member":
        if who.user is None:
            return None
        member = team.c.member == who.user
    else:
        if who.org is None:
            return None
        member = team.c.org == who.org
    on_team = exists(
        select(literal(1))
        .where(team.c.patient_id == resource.c.patient_id, member)
        .correlate_except(team)
    )
    if policy.relation != "care-team-or-ward":
        return on_team
    home = resource.alias("gate_home")
    city = idx_string.alias("gate_city")
    wards = served_ward.alias("gate_ward")
    in_ward = exists(
        select(literal(1))
        .select_from(home.join(city, city.c.res_pk == home.c.pk))
        .where(
            home.c.res_type == "Patient",
            home.c.res_id == resource.c.patient_id,
            city.c.param == "address-city",
            city.c.value_norm.in_(
                select(wards.c.ward_norm).where(wards.c.org == who.org).scalar_subquery()
            ),
        )
        .correlate_except(home, city, wards)
    )
    return or_(on_team, in_ward)


def _matches(rule: Any, who: Requester) -> list[ColumnElement[bool]]:
    """The conditions of a consent rule (a `consent_rule` alias) on the requester and now."""
    now = now_us()
    return [
        or_(rule.c.actor_org.is_(None), rule.c.actor_org == who.org)
        if who.org
        else rule.c.actor_org.is_(None),
        or_(rule.c.actor_role.is_(None), rule.c.actor_role == who.role),
        or_(rule.c.actor_user.is_(None), rule.c.actor_user == who.user)
        if who.user
        else rule.c.actor_user.is_(None),
        or_(rule.c.purpose.is_(None), rule.c.purpose == who.purpose)
        if who.purpose
        else rule.c.purpose.is_(None),
        or_(rule.c.start_us.is_(None), rule.c.start_us <= now),
        or_(rule.c.end_us.is_(None), rule.c.end_us >= now),
    ]


def _consented(who: Requester) -> ColumnElement[bool]:
    """The citizen's consent permits this record's class (and type) to the requester."""
    permit = consent_rule.alias("gate_permit")
    return _permitted(
        who,
        permit,
        [
            permit.c.data_class == resource.c.data_class,
            or_(permit.c.res_type.is_(None), permit.c.res_type == resource.c.res_type),
        ],
        resource.c.res_type,
    )


def _consented_any(who: Requester, classes: list[str]) -> ColumnElement[bool]:
    """The citizen's consent permits the requester at least one of `classes` (the Patient)."""
    permit = consent_rule.alias("gate_permit")
    return _permitted(who, permit, [permit.c.data_class.in_(classes)], permit.c.res_type)


def _permitted(
    who: Requester,
    permit: Any,
    which: list[ColumnElement[bool]],
    res_type: ColumnElement[Any],
) -> ColumnElement[bool]:
    deny = consent_rule.alias("gate_deny")
    overruled = (
        select(literal(1))
        .where(
            deny.c.consent_pk == permit.c.consent_pk,
            deny.c.data_class == permit.c.data_class,
            deny.c.permit.is_(False),
            deny.c.depth >= permit.c.depth,
            or_(deny.c.res_type.is_(None), deny.c.res_type == res_type),
            *_matches(deny, who),
        )
        .correlate_except(deny)
    )
    return exists(
        select(literal(1))
        .where(
            permit.c.patient_id == resource.c.patient_id,
            permit.c.permit.is_(True),
            *which,
            *_matches(permit, who),
            ~exists(overruled),
        )
        .correlate_except(permit)
    )


def _writable(who: Requester, policy: RolePolicy, permission: str) -> ColumnElement[bool]:
    if policy.relation == "unrestricted" and policy.writes >= CLASSES:
        return true()
    writes = sorted(policy.writes)
    if not writes:
        return false()
    of_class = resource.c.data_class.in_(writes)
    if policy.relation == "self":
        if who.patient is None:
            return false()
        return and_(of_class, resource.c.patient_id == who.patient)
    if permission == "c":
        return of_class
    changers: list[ColumnElement[bool]] = []
    if who.org:
        changers.append(resource.c.owner_org == who.org)
    if policy.registrations:
        changers.append(_is_registration_consent())
    if who.role == "admin":
        changers.append(resource.c.data_class.in_([DIRECTORY, ADMIN]))
    if not changers:
        return false()
    return and_(of_class, or_(*changers))


def policy_for(table: Mapping[str, RolePolicy], role: str) -> RolePolicy:
    """The role's row; a role missing from the table reads and writes nothing."""
    return table.get(role) or RolePolicy(shared=frozenset())


@lru_cache(maxsize=8)
def role_table(path: Path | None) -> Mapping[str, RolePolicy]:
    """The role policy of a deployment (`role_policy.load_policy`), read once per file."""
    return load_policy(path)


def access_for(principal: Principal, settings: Settings) -> GatedAccess:
    """The access policy of a request: its token's scopes, its role's policy and the consent."""
    scoped = scoped_access(principal, settings.base_url.rstrip("/"))
    who = requester(
        principal, frozenset(settings.emergency_roles), settings.emergency_access_seconds
    )
    table = role_table(settings.role_policy_file)
    return gated_access(scoped, who, policy_for(table, principal.role))
