"""An independent oracle of who may see what in the synthetic city, written from docs/access.md
and the generated resources alone.

The leak suite (`tests.access.test_city_leaks`) compares what the server answers with what
this module decides. It must not share the server's mistakes, so it imports nothing of
`tobiume.access`, `tobiume.search` or `tobiume.storage`: every rule below is read from the
document ("Data classes", "The role table", "Relationships", "The consent", "Break the glass")
and applied to the parsed JSON of the resources as they were written.

What it models:

* the data class of each resource (a stated `meta.tag` wins; then CareTeam and CarePlan, a
  long-term-care Coverage, a record-category category or code; the registration, directory and
  audit types; the rest of the Patient compartment is medical; anything else is admin);
* the citizen's registrations (active Consents of scope patient-privacy and LOINC 59284-0)
  and their provisions: matched by actor, class, period and purpose; nested provisions as
  exceptions that apply only where their parent does; the deepest match decides, a deny wins a
  tie, no permit means deny; unevaluable restrictions fail closed;
* the role table (classes read, the medical summary, the relationship each role needs) and
  the relationships (active CareTeams, the wards a support centre serves);
* the Patient visible to whoever may see any class of the citizen's records, the Consent only
  to its contributor, the citizen and (a registration Consent, whatever its status) the
  municipality, which keeps the register; the owner rule for records written over HTTP;
* the scope gate of a `patient/` token (only that citizen's compartment), because the citizen
  requester of the suite carries one.

Imported data has no contributor, so the owner rule never applies to the city itself; records
the suite writes are added with `City.add(resource, contributor)`.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Final

Resource = dict[str, Any]

TOBIUME: Final = "http://tobiume.example/fhir"
DATA_CLASS_SYSTEM: Final = f"{TOBIUME}/CodeSystem/data-class"
RECORD_CATEGORY_SYSTEM: Final = f"{TOBIUME}/CodeSystem/record-category"
PARTICIPANT_ROLE_SYSTEM: Final = f"{TOBIUME}/CodeSystem/participant-role"
SERVED_WARD: Final = f"{TOBIUME}/StructureDefinition/served-ward"
RESOURCE_TYPES_SYSTEM: Final = "http://hl7.org/fhir/resource-types"
CONSENT_SCOPE_SYSTEM: Final = "http://terminology.hl7.org/CodeSystem/consentscope"
LOINC: Final = "http://loinc.org"
ACT_REASON: Final = "http://terminology.hl7.org/CodeSystem/v3-ActReason"

MEDICAL: Final = "medical"
CARE: Final = "care"
CHECKUP: Final = "checkup"
REGISTRATION: Final = "registration"
DIRECTORY: Final = "directory"
AUDIT: Final = "audit"
ADMIN: Final = "admin"
CLINICAL: Final = frozenset({MEDICAL, CARE, CHECKUP})

RECORD_CATEGORIES: Final[Mapping[str, str]] = {
    "specific-health-checkup": CHECKUP,
    "elderly-health-checkup": CHECKUP,
    "care-assessment": CARE,
    "care-service-plan": CARE,
    "preventive-care-plan": CARE,
    "care-information": CARE,
}
"""The record-category codes that the data-class table names, and the class each gives."""

REGISTRATION_TYPES: Final = frozenset({"Patient", "Consent", "RelatedPerson"})
DIRECTORY_TYPES: Final = frozenset(
    {
        "Organization",
        "OrganizationAffiliation",
        "Location",
        "HealthcareService",
        "Practitioner",
        "PractitionerRole",
        "Endpoint",
        "CodeSystem",
        "ValueSet",
        "ConceptMap",
        "NamingSystem",
        "StructureDefinition",
        "SearchParameter",
        "CompartmentDefinition",
        "OperationDefinition",
        "CapabilityStatement",
        "Questionnaire",
        "Medication",
        "Substance",
        "ActivityDefinition",
        "PlanDefinition",
        "Library",
        "Measure",
    }
)
"""The directory types the table lists (its `…` read as the other shared definitions)."""

PATIENT_COMPARTMENT: Final = frozenset(
    {
        "Account",
        "AdverseEvent",
        "AllergyIntolerance",
        "Appointment",
        "AppointmentResponse",
        "AuditEvent",
        "Basic",
        "BodyStructure",
        "CarePlan",
        "CareTeam",
        "ChargeItem",
        "Claim",
        "ClaimResponse",
        "ClinicalImpression",
        "Communication",
        "CommunicationRequest",
        "Composition",
        "Condition",
        "Consent",
        "Coverage",
        "CoverageEligibilityRequest",
        "CoverageEligibilityResponse",
        "DetectedIssue",
        "DeviceRequest",
        "DeviceUseStatement",
        "DiagnosticReport",
        "DocumentManifest",
        "DocumentReference",
        "Encounter",
        "EnrollmentRequest",
        "EpisodeOfCare",
        "ExplanationOfBenefit",
        "FamilyMemberHistory",
        "Flag",
        "Goal",
        "Group",
        "ImagingStudy",
        "Immunization",
        "ImmunizationEvaluation",
        "ImmunizationRecommendation",
        "Invoice",
        "List",
        "MeasureReport",
        "Media",
        "MedicationAdministration",
        "MedicationDispense",
        "MedicationRequest",
        "MedicationStatement",
        "MolecularSequence",
        "NutritionOrder",
        "Observation",
        "Patient",
        "Person",
        "Procedure",
        "Provenance",
        "QuestionnaireResponse",
        "RelatedPerson",
        "RequestGroup",
        "ResearchSubject",
        "RiskAssessment",
        "Schedule",
        "ServiceRequest",
        "Specimen",
        "SupplyDelivery",
        "SupplyRequest",
        "VisionPrescription",
    }
)
"""The resource types of the FHIR R4 Patient compartment (CompartmentDefinition/patient)."""

COMPARTMENT_PATHS: Final[Mapping[str, tuple[str, ...]]] = {
    "AllergyIntolerance": ("patient", "recorder", "asserter"),
    "CarePlan": ("subject", "activity.detail.performer"),
    "CareTeam": ("subject", "participant.member"),
    "Condition": ("subject", "asserter"),
    "Consent": ("patient",),
    "Coverage": ("policyHolder", "subscriber", "beneficiary", "payor"),
    "DiagnosticReport": ("subject",),
    "Encounter": ("subject",),
    "MedicationRequest": ("subject",),
    "MedicationStatement": ("subject",),
    "Observation": ("subject", "performer"),
    "RelatedPerson": ("patient",),
}
"""Where each type of the city names the Patient whose compartment it is in (R4
CompartmentDefinition/patient, its search parameters written as element paths)."""

SUMMARY_TYPES: Final = frozenset({"Condition", "AllergyIntolerance"})
SUMMARY_IF_ACTIVE: Final = frozenset({"MedicationRequest", "MedicationStatement"})
EVALUATED_ACTIONS: Final = frozenset({"access", "use", "disclose"})


@dataclass(frozen=True)
class RoleRule:
    """One row of docs/access.md's role table, as far as reading goes."""

    reads: frozenset[str]
    """The clinical classes the role reads where the consent permits."""
    summary: bool
    """Whether the role also reads the medical summary."""
    relation: str
    """What ties the requester to the citizen: consent, care-team, care-team-member,
    care-team-or-ward, self or none."""
    other: frozenset[str]
    """The classes outside the citizen's records it reads (directory, admin, audit)."""
    registrations: bool = False
    """Whether it reads every citizen's registration Consent (the municipality's register)."""


