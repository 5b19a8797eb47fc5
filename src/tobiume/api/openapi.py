"""The OpenAPI 3.1 document of the FHIR API, generated from the CapabilityStatement (the same
registry of types, interactions and search parameters), one path per type and interaction.
`openapi/openapi.json` in the repository is this document; a test fails when it is stale
(`make openapi` rewrites it). Every operation needs a bearer token but the CapabilityStatement
(`security`, https://spec.openapis.org/oas/v3.1.0#security-requirement-object)."""

from __future__ import annotations

from functools import cache
from typing import Any

from tobiume import __version__
from tobiume.interactions.capabilities import capability_statement

_RESOURCE = {"$ref": "#/components/schemas/Resource"}
_OK = {"description": "OK", "content": {"application/fhir+json": {"schema": _RESOURCE}}}
_ERR = {"$ref": "#/components/responses/OperationOutcome"}
_BODY = {"required": True, "content": {"application/fhir+json": {"schema": _RESOURCE}}}
_ID = {"$ref": "#/components/parameters/id"}
_VID = {"$ref": "#/components/parameters/vid"}


def _op(
    summary: str,
    op_id: str,
    *,
    body: dict[str, Any] | None = None,
    params: list[dict[str, Any]] | None = None,
    tag: str,
) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        "operationId": op_id,
        "tags": [tag],
        "responses": {"200": _OK, "4XX": _ERR},
    }
    if body is not None:
        op["requestBody"] = body
    if params:
        op["parameters"] = params
    return op


@cache
def openapi_document() -> dict[str, Any]:
    statement = capability_statement("/fhir")
    paths: dict[str, Any] = {
        "/fhir/metadata": {
            "get": {**_op("CapabilityStatement", "capabilities", tag="System"), "security": []}
        },
        "/fhir": {
            "post": _op("batch or transaction Bundle", "transaction", body=_BODY, tag="System")
        },
        "/fhir/_history": {"get": _op("history of every resource", "history-system", tag="System")},
    }
    for res in statement["rest"][0]["resource"]:
        t = res["type"]
        search_params = [
            {
                "name": p["name"],
                "in": "query",
                "required": False,
                "description": f"{p['type']}: {p['documentation']}"[:300],
                "schema": {"type": "string"},
            }
            for p in res["searchParam"]
        ]
        paths[f"/fhir/{t}"] = {
            "get": _op(f"search {t}", f"search-{t}", params=search_params, tag=t),
            "post": _op(f"create {t}", f"create-{t}", body=_BODY, tag=t),
        }
        paths[f"/fhir/{t}/_search"] = {"post": _op(f"search {t} (form)", f"search-post-{t}", tag=t)}
        paths[f"/fhir/{t}/_history"] = {"get": _op(f"history of {t}", f"history-type-{t}", tag=t)}
        paths[f"/fhir/{t}/{{id}}"] = {
            "get": _op(f"read {t}", f"read-{t}", params=[_ID], tag=t),
            "put": _op(f"update {t}", f"update-{t}", body=_BODY, params=[_ID], tag=t),
            "patch": _op(
                f"patch {t} (JSON Patch)",
                f"patch-{t}",
                params=[_ID],
                tag=t,
                body={
                    "required": True,
                    "content": {"application/json-patch+json": {"schema": {"type": "array"}}},
                },
            ),
            "delete": _op(f"delete {t}", f"delete-{t}", params=[_ID], tag=t),
        }
        paths[f"/fhir/{t}/{{id}}/_history"] = {
            "get": _op(f"history of one {t}", f"history-instance-{t}", params=[_ID], tag=t)
        }
        paths[f"/fhir/{t}/{{id}}/_history/{{vid}}"] = {
            "get": _op(f"vread {t}", f"vread-{t}", params=[_ID, _VID], tag=t)
        }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Tobiume FHIR R4 API",
            "version": __version__,
            "description": "FHIR R4 (4.0.1) REST API, JSON only. Generated from the "
            "server's CapabilityStatement.",
        },
        "paths": paths,
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "A SMART access token (README: Access tokens and scopes)",
                }
            },
            "schemas": {
                "Resource": {
                    "type": "object",
                    "required": ["resourceType"],
                    "properties": {"resourceType": {"type": "string"}},
                }
            },
            "parameters": {
                "id": {
                    "name": "id",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string", "pattern": "^[A-Za-z0-9\\-.]{1,64}$"},
                },
                "vid": {
                    "name": "vid",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string"},
                },
            },
            "responses": {
                "OperationOutcome": {
                    "description": "An OperationOutcome saying what went wrong",
                    "content": {"application/fhir+json": {"schema": _RESOURCE}},
                }
            },
        },
    }


if __name__ == "__main__":
    import json
    import sys

    json.dump(openapi_document(), sys.stdout, indent=1, ensure_ascii=False)
    sys.stdout.write("\n")
