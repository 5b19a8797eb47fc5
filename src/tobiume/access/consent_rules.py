"""A citizen's registration Consent as rows of rules, so that the consent gate is a join
(DESIGN.md, "Access: three gates, one predicate"; https://hl7.org/fhir/R4/consent.html,
"Consent.provision" and "Evaluating a Consent").

Only an active Consent of scope `patient-privacy` and category LOINC 59284-0 registers a citizen
and yields rules; a draft, rejected, inactive (withdrawn) or entered-in-error one yields none,
so the citizen's records reach nobody but their contributors (and the citizen).

Provisions are read as FHIR describes them: each matches a request by `actor` (an
`Organization/ID` reference matches that organisation, a `PractitionerRole/ID` or
`Practitioner/ID` reference that person, a `role` coding of the participant-role CodeSystem
every requester of that role), `class` (a code of the data-class CodeSystem, or a resource type
of http://hl7.org/fhir/resource-types), `period` (when the rule is in force) and `purpose`
(http://terminology.hl7.org/CodeSystem/v3-ActReason); an absent element matches anything. A
nested provision is an exception to its parent and applies only where the parent does, so its
row carries the parent's conditions too. Of the provisions that match a request, the deepest
decides; where a permit and a deny match at the same depth, the deny wins; what no permit
matches is denied. A provision without `type` takes its parent's (the root's default is
permit).

Rows are flat (one actor, one class, one purpose per row), with the class made concrete (a
rule for every class of patient data is a row per class), so that the predicate in
`access.gates` compares columns and never parses anything at request time.

Failing closed: a permit restricted by something this server does not evaluate (`data`,
`dataPeriod`, `securityLabel`, `code`, an `action` other than access, an actor or class it
cannot read) permits nothing; a deny restricted by such a thing denies as if it were not
restricted.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final

from tobiume.access.classes import DATA_CLASS_SYSTEM, PATIENT_CLASSES, TOBIUME_CS
from tobiume.indexing.dates import parse_range

PARTICIPANT_ROLE_SYSTEM: Final = TOBIUME_CS + "participant-role"
"""Consent actors by role: the codes are the roles of `auth.roles.ROLES`."""
RESOURCE_TYPES_SYSTEM: Final = "http://hl7.org/fhir/resource-types"
ACT_REASON_SYSTEM: Final = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
CONSENT_SCOPE_SYSTEM: Final = "http://terminology.hl7.org/CodeSystem/consentscope"
LOINC: Final = "http://loinc.org"
PATIENT_CONSENT: Final = "59284-0"
_READ_ACTIONS: Final = frozenset({"access", "use", "disclose"})
_UNEVALUATED: Final = ("data", "dataPeriod", "securityLabel", "code")


@dataclass(frozen=True, slots=True)
class ConsentRule:
    """One flattened provision: who, which records, when and why; `permit` or deny."""

    depth: int
    permit: bool
    data_class: str
    res_type: str | None = None
    actor_org: str | None = None
    actor_role: str | None = None
    actor_user: str | None = None
    purpose: str | None = None
    start: int | None = None
    """Microseconds since the epoch (`indexing.dates`); None: since ever."""
    end: int | None = None


_ANYTHING: Final = ConsentRule(0, True, "")
"""The conditions before the root provision: none. While provisions are flattened a rule holds
the conditions of a provision and all its ancestors (one alternative of each); an empty
`data_class` stands for every class until the rule is made concrete."""


def is_registration(consent: Mapping[str, Any]) -> bool:
    """An active privacy Consent of the registration's category: the citizen is registered."""
    return (
        consent.get("resourceType") == "Consent"
        and consent.get("status") == "active"
        and _has_code(consent.get("scope"), CONSENT_SCOPE_SYSTEM, "patient-privacy")
        and any(_has_code(c, LOINC, PATIENT_CONSENT) for c in consent.get("category") or ())
    )


def registrar(consent: Mapping[str, Any]) -> str | None:
    """The organisation that registered the citizen: the Consent's first `organization`."""
    for org in consent.get("organization") or ():
        reference = org.get("reference") if isinstance(org, dict) else None
        if isinstance(reference, str) and reference.startswith("Organization/"):
            return reference
    return None


def rules(consent: Mapping[str, Any]) -> list[ConsentRule]:
    """The rows of a registration Consent's provisions; none for any other Consent."""
    if not is_registration(consent):
        return []
    root = consent.get("provision")
    if not isinstance(root, dict):
        return []
    return list(_flatten(root, _ANYTHING, 0, True))