_EVERY_CLINICAL = frozenset({MEDICAL, CARE, CHECKUP})
ROLE_TABLE: Final[Mapping[str, RoleRule]] = {
    "hospital": RoleRule(_EVERY_CLINICAL, False, "consent", frozenset({DIRECTORY})),
    "clinic": RoleRule(_EVERY_CLINICAL, False, "consent", frozenset({DIRECTORY})),
    "pharmacy": RoleRule(_EVERY_CLINICAL, False, "consent", frozenset({DIRECTORY})),
    "home-nursing": RoleRule(_EVERY_CLINICAL, False, "care-team", frozenset({DIRECTORY})),
    "care-provider": RoleRule(frozenset({CARE}), True, "care-team", frozenset({DIRECTORY})),
    "community-support-center": RoleRule(
        frozenset({CARE, CHECKUP}), True, "care-team-or-ward", frozenset({DIRECTORY})
    ),
    "care-manager": RoleRule(
        frozenset({CARE, CHECKUP}), True, "care-team-member", frozenset({DIRECTORY})
    ),
    "municipality": RoleRule(
        frozenset(), False, "none", frozenset({DIRECTORY}), registrations=True
    ),
    "auditor": RoleRule(frozenset(), False, "none", frozenset({AUDIT})),
    "admin": RoleRule(frozenset(), False, "none", frozenset({DIRECTORY, ADMIN})),
    "citizen": RoleRule(_EVERY_CLINICAL, False, "self", frozenset({DIRECTORY})),
}
"""docs/access.md, "The role table": what each role reads and what ties it to the citizen."""

