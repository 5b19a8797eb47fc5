"""Data classes: what kind of record a stored resource is, for the role policy and the consent
(DESIGN.md, "Access: three gates, one predicate"; `docs/access.md`, "Data classes").

Every resource gets one class when it is written, kept in `resource.data_class`:

* patient data: `medical` (診療: conditions, prescriptions, laboratory, admissions), `care`
  (介護: the 介護保険 Coverage, care assessments, CareTeam, care plans), `checkup` (特定健診 and
  後期高齢者健診), and `registration` (the Patient and their Consent: who the citizen is and what
  they allowed, which the access rules treat on their own);
* the rest: `directory` (who is who in the network, and the shared definitions every
  participant reads: Organization, PractitionerRole, CodeSystem, Questionnaire, ...), `audit`
  (AuditEvent), `admin` (everything else the server keeps for itself, such as Subscription).

The class comes, in order, from: a `meta.tag` in the data-class CodeSystem (the writer says so;
it wins); a category or type code of the server's record-category CodeSystem
(specific-health-checkup and elderly-health-checkup are `checkup`, care-assessment,
care-service-plan and preventive-care-plan are `care`); the type of a Coverage (long-term-care
is `care`); the resource type. The CodeSystem the server publishes at
`/fhir/CodeSystem/data-class` is `DATA_CLASS_CODESYSTEM`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Final

from tobiume.fhir.compartment import PATIENT_COMPARTMENT

TOBIUME_CS: Final = "http://tobiume.example/fhir/CodeSystem/"
DATA_CLASS_SYSTEM: Final = TOBIUME_CS + "data-class"
RECORD_CATEGORY_SYSTEM: Final = TOBIUME_CS + "record-category"
COVERAGE_TYPE_SYSTEM: Final = TOBIUME_CS + "coverage-type"

MEDICAL: Final = "medical"
CARE: Final = "care"
CHECKUP: Final = "checkup"
REGISTRATION: Final = "registration"
DIRECTORY: Final = "directory"
AUDIT: Final = "audit"
ADMIN: Final = "admin"

CLINICAL: Final = frozenset({MEDICAL, CARE, CHECKUP})
"""The classes a citizen's consent shares, each on its own."""
PATIENT_CLASSES: Final = CLINICAL | {REGISTRATION}
CLASSES: Final = PATIENT_CLASSES | {DIRECTORY, AUDIT, ADMIN}

DESCRIPTIONS: Final[Mapping[str, tuple[str, str]]] = {
    MEDICAL: ("診療情報", "Medical records: conditions, prescriptions, results, encounters."),
    CARE: ("介護情報", "Long-term-care records: 介護保険, assessments, care teams and plans."),
    CHECKUP: ("健診情報", "Health-checkup records: 特定健診 and 後期高齢者健診."),
    REGISTRATION: ("登録情報", "The citizen's Patient resource and their registration Consent."),
    DIRECTORY: ("名簿", "Who is who in the network, and the shared definitions."),
    AUDIT: ("監査証跡", "The access log."),
    ADMIN: ("管理情報", "What the server keeps for its own running."),
}

_BY_CATEGORY: Final[Mapping[str, str]] = {
    "specific-health-checkup": CHECKUP,
    "elderly-health-checkup": CHECKUP,
    "care-assessment": CARE,
    "care-service-plan": CARE,
    "preventive-care-plan": CARE,
    "care-information": CARE,
}

_DIRECTORY_TYPES: Final = frozenset(
    {
        "Organization",
        "OrganizationAffiliation",
        "Location",
        "HealthcareService",
        "Practitioner",
        "PractitionerRole",
        "Endpoint",
        # Shared definitions: what every participant needs to read the records.
        "CodeSystem",
        "ValueSet",
        "ConceptMap",
        "NamingSystem",
        "StructureDefinition",
        "SearchParameter",
        "OperationDefinition",
        "CapabilityStatement",
        "CompartmentDefinition",
        "ImplementationGuide",
        "Questionnaire",
        "ActivityDefinition",
        "PlanDefinition",
        "Library",
        "Medication",
        "Substance",
    }
)
_REGISTRATION_TYPES: Final = frozenset({"Patient", "Consent", "RelatedPerson"})
_CARE_TYPES: Final = frozenset({"CareTeam", "CarePlan"})


def data_class(resource: Mapping[str, Any]) -> str:
    """The data class of `resource` (see the module's docstring for the order of the rules)."""
    stated = _stated(resource)
    if stated is not None:
        return stated
    res_type = resource.get("resourceType", "")
    if res_type == "AuditEvent":
        return AUDIT
    if res_type in _DIRECTORY_TYPES:
        return DIRECTORY
    if res_type in _REGISTRATION_TYPES:
        return REGISTRATION
    if res_type not in PATIENT_COMPARTMENT:
        return ADMIN
    for code in _category_codes(resource):
        found = _BY_CATEGORY.get(code)
        if found is not None:
            return found
    if res_type in _CARE_TYPES:
        return CARE
    if res_type == "Coverage" and _is_long_term_care(resource):
        return CARE
    return MEDICAL


def _stated(resource: Mapping[str, Any]) -> str | None:
    """The class a writer stated in `meta.tag`, if it is one of `CLASSES`."""
    meta = resource.get("meta")
    if not isinstance(meta, dict):
        return None
    for tag in meta.get("tag") or ():
        if isinstance(tag, dict) and tag.get("system") == DATA_CLASS_SYSTEM:
            code = tag.get("code")
            if code in CLASSES:
                return str(code)
    return None


def _category_codes(resource: Mapping[str, Any]) -> Iterator[str]:
    """The record-category codes of a resource's `category` (one or many) and `code`."""
    concepts: list[Any] = []
    for name in ("category", "code", "type"):
        value = resource.get(name)
        concepts.extend(value if isinstance(value, list) else [value])
    for concept in concepts:
        if not isinstance(concept, dict):
            continue
        for coding in concept.get("coding") or ():
            if isinstance(coding, dict) and coding.get("system") == RECORD_CATEGORY_SYSTEM:
                code = coding.get("code")
                if isinstance(code, str):
                    yield code


def _is_long_term_care(coverage: Mapping[str, Any]) -> bool:
    concept = coverage.get("type")
    if not isinstance(concept, dict):
        return False
    return any(
        isinstance(c, dict)
        and c.get("system") == COVERAGE_TYPE_SYSTEM
        and c.get("code") == "long-term-care"
        for c in concept.get("coding") or ()
    )
