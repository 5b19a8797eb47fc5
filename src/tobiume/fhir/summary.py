"""`_summary` and `_elements` (https://hl7.org/fhir/R4/search.html#summary and #elements): a
search answers with parts of each resource, marked `SUBSETTED` in `meta.tag` so that nobody
mistakes the part for the whole.

Which top-level elements are "summary" and which are mandatory comes from the element flags of
the R4B models (`validation.element_flags`); a type whose R4 shape no R4B model describes keeps
only the elements every resource shares.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from functools import cache
from typing import Any

from tobiume.errors import BadRequest
from tobiume.fhir.validation import element_flags

SUBSETTED = {
    "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
    "code": "SUBSETTED",
    "display": "subsetted",
}
SUMMARY_MODES = ("true", "text", "data", "count", "false")
ALWAYS = frozenset({"resourceType", "id", "meta"})


@cache
def summary_elements(res_type: str) -> frozenset[str]:
    flags = element_flags(res_type)
    return ALWAYS | {name for name, flag in flags.items() if flag.get("summary_element_property")}


@cache
def mandatory_elements(res_type: str) -> frozenset[str]:
    flags = element_flags(res_type)
    return ALWAYS | {name for name, flag in flags.items() if flag.get("element_required")}


def summarize(resource: Mapping[str, Any], mode: str) -> dict[str, Any]:
    """The resource as `_summary=mode` shows it (`count` and `false` show it whole)."""
    res_type = str(resource.get("resourceType"))
    if mode == "true":
        return _subset(resource, summary_elements(res_type))
    if mode == "text":
        return _subset(resource, mandatory_elements(res_type) | {"text"})
    if mode == "data":
        return _subset(resource, frozenset(k for k in resource if k != "text"))
    return dict(resource)


def select_elements(resource: Mapping[str, Any], names: Collection[str]) -> dict[str, Any]:
    """The resource with only `names` (and its mandatory elements); a choice element is named
    without its type (`value` keeps `valueQuantity`)."""
    res_type = str(resource.get("resourceType"))
    keep = set(mandatory_elements(res_type)) | set(names)
    for key in resource:
        bare = key.lstrip("_")
        if any(bare.startswith(n) and bare[len(n) : len(n) + 1].isupper() for n in names):
            keep.add(key)
    return _subset(resource, frozenset(keep))


def parse_elements(raw: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in raw.split(",") if name.strip())
    if not names or not all(name.replace("_", "a").isalnum() for name in names):
        raise BadRequest(f"_elements={raw!r}: expected a comma-separated list of element names")
    return names


def _subset(resource: Mapping[str, Any], keep: frozenset[str]) -> dict[str, Any]:
    out = {k: v for k, v in resource.items() if k in keep or (k[:1] == "_" and k[1:] in keep)}
    meta = dict(out.get("meta") or {})
    meta["tag"] = [*meta.get("tag", []), SUBSETTED]
    out["meta"] = meta
    return out
