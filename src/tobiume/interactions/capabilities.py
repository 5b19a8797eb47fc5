"""The CapabilityStatement (https://hl7.org/fhir/R4/capabilitystatement.html), generated from
what the server really does: the resource types it stores, the interactions the router
implements, and the search parameters `search.params.can_search` compiles (composites only
when every component can be searched), each with the canonical URL of its definition
(`searchParam.definition`), official R4 or JP Core's, so a client can tell `jp-kana-sort` is
JP Core's `JP_Patient_KanaSort_SP`.
`rest.security` says how to get an access token (SMART on FHIR, `auth.discovery`).
`api.openapi` derives the OpenAPI document from the same statement.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from tobiume import __version__
from tobiume.auth.discovery import rest_security
from tobiume.fhir.resource_types import RESOURCE_TYPES
from tobiume.fhir.searchparams import registry
from tobiume.search.params import can_search

TYPE_INTERACTIONS = (
    "read",
    "vread",
    "update",
    "patch",
    "delete",
    "history-instance",
    "history-type",
    "create",
    "search-type",
)
SYSTEM_INTERACTIONS = ("transaction", "batch", "history-system", "search-system")
EVERYTHING = {
    "name": "everything",
    "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything",
    "documentation": "What the requester may see of one citizen (_since, _type, _count); "
    "see docs/access.md",
}
_DOCS = {
    "_id": "The logical id of the resource",
    "_lastUpdated": "When the resource version last changed",
}


def searchable(res_type: str) -> list[tuple[str, str, str, str]]:
    """(code, type, documentation, definition url) of every parameter this server can search
    on `res_type`."""
    defined = registry().for_type(res_type)
    params = [
        (code, kind, _DOCS[code], defined[code].url)
        for code, kind in (("_id", "token"), ("_lastUpdated", "date"))
    ]
    for code, param in sorted(defined.items()):
        if can_search(param) and code not in ("_id", "_lastUpdated"):
            params.append((code, param.type, param.description or "", param.url))
    return params


@cache
def capability_statement(base_url: str) -> dict[str, Any]:
    resources = [
        {
            "type": res_type,
            "interaction": [{"code": code} for code in TYPE_INTERACTIONS],
            **({"operation": [EVERYTHING]} if res_type == "Patient" else {}),
            "versioning": "versioned",
            "readHistory": True,
            "updateCreate": True,
            "conditionalCreate": True,
            "conditionalRead": "not-supported",
            "conditionalUpdate": True,
            "conditionalDelete": "single",
            "searchParam": [
                {"name": code, "definition": url, "type": kind, "documentation": doc}
                for code, kind, doc, url in searchable(res_type)
            ],
        }
        for res_type in sorted(RESOURCE_TYPES)
    ]
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-11-22",
        "kind": "instance",
        "software": {"name": "Tobiume FHIR server", "version": __version__},
        "implementation": {"description": "Tobiume health-information exchange", "url": base_url},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "patchFormat": ["application/json-patch+json"],
        "rest": [
            {
                "mode": "server",
                "security": rest_security(base_url),
                "resource": resources,
                "interaction": [{"code": code} for code in SYSTEM_INTERACTIONS],
            }
        ],
    }