WRITES: Final[Mapping[str, frozenset[str]]] = {
    "hospital": frozenset({MEDICAL, CARE, CHECKUP, REGISTRATION}),
    "clinic": frozenset({MEDICAL, CARE, CHECKUP, REGISTRATION}),
    "pharmacy": frozenset({MEDICAL, CARE, CHECKUP, REGISTRATION}),
    "home-nursing": frozenset({MEDICAL, CARE}),
    "care-provider": frozenset({CARE}),
    "community-support-center": frozenset({CARE, CHECKUP, REGISTRATION}),
    "care-manager": frozenset({CARE, REGISTRATION}),
    "municipality": frozenset({CARE, CHECKUP, REGISTRATION}),
    "auditor": frozenset(),
    "admin": frozenset({DIRECTORY, ADMIN}),
    "citizen": frozenset({REGISTRATION}),
}
"""docs/access.md, "The role table", the writes column: the owner rule reads back only these."""

EMERGENCY_ROLES: Final = frozenset({"hospital"})
"""TOBIUME_EMERGENCY_ROLES's default: the roles whose ETREAT tokens break the glass."""
EMERGENCY_ACCESS_SECONDS: Final = 3600
"""TOBIUME_EMERGENCY_ACCESS_SECONDS's default: how long after its issue an ETREAT token does."""


@dataclass(frozen=True)
class Requester:
    """Who asks: the claims of their token that the access rules read."""

    label: str
    role: str
    organization: str
    """`Organization/ID`, the token's `organization` claim."""
    practitioner_role: str | None = None
    """`PractitionerRole/ID`, the token's `fhirUser` claim."""
    purpose: str | None = None
    """The token's `purpose_of_use` (v3-ActReason code)."""
    patient: str | None = None
    """The citizen's id, the token's `patient` launch context."""
    patient_scope: bool = False
    """The token's scopes are `patient/` ones: only that patient's compartment is in reach."""
    issued_seconds_ago: int = 0
    """How long before the requests the token was issued (its `iat`)."""

    @property
    def effective_purpose(self) -> str | None:
        """The purpose the consent provisions are matched with: ETREAT counts only from an
        emergency role, within the emergency access time of the token's issue ("Break the
        glass"); another purpose of use is taken as stated."""
        if self.purpose == "ETREAT" and (
            self.role not in EMERGENCY_ROLES or self.issued_seconds_ago >= EMERGENCY_ACCESS_SECONDS
        ):
            return None
        return self.purpose


def key(resource: Mapping[str, Any]) -> str:
    """`Type/id` of a resource."""
    return f"{resource['resourceType']}/{resource['id']}"


def fold(text: str) -> str:
    """The folding the wards are compared after: width, compatibility forms and case."""
    return unicodedata.normalize("NFKC", text).casefold().strip()


