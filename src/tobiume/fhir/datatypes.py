"""R4 data type names, as a model-free FHIRPath needs them
(https://hl7.org/fhir/R4/datatypes.html, choice elements: https://hl7.org/fhir/R4/formats.html#choice).

A choice element `value[x]` appears in JSON as `value` + the type's name with its first letter
upper-cased (`valueQuantity`, `valueDateTime`); `CHOICE_SUFFIXES` maps the suffix back to the
type. `CHOICE_NAMES` lists every choice element name of R4 (the `x` of `x[x]`), so only those
are looked up by suffix: `link` must never find `linkId`, nor `status` find `statusDate`.
"""

from __future__ import annotations

# fmt: off
PRIMITIVE_TYPES: frozenset[str] = frozenset((
    "base64Binary", "boolean", "canonical", "code", "date", "dateTime", "decimal", "id",
    "instant", "integer", "markdown", "oid", "positiveInt", "string", "time", "unsignedInt",
    "uri", "url", "uuid", "xhtml",
))
COMPLEX_TYPES: frozenset[str] = frozenset((
    "Address", "Age", "Annotation", "Attachment", "CodeableConcept", "Coding", "ContactDetail",
    "ContactPoint", "Contributor", "Count", "DataRequirement", "Distance", "Dosage", "Duration",
    "Expression", "HumanName", "Identifier", "Meta", "Money", "ParameterDefinition", "Period",
    "Quantity", "Range", "Ratio", "Reference", "RelatedArtifact", "SampledData", "Signature",
    "Timing", "TriggerDefinition", "UsageContext",
))
CHOICE_NAMES: frozenset[str] = frozenset((
    "abatement", "additive", "age", "allowed", "amount", "answer", "asNeeded", "author", "born",
    "bounds", "characteristic", "chargeItem", "code", "collected", "concentration", "content",
    "created", "date", "deceased", "defaultValue", "definition", "detail", "diagnosis", "dose",
    "doseNumber", "due", "duration", "effective", "entity", "event", "example", "fastingStatus",
    "fixed", "identified", "indication", "item", "legallyBinding", "location", "manufacturer",
    "maxValue", "medication", "minValue", "minimumVolume", "module", "multipleBirth", "name",
    "occurred", "occurrence", "offset", "onset", "participantEffective", "pattern", "performed",
    "period", "presentation", "probability", "procedure", "product", "quantity", "rate",
    "reported", "scheduled", "seriesDoses", "serviced", "source", "start", "statusReason",
    "strength", "studyEffective", "subject", "substance", "substanceDefinition", "target", "time",
    "timing", "topic", "used", "value", "when",
))
# fmt: on

CHOICE_SUFFIXES: dict[str, str] = {
    **{name[0].upper() + name[1:]: name for name in PRIMITIVE_TYPES},
    **{name: name for name in COMPLEX_TYPES},
}
"""JSON key suffix of a choice element -> FHIR type: `DateTime` -> `dateTime`."""

SUBTYPES: dict[str, frozenset[str]] = {
    "Quantity": frozenset({"Quantity", "Age", "Count", "Distance", "Duration", "SimpleQuantity"}),
}
"""Types that count as another in `ofType` / `is` (Age is a profile of Quantity)."""


def normal_type(name: str) -> str:
    """`DateTime` -> `dateTime` (R4 writes `value.ofType(DateTime)` once); others unchanged."""
    lowered = name[:1].lower() + name[1:]
    return lowered if lowered in PRIMITIVE_TYPES else name