def _flatten(
    provision: Mapping[str, Any], parent: ConsentRule, depth: int, parent_permit: bool
) -> Iterator[ConsentRule]:
    kind = provision.get("type")
    permit = parent_permit if kind not in ("permit", "deny") else kind == "permit"
    paths = list(_paths(provision, parent, permit))
    for path in paths:
        classes = (path.data_class,) if path.data_class else sorted(PATIENT_CLASSES)
        for data_class in classes:
            yield replace(path, depth=depth, permit=permit, data_class=data_class)
    for child in provision.get("provision") or ():
        if isinstance(child, dict):
            for path in paths:
                yield from _flatten(child, path, depth + 1, permit)


def _paths(
    provision: Mapping[str, Any], parent: ConsentRule, permit: bool
) -> Iterator[ConsentRule]:
    """Every combination of one actor, one class and one purpose of `provision`, joined with
    `parent`'s conditions; combinations that can never match are left out."""
    unevaluated = any(provision.get(name) for name in _UNEVALUATED) or not _reads(provision)
    if unevaluated and permit:
        return
    timed = _within(parent, provision.get("period"))
    if timed is None:
        return
    actors = _alternatives(provision.get("actor"), _actor, permit)
    classes = _alternatives(provision.get("class"), _class, permit)
    purposes = _alternatives(provision.get("purpose"), _purpose, permit)
    for actor in actors:
        for cls in classes:
            for purpose in purposes:
                joined = _join(timed, {**actor, **cls, **purpose})
                if joined is not None:
                    yield joined


def _alternatives(elements: Any, read: Any, permit: bool) -> Sequence[Mapping[str, Any]]:
    """One condition per element (OR); `[{}]` (no condition) when absent. An element this
    server cannot read is left out of a permit and widens a deny to no condition."""
    if not elements:
        return [{}]
    found: list[Mapping[str, Any]] = []
    for element in elements:
        condition = read(element) if isinstance(element, dict) else None
        if condition is None:
            if not permit:
                return [{}]
            continue
        found.append(condition)
    return found


def _actor(actor: Mapping[str, Any]) -> Mapping[str, Any] | None:
    role = actor.get("role")
    codings = role.get("coding") or () if isinstance(role, dict) else ()
    for coding in codings:
        if isinstance(coding, dict) and coding.get("system") == PARTICIPANT_ROLE_SYSTEM:
            code = coding.get("code")
            if isinstance(code, str):
                return {"actor_role": code}
    reference = actor.get("reference")
    target = reference.get("reference") if isinstance(reference, dict) else None
    if not isinstance(target, str):
        return None
    if target.startswith("Organization/"):
        return {"actor_org": target}
    if target.startswith(("PractitionerRole/", "Practitioner/")):
        return {"actor_user": target}
    return None


def _class(coding: Mapping[str, Any]) -> Mapping[str, Any] | None:
    system, code = coding.get("system"), coding.get("code")
    if system == DATA_CLASS_SYSTEM and code in PATIENT_CLASSES:
        return {"data_class": code}
    if system == RESOURCE_TYPES_SYSTEM and isinstance(code, str) and code:
        return {"res_type": code}
    return None


def _purpose(coding: Mapping[str, Any]) -> Mapping[str, Any] | None:
    code = coding.get("code")
    if coding.get("system") == ACT_REASON_SYSTEM and isinstance(code, str):
        return {"purpose": code}
    return None


def _reads(provision: Mapping[str, Any]) -> bool:
    """True when the provision is about reading (no `action`, or one of access/use/disclose)."""
    actions = provision.get("action")
    if not actions:
        return True
    return any(
        isinstance(c, dict) and c.get("code") in _READ_ACTIONS
        for action in actions
        if isinstance(action, dict)
        for c in action.get("coding") or ()
    )


def _within(parent: ConsentRule, period: Any) -> ConsentRule | None:
    """`parent` narrowed to `period`; None when the two never overlap."""
    if not isinstance(period, dict):
        return parent
    start, end = parent.start, parent.end
    try:
        if isinstance(period.get("start"), str):
            low = parse_range(period["start"])[0]
            start = low if start is None else max(start, low)
        if isinstance(period.get("end"), str):
            high = parse_range(period["end"])[1]
            end = high if end is None else min(end, high)
    except ValueError:
        return None
    if start is not None and end is not None and start > end:
        return None
    return replace(parent, start=start, end=end)


def _join(path: ConsentRule, condition: Mapping[str, Any]) -> ConsentRule | None:
    """`path` and `condition` together; None when they contradict each other (two different
    organisations, classes, types or purposes can never match one request)."""
    changes: dict[str, Any] = {}
    for name, value in condition.items():
        held = getattr(path, name)
        if held is None or held == "":
            changes[name] = value
        elif held != value:
            return None
    return replace(path, **changes) if changes else path


def _has_code(concept: Any, system: str, code: str) -> bool:
    if not isinstance(concept, dict):
        return False
    return any(
        isinstance(c, dict) and c.get("system") == system and c.get("code") == code
        for c in concept.get("coding") or ()
    )