def as_list(value: Any) -> list[Any]:
    """A FHIR element that may be one value or a list, as a list."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def values_at(resource: Mapping[str, Any], path: str) -> list[Any]:
    """The values at a dotted element path (`activity.detail.performer`), lists flattened."""
    current: list[Any] = [resource]
    for part in path.split("."):
        current = [v for item in current if isinstance(item, dict) for v in as_list(item.get(part))]
    return current


def references_at(resource: Mapping[str, Any], path: str) -> list[str]:
    """The literal references (`Patient/c000001`) at an element path."""
    return [
        ref["reference"]
        for ref in values_at(resource, path)
        if isinstance(ref, dict) and isinstance(ref.get("reference"), str)
    ]


def codings(concepts: Any) -> Iterator[Mapping[str, Any]]:
    """Every Coding of a CodeableConcept, a list of them, a Coding or a list of Codings."""
    for concept in as_list(concepts):
        if not isinstance(concept, dict):
            continue
        if "coding" in concept:
            yield from (c for c in as_list(concept["coding"]) if isinstance(c, dict))
        elif "code" in concept:
            yield concept


def data_class(resource: Mapping[str, Any]) -> str:
    """The class docs/access.md's "Data classes" table gives a resource."""
    for tag in as_list((resource.get("meta") or {}).get("tag")):
        if isinstance(tag, dict) and tag.get("system") == DATA_CLASS_SYSTEM:
            return str(tag["code"])
    res_type = resource["resourceType"]
    if res_type in ("CareTeam", "CarePlan"):
        return CARE
    if res_type == "Coverage" and any(
        c.get("code") == "long-term-care" for c in codings(resource.get("type"))
    ):
        return CARE
    for element in ("category", "code"):
        for coding in codings(resource.get(element)):
            if coding.get("system") == RECORD_CATEGORY_SYSTEM:
                found = RECORD_CATEGORIES.get(str(coding.get("code")))
                if found is not None:
                    return found
    if res_type in REGISTRATION_TYPES:
        return REGISTRATION
    if res_type in DIRECTORY_TYPES:
        return DIRECTORY
    if res_type == "AuditEvent":
        return AUDIT
    if res_type in PATIENT_COMPARTMENT:
        return MEDICAL
    return ADMIN


def compartment_citizens(resource: Mapping[str, Any]) -> set[str]:
    """The citizens (Patient ids) in whose compartment a resource is."""
    if resource["resourceType"] == "Patient":
        return {str(resource["id"])}
    paths = COMPARTMENT_PATHS.get(resource["resourceType"], ("subject", "patient"))
    return {
        ref.removeprefix("Patient/")
        for path in paths
        for ref in references_at(resource, path)
        if ref.startswith("Patient/")
    }


def citizen_of(resource: Mapping[str, Any]) -> str | None:
    """The citizen a record is about: the Patient itself, or the Patient its subject, patient or
    beneficiary names."""
    if resource["resourceType"] == "Patient":
        return str(resource["id"])
    for path in ("subject", "patient", "beneficiary"):
        for ref in references_at(resource, path):
            if ref.startswith("Patient/"):
                return ref.removeprefix("Patient/")
    return None


def is_summary(resource: Mapping[str, Any]) -> bool:
    """Part of the medical summary: Condition, AllergyIntolerance, and an active
    MedicationRequest or MedicationStatement."""
    res_type = resource["resourceType"]
    return res_type in SUMMARY_TYPES or (
        res_type in SUMMARY_IF_ACTIVE and resource.get("status") == "active"
    )


def is_registration(consent: Mapping[str, Any]) -> bool:
    """An active registration Consent: what makes the citizen registered."""
    return consent.get("status") == "active" and is_registration_consent(consent)


def is_registration_consent(consent: Mapping[str, Any]) -> bool:
    """A Consent of scope patient-privacy and category LOINC 59284-0, whatever its status (a
    withdrawn registration is still the citizen's registration Consent)."""
    return (
        consent.get("resourceType") == "Consent"
        and any(
            c.get("system") == CONSENT_SCOPE_SYSTEM and c.get("code") == "patient-privacy"
            for c in codings(consent.get("scope"))
        )
        and any(
            c.get("system") == LOINC and c.get("code") == "59284-0"
            for c in codings(consent.get("category"))
        )
    )


