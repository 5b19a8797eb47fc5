"""The registry of the SearchParameters this server knows: the official R4 ones
(https://hl7.org/fhir/R4/searchparameter-registry.html, https://hl7.org/fhir/R4/search.html) and
JP Core's own (https://jpfhir.jp/fhir/core/1.2.0-dev/toc.html, section 3.7 Search Parameter:
the kana-name sort `jp-kana-sort`, the insured person's symbol, number and sub-number on
Coverage, the dosage start on MedicationRequest, the insurance codes and prefecture of an
Organization).

Both are loaded once, the same way, from copied definitions (`fhir/data/search-parameters.json`,
`fhir/data/jp-core-search-parameters.json`; each file says where it comes from and its licence).
JP Core defines only what R4 lacks ("既にCommon Search Parameterに定義されている
パラメーターについては再度定義をしない"), so a definition that reuses a code its type
already has (its own, or one based on `Resource`/`DomainResource`) is a mistake in the data:
loading refuses it rather than let it silently replace the official parameter. A type's
parameters are its own plus those based on `Resource` (`_id`, `_lastUpdated`, `_tag`, ...,
https://hl7.org/fhir/R4/resource.html#search) and, for every type but Binary, Bundle and
Parameters, `DomainResource` (`_text`). One definition may serve many bases (`clinical-code` is
`code` on fifteen types) with one expression that unions a branch per type;
`fhirpath.compile(expression, resource_type)` keeps only that type's branches.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from types import MappingProxyType
from typing import Any

from tobiume.fhir.resource_types import (
    NOT_DOMAIN_RESOURCES,
    RESOURCE_TYPES,
    load_data,
)

SEARCH_PARAMETERS_FILE = "search-parameters.json"
JP_CORE_SEARCH_PARAMETERS_FILE = "jp-core-search-parameters.json"
DEFINITION_FILES = (SEARCH_PARAMETERS_FILE, JP_CORE_SEARCH_PARAMETERS_FILE)
"""The official R4 definitions first, then JP Core's."""


@dataclass(frozen=True, slots=True)
class SearchParam:
    """One SearchParameter definition (https://hl7.org/fhir/R4/searchparameter.html)."""

    code: str
    type: str
    base: tuple[str, ...]
    expression: str | None
    target: tuple[str, ...] = ()
    components: tuple[tuple[str, str], ...] = ()  # (definition url, expression)
    url: str = ""
    description: str = ""
    modifiers: tuple[str, ...] = ()
    comparators: tuple[str, ...] = ()
    multiple_or: bool | None = None
    multiple_and: bool | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SearchParam:
        return cls(
            code=data["code"],
            type=data["type"],
            base=tuple(data["base"]),
            expression=data.get("expression") or None,
            target=tuple(data.get("target") or ()),
            components=tuple(
                (part["definition"], part["expression"]) for part in data.get("component") or ()
            ),
            url=data.get("url", ""),
            description=data.get("description", ""),
            modifiers=tuple(data.get("modifier") or ()),
            comparators=tuple(data.get("comparator") or ()),
            multiple_or=data.get("multipleOr"),
            multiple_and=data.get("multipleAnd"),
        )


class Registry:
    """Every parameter by resource type and code; built once, read-only afterwards."""

    def __init__(self, params: list[SearchParam]) -> None:
        own: dict[str, dict[str, SearchParam]] = {}
        for param in params:
            for base in param.base:
                _refuse_clash(own.get(base, {}).get(param.code), param)
                own.setdefault(base, {})[param.code] = param
        resource = own.get("Resource", {})
        domain = own.get("DomainResource", {})
        for base, codes in own.items():
            if base not in ("Resource", "DomainResource"):
                for code, param in codes.items():
                    _refuse_clash(resource.get(code) or domain.get(code), param)
        self._by_url = {param.url: param for param in params if param.url}
        self._by_type: dict[str, Mapping[str, SearchParam]] = {}
        for res_type in sorted(RESOURCE_TYPES):
            merged = dict(resource)
            if res_type not in NOT_DOMAIN_RESOURCES:
                merged.update(domain)
            merged.update(own.get(res_type, {}))
            self._by_type[res_type] = MappingProxyType(merged)

    def for_type(self, resource_type: str) -> Mapping[str, SearchParam]:
        """The parameters a search on `resource_type` may use, by code (empty if unknown)."""
        return self._by_type.get(resource_type, MappingProxyType({}))

    def get(self, resource_type: str, code: str) -> SearchParam | None:
        return self.for_type(resource_type).get(code)

    def by_url(self, url: str) -> SearchParam | None:
        """A definition by canonical url (composite components name theirs this way)."""
        return self._by_url.get(url)

    def all_types(self) -> tuple[str, ...]:
        """Every resource type, sorted."""
        return tuple(self._by_type)


def _refuse_clash(existing: SearchParam | None, param: SearchParam) -> None:
    if existing is not None and existing is not param:
        raise ValueError(
            f"Search parameter code {param.code!r} of {param.url or 'a definition'} is already "
            f"{existing.url or 'defined'} on {', '.join(param.base)}"
        )


@cache
def registry() -> Registry:
    """The process-wide registry of the official R4 and JP Core definitions."""
    return Registry(
        [
            SearchParam.from_json(item)
            for name in DEFINITION_FILES
            for item in load_data(name)["parameters"]
        ]
    )
