"""The R4 resource types (https://hl7.org/fhir/R4/resourcelist.html), and the type a literal
reference names (https://hl7.org/fhir/R4/references.html#literal).

The official Patient CompartmentDefinition (https://hl7.org/fhir/R4/compartmentdefinition-patient.html)
lists every resource type of the release, in or out of the compartment, so it doubles as the list of
types: one copied file instead of two, and the two can never disagree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any

import orjson

COMPARTMENT_FILE = "compartmentdefinition-patient.json"


@cache
def load_data(name: str) -> Any:
    """A JSON file from the package's `fhir/data` folder, parsed once."""
    return orjson.loads((files("tobiume.fhir") / "data" / name).read_bytes())


def _types() -> frozenset[str]:
    return frozenset(entry["code"] for entry in load_data(COMPARTMENT_FILE)["resource"])


RESOURCE_TYPES: frozenset[str] = _types()

# Abstract bases that a FHIRPath expression or a SearchParameter may name instead of a concrete
# type (https://hl7.org/fhir/R4/resource.html, https://hl7.org/fhir/R4/domainresource.html).
ABSTRACT_TYPES: frozenset[str] = frozenset({"Resource", "DomainResource"})

# The concrete types that derive from Resource directly, not from DomainResource: they have no
# narrative, contained resources or extensions (https://hl7.org/fhir/R4/resource.html#6.1.0.1).
NOT_DOMAIN_RESOURCES: frozenset[str] = frozenset({"Binary", "Bundle", "Parameters"})


def is_resource_type(name: str) -> bool:
    """True for a concrete R4 resource type name (case-sensitive, as in URLs and JSON)."""
    return name in RESOURCE_TYPES


# A literal reference (https://hl7.org/fhir/R4/references.html#literal): `Type/id`, optionally a
# version, optionally under an http(s) base. Anything else (urn:, canonical, `#contained`,
# conditional) names no type.
_REFERENCE = re.compile(
    r"(?P<base>https?://[^?#]*?/)?(?P<type>[A-Z][A-Za-z]{1,63})/(?P<id>[A-Za-z0-9\-.]{1,64})"
    r"(?:/_history/[A-Za-z0-9\-.]{1,64})?"
)


@dataclass(frozen=True, slots=True)
class ReferenceTarget:
    """The type and id a literal reference names, and whether it was absolute."""

    res_type: str
    res_id: str
    absolute: bool


def reference_target(reference: str) -> ReferenceTarget | None:
    """`Patient/1`, `Patient/1/_history/2`, `https://x/fhir/Patient/1` -> Patient, 1; else None."""
    match = _REFERENCE.fullmatch(reference)
    if match is None or match["type"] not in RESOURCE_TYPES:
        return None
    return ReferenceTarget(match["type"], match["id"], match["base"] is not None)