def _bound(text: str, *, upper: bool) -> date:
    """The day a period's start or end falls on (precision beyond the day does not matter for
    the city, whose periods are dates years away from today)."""
    return date.fromisoformat(text[:10]) if len(text) >= 10 else _partial(text, upper=upper)


def _partial(text: str, *, upper: bool) -> date:
    """A year or year-month as its first or last day."""
    parts = [int(p) for p in text.split("-")]
    if len(parts) == 1:
        return date(parts[0], 12, 31) if upper else date(parts[0], 1, 1)
    if not upper:
        return date(parts[0], parts[1], 1)
    following = date(parts[0] + parts[1] // 12, parts[1] % 12 + 1, 1)
    return date.fromordinal(following.toordinal() - 1)


@dataclass(frozen=True)
class Question:
    """What a consent is asked: may this requester see this class (of this type) now?"""

    requester: Requester
    data_class: str
    resource_type: str | None
    today: date
    practitioner: str | None
    """`Practitioner/ID` behind the requester's PractitionerRole, for a Practitioner actor."""


def _actor_matches(actor: Mapping[str, Any], question: Question) -> bool | None:
    """Whether one `provision.actor` names the requester (None: the server cannot read it).

    A reference to an Organization names that organisation; to a PractitionerRole or
    Practitioner, that person; a role coding of the participant-role system, every requester of
    that role. The actor's other role codings (IRCP, …) say how the actor takes part, not who.
    """
    requester = question.requester
    reference = (actor.get("reference") or {}).get("reference")
    roles = [
        c.get("code")
        for c in codings(actor.get("role"))
        if c.get("system") == PARTICIPANT_ROLE_SYSTEM
    ]
    if reference is None and not roles:
        return None
    matched = True
    if isinstance(reference, str):
        if reference.startswith("Organization/"):
            matched = requester.organization == reference
        elif reference.startswith("PractitionerRole/"):
            matched = requester.practitioner_role == reference
        elif reference.startswith("Practitioner/"):
            matched = reference in (requester.practitioner_role, question.practitioner)
        else:
            return None
    if roles:
        matched = matched and requester.role in roles
    return matched


def _class_matches(coding: Mapping[str, Any], question: Question) -> bool | None:
    """Whether one `provision.class` covers the record (None: the server cannot read it)."""
    system, code = coding.get("system"), coding.get("code")
    if system == DATA_CLASS_SYSTEM:
        return code == question.data_class
    if system == RESOURCE_TYPES_SYSTEM:
        return code == question.resource_type
    return None


def _any_of(results: list[bool | None], *, deny: bool) -> bool | None:
    """An element's verdict from its entries': any match matches; an unreadable entry makes a
    permit unreadable (it then permits nothing) and a deny unrestricted (it denies anyway)."""
    if None in results:
        return True if deny else None
    return any(results)


def _provision_matches(provision: Mapping[str, Any], kind: str, question: Question) -> bool:
    """Whether one provision applies to the question, by its own elements only."""
    deny = kind == "deny"
    unevaluated = any(provision.get(k) for k in ("data", "dataPeriod", "securityLabel", "code"))
    actions = [c.get("code") for c in codings(provision.get("action"))]
    if any(a not in EVALUATED_ACTIONS for a in actions):
        unevaluated = True
    if unevaluated and not deny:
        return False
    checks: list[bool | None] = []
    actors = as_list(provision.get("actor"))
    if actors:
        checks.append(_any_of([_actor_matches(a, question) for a in actors], deny=deny))
    classes = [c for c in as_list(provision.get("class")) if isinstance(c, dict)]
    if classes:
        checks.append(_any_of([_class_matches(c, question) for c in classes], deny=deny))
    period = provision.get("period")
    if isinstance(period, dict):
        start, end = period.get("start"), period.get("end")
        in_force = (start is None or _bound(start, upper=False) <= question.today) and (
            end is None or question.today <= _bound(end, upper=True)
        )
        checks.append(in_force)
    purposes = list(codings(provision.get("purpose")))
    if purposes:
        wanted = question.requester.effective_purpose
        checks.append(
            wanted is not None
            and any(
                p.get("code") == wanted and p.get("system", ACT_REASON) == ACT_REASON
                for p in purposes
            )
        )
    return all(c is True for c in checks)


def consent_permits(consent: Mapping[str, Any], question: Question) -> bool:
    """docs/access.md, "The consent": the deepest matching provision decides, a deny wins a tie
    at the same depth, and what no permit matches is denied. A nested provision applies only
    where its parent does; one without `type` takes its parent's; the root's default is
    permit."""
    matched: list[tuple[int, str]] = []

    def walk(provision: Mapping[str, Any], depth: int, inherited: str) -> None:
        kind = str(provision.get("type") or inherited)
        if not _provision_matches(provision, kind, question):
            return
        matched.append((depth, kind))
        for nested in as_list(provision.get("provision")):
            if isinstance(nested, dict):
                walk(nested, depth + 1, kind)

    walk(consent.get("provision") or {}, 0, "permit")
    if not matched:
        return False
    deepest = max(depth for depth, _ in matched)
    return {kind for depth, kind in matched if depth == deepest} == {"permit"}


class City:
    """The city's resources as last written, who contributed each (none for imported ones),
    and the decisions of docs/access.md over them."""

    def __init__(self, resources: Iterable[Resource], today: date | None = None) -> None:
        self.resources: dict[str, Resource] = {}
        self.contributors: dict[str, str] = {}
        self.today = today or datetime.now(UTC).date()
        for resource in resources:
            self.resources[key(resource)] = resource
        self._reindex()

    def add(self, resource: Resource, contributor: str | None) -> None:
        """A resource written over HTTP by `contributor` (an `Organization/ID`)."""
        self.resources[key(resource)] = resource
        if contributor is not None:
            self.contributors[key(resource)] = contributor
        self._reindex()

    def _reindex(self) -> None:
        """The relationships and registrations, recomputed from the resources."""
        self._seen: dict[tuple[Requester, str], bool] = {}
        self.registrations: dict[str, list[Resource]] = {}
        self.team_organizations: dict[str, set[str]] = {}
        self.team_people: dict[str, set[str]] = {}
        for resource in self.resources.values():
            res_type = resource["resourceType"]
            if res_type == "Consent" and is_registration(resource):
                for ref in references_at(resource, "patient"):
                    self.registrations.setdefault(ref.removeprefix("Patient/"), []).append(resource)
            if res_type == "CareTeam" and resource.get("status") == "active":
                self._index_team(resource)

    def _index_team(self, team: Resource) -> None:
        """docs/access.md, "Relationships": a member Organization relates that organisation; a
        member PractitionerRole relates that person and the organisation in `onBehalfOf`."""
        for subject in references_at(team, "subject"):
            if not subject.startswith("Patient/"):
                continue
            citizen = subject.removeprefix("Patient/")
            organizations = self.team_organizations.setdefault(citizen, set())
            people = self.team_people.setdefault(citizen, set())
            for participant in as_list(team.get("participant")):
                for member in references_at(participant, "member"):
                    if member.startswith("Organization/"):
                        organizations.add(member)
                    elif member.startswith(("PractitionerRole/", "Practitioner/")):
                        people.add(member)
                        organizations.update(
                            r
                            for r in references_at(participant, "onBehalfOf")
                            if r.startswith("Organization/")
                        )

    def of(self, res_type: str) -> list[Resource]:
        """Every resource of a type, in id order."""
        return sorted(
            (r for r in self.resources.values() if r["resourceType"] == res_type),
            key=lambda r: str(r["id"]),
        )

    def types(self) -> list[str]:
        """The resource types the city holds."""
        return sorted({r["resourceType"] for r in self.resources.values()})

    def served_wards(self, organization: str) -> set[str]:
        """The folded wards an Organization's served-ward extensions name."""
        org = self.resources.get(organization)
        if org is None:
            return set()
        return {
            fold(ext["valueString"])
            for ext in as_list(org.get("extension"))
            if isinstance(ext, dict)
            and ext.get("url") == SERVED_WARD
            and isinstance(ext.get("valueString"), str)
        }

    def related(self, requester: Requester, citizen: str) -> bool:
        """Whether what the role needs ties the requester to the citizen."""
        relation = ROLE_TABLE[requester.role].relation
        if relation == "consent":
            return True
        if relation == "self":
            return requester.patient == citizen
        by_team = requester.organization in self.team_organizations.get(citizen, set())
        if relation == "care-team":
            return by_team
        if relation == "care-team-member":
            return requester.practitioner_role in self.team_people.get(citizen, set())
        if relation == "care-team-or-ward":
            patient = self.resources.get(f"Patient/{citizen}") or {}
            cities = {
                fold(a["city"])
                for a in as_list(patient.get("address"))
                if isinstance(a, dict) and isinstance(a.get("city"), str)
            }
            return by_team or bool(cities & self.served_wards(requester.organization))
        return False

    def permits(self, requester: Requester, citizen: str, cls: str, res_type: str | None) -> bool:
        """Whether any of the citizen's registrations permits the requester this class (of
        this type) now; a citizen without one is permitted to nobody."""
        practitioner = None
        if requester.practitioner_role is not None:
            role = self.resources.get(requester.practitioner_role) or {}
            found = references_at(role, "practitioner")
            practitioner = found[0] if found else None
        question = Question(requester, cls, res_type, self.today, practitioner)
        return any(consent_permits(c, question) for c in self.registrations.get(citizen, []))

    def readable_classes(self, requester: Requester) -> frozenset[str]:
        """The clinical classes a role reads at all (the summary is medical records)."""
        rule = ROLE_TABLE[requester.role]
        return rule.reads | ({MEDICAL} if rule.summary else frozenset())

    def sees_citizen(self, requester: Requester, citizen: str) -> bool:
        """docs/access.md: the Patient (and RelatedPerson) is visible to whoever may see any
        class of that citizen's records: a class the role reads, through the relationship it
        needs, that the consent permits (whether or not a record of it exists yet)."""
        if requester.role == "citizen":
            return requester.patient == citizen
        if not self.related(requester, citizen):
            return False
        return any(
            self.permits(requester, citizen, cls, None)
            for cls in sorted(self.readable_classes(requester))
        )

    def visible(self, requester: Requester, resource: Mapping[str, Any]) -> bool:
        """Whether the requester may see the resource (its current version)."""
        found = key(resource)
        cached = self._seen.get((requester, found))
        if cached is None:
            cached = self._decide(requester, resource)
            self._seen[(requester, found)] = cached
        return cached

    def _decide(self, requester: Requester, resource: Mapping[str, Any]) -> bool:
        if requester.patient_scope and requester.patient not in compartment_citizens(resource):
            return False
        if (
            requester.role != "citizen"
            and self.contributors.get(key(resource)) == requester.organization
            and data_class(resource) in WRITES[requester.role]
        ):
            return True
        cls = data_class(resource)
        rule = ROLE_TABLE[requester.role]
        if cls not in CLINICAL and cls != REGISTRATION:
            return cls in rule.other
        citizen = citizen_of(resource)
        if citizen is None:
            return False
        if requester.role == "citizen":
            return requester.patient == citizen
        res_type = resource["resourceType"]
        if res_type == "Consent":
            return rule.registrations and is_registration_consent(resource)
        if cls == REGISTRATION:
            return self.sees_citizen(requester, citizen)
        if cls not in rule.reads and not (rule.summary and cls == MEDICAL and is_summary(resource)):
            return False
        return self.related(requester, citizen) and self.permits(requester, citizen, cls, res_type)

    def visible_keys(self, requester: Requester, res_type: str | None = None) -> set[str]:
        """Every resource (of a type) the requester may see."""
        return {
            k
            for k, r in self.resources.items()
            if (res_type is None or r["resourceType"] == res_type) and self.visible(requester, r)
        }
