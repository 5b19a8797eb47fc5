"""Structural validation of a resource before it is stored
(https://hl7.org/fhir/R4/validation.html, levels "structure" and "cardinality").

`fhir.resources` ships R4B models, not R4 ones (DESIGN.md, "Standards on the wire"). For almost
every R4 type the two releases agree, and the R4B model checks element names, data types,
cardinality, primitive formats (dates, ids, decimals) and choice types. Where they do not agree,
R4 wins:

* 18 R4 types have no R4B model at all (the R4 MedicinalProduct* family, the Substance*
  information types and the two EvidenceSynthesis types, replaced in R4B), and
* `Evidence` and `EvidenceVariable` were rewritten in R4B, so an R4 instance fails the R4B model.

For those types the elements every resource shares (https://hl7.org/fhir/R4/resource.html and
https://hl7.org/fhir/R4/domainresource.html: id, meta, language, text, contained, extension,
modifierExtension) are validated with the R4B base models, and the type's own elements are
checked only by the JSON rules below; this is said in the docstring of `R4_ONLY` and in the
README. Every resource, whatever its type, also obeys the JSON format's own rules
(https://hl7.org/fhir/R4/json.html): no empty objects, arrays or strings, no `null` outside a
primitive array, which no model checks.

A failure is one `InvalidResource` (400, issue code `structure`) with one issue per problem,
each naming the element as a FHIRPath expression such as `Patient.name[0].family`, so a client
can find what to fix. Nothing is stored on a failure: validation runs before any row is written.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from pydantic import BaseModel, ValidationError

from tobiume.errors import InvalidResource, Issue
from tobiume.fhir.resource_types import NOT_DOMAIN_RESOURCES, RESOURCE_TYPES

MAX_ISSUES = 20
"""A resource with hundreds of faults is answered with the first twenty, not a megabyte."""

R4_ONLY: frozenset[str] = frozenset(
    {
        "EffectEvidenceSynthesis",
        "Evidence",
        "EvidenceVariable",
        "MedicinalProduct",
        "MedicinalProductAuthorization",
        "MedicinalProductContraindication",
        "MedicinalProductIndication",
        "MedicinalProductIngredient",
        "MedicinalProductInteraction",
        "MedicinalProductManufactured",
        "MedicinalProductPackaged",
        "MedicinalProductPharmaceutical",
        "MedicinalProductUndesirableEffect",
        "RiskEvidenceSynthesis",
        "SubstanceNucleicAcid",
        "SubstancePolymer",
        "SubstanceProtein",
        "SubstanceReferenceInformation",
        "SubstanceSourceMaterial",
        "SubstanceSpecification",
    }
)
"""Types whose R4 structure no R4B model describes: only their shared elements are checked."""

_SHARED_ELEMENTS = (
    "id",
    "meta",
    "implicitRules",
    "_implicitRules",
    "language",
    "_language",
    "text",
    "contained",
    "extension",
    "modifierExtension",
)


def validate(resource: Mapping[str, Any], raw: bytes | None = None) -> None:
    """Raise `InvalidResource` unless `resource` is a structurally valid R4 resource.

    `raw`, when given, is the JSON text `resource` was parsed from, unchanged: the model then
    validates the text (pydantic's JSON mode, a third faster than validating the parsed
    objects, with the same verdicts and error locations on every official example)."""
    res_type = resource.get("resourceType")
    if not isinstance(res_type, str) or res_type not in RESOURCE_TYPES:
        raise InvalidResource(f"Unknown resourceType {res_type!r}", expression=("resourceType",))
    issues = [] if _obeys_json_rules(resource) else _json_rule_issues(resource, res_type)
    if not issues:
        issues = _model_issues(resource, res_type, raw)
    if issues:
        shown = issues[:MAX_ISSUES]
        more = len(issues) - len(shown)
        summary = f"{res_type} is not valid: {shown[0].diagnostics}"
        if len(issues) > 1:
            summary += f" (and {len(issues) - 1} more)"
        if more:
            shown.append(Issue(f"{more} more issues not shown", "structure", "information"))
        raise InvalidResource(summary, issues=tuple(shown))


def _model_issues(
    resource: Mapping[str, Any], res_type: str, raw: bytes | None = None
) -> list[Issue]:
    if res_type in R4_ONLY:
        model = _base_model(res_type)
        subject: Mapping[str, Any] = {
            "resourceType": _base_name(res_type),
            **{k: v for k, v in resource.items() if k in _SHARED_ELEMENTS},
        }
    else:
        model = _model(res_type)
        subject = resource
    try:
        if raw is not None and subject is resource:
            model.model_validate_json(raw)
        else:
            model.model_validate(subject)
    except ValidationError as exc:
        return [_issue(res_type, error) for error in exc.errors(include_url=False)]
    except (ValueError, TypeError) as exc:  # a validator that raises outside pydantic's protocol
        return [Issue(f"{res_type}: {exc}", "structure", expression=(res_type,))]
    return []


def _issue(res_type: str, error: Any) -> Issue:
    path = fhirpath(res_type, error.get("loc", ()))
    message = str(error.get("msg", "invalid"))
    message = message.removeprefix("Value error, ")
    return Issue(f"{path}: {message}", "structure", expression=(path,))


def fhirpath(res_type: str, loc: tuple[Any, ...]) -> str:
    """A pydantic error location as FHIRPath: ('name', 0, 'family') -> Patient.name[0].family.

    pydantic puts validator and union-member names into locations (`function-after[...]`,
    model class names); those are not elements and are left out.
    """
    path = res_type
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif isinstance(part, str) and part and (part[0].islower() or part[0] == "_"):
            if "[" in part or "(" in part:
                continue
            path += f".{part}"
    return path


def _json_rule_issues(resource: Mapping[str, Any], res_type: str) -> list[Issue]:
    """https://hl7.org/fhir/R4/json.html: objects, arrays and strings are never empty, and
    `null` appears only inside an array of primitives, to keep it aligned with its `_` twin."""
    issues: list[Issue] = []
    stack: list[tuple[Any, str, bool]] = [(resource, res_type, False)]
    while stack and len(issues) <= MAX_ISSUES:
        node, path, in_primitive_array = stack.pop()
        if isinstance(node, dict):
            if not node:
                issues.append(_json_issue(path, "an object must not be empty"))
            for key, value in node.items():
                child = f"{path}.{key}"
                if isinstance(value, list):
                    primitive = not any(isinstance(item, dict) for item in value) or key[:1] == "_"
                    if not value:
                        issues.append(_json_issue(child, "an array must not be empty"))
                    for index, item in enumerate(value):
                        stack.append((item, f"{child}[{index}]", primitive))
                else:
                    stack.append((value, child, False))
        elif node is None and not in_primitive_array:
            issues.append(_json_issue(path, "null is only allowed inside an array"))
        elif node == "":
            issues.append(_json_issue(path, "a string value must not be empty"))
    return issues


def _obeys_json_rules(resource: Mapping[str, Any]) -> bool:
    """The rules of `_json_rule_issues`, checked without building paths: a valid resource (the
    usual case) costs a third of the walk that names each fault."""
    stack: list[Mapping[str, Any]] = [resource]
    while stack:
        node = stack.pop()
        if not node:
            return False
        for key, value in node.items():
            if type(value) is list:
                if not value:
                    return False
                primitive = key[:1] == "_" or not any(type(item) is dict for item in value)
                for item in value:
                    if type(item) is dict:
                        stack.append(item)
                    elif (item is None and not primitive) or item == "":
                        return False
            elif type(value) is dict:
                stack.append(value)
            elif value is None or value == "":
                return False
    return True


def _json_issue(path: str, message: str) -> Issue:
    return Issue(f"{path}: {message}", "structure", expression=(path,))


@cache
def element_flags(res_type: str) -> dict[str, dict[str, Any]]:
    """Top-level element (JSON name) -> the R4B model's flags for it (`summary_element_property`,
    `element_required`: a required primitive, or a required complex element), for a type no R4B
    model describes those of the base resource."""
    model = _base_model(res_type) if res_type in R4_ONLY else _model(res_type)
    flags: dict[str, dict[str, Any]] = {}
    for name, field in model.model_fields.items():
        flag = dict(field.json_schema_extra or {})  # type: ignore[arg-type]
        if field.is_required():  # a required complex element (Observation.code)
            flag["element_required"] = True
        flags[field.alias or name] = flag
    return flags


@cache
def _model(res_type: str) -> type[BaseModel]:
    """The R4B model class of a type, imported on first use (importing all 146 costs seconds)."""
    from fhir.resources.R4B import get_fhir_model_class

    model: type[BaseModel] = get_fhir_model_class(res_type)
    return model


def _base_name(res_type: str) -> str:
    return "Resource" if res_type in NOT_DOMAIN_RESOURCES else "DomainResource"


def _base_model(res_type: str) -> type[BaseModel]:
    return _model(_base_name(res_type))
