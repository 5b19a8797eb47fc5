"""patch with JSON Patch (https://hl7.org/fhir/R4/http.html#patch, RFC 6902).

The patched resource goes through the same validation and write path as an update; a patch may
not change `resourceType` or `id`. A patch whose `test` fails, or that points at a missing
element, is 422; a malformed patch document is 400.
"""

from __future__ import annotations

import copy
from typing import Any
from urllib.parse import urlencode

import jsonpatch
import orjson

from tobiume.auth.scopes import UPDATE
from tobiume.errors import BadRequest, Gone, NotFound, Unprocessable
from tobiume.interactions import write
from tobiume.interactions.conditional import single_match
from tobiume.interactions.context import Context, FhirResponse
from tobiume.interactions.update import check_version, store
from tobiume.storage.store import StoredResource


async def patch(
    ctx: Context, res_type: str, res_id: str, operations: Any, *, if_match: str | None = None
) -> FhirResponse:
    if not isinstance(operations, list) or not all(isinstance(op, dict) for op in operations):
        raise BadRequest("A JSON Patch body is an array of operation objects (RFC 6902)")

    async def attempt(current: StoredResource | None) -> FhirResponse | None:
        if current is None:
            raise NotFound(f"{res_type}/{res_id} is not known")
        if current.deleted or current.body is None:
            raise Gone(f"{res_type}/{res_id} was deleted")
        check_version(current, if_match)
        patched = _apply(operations, orjson.loads(current.body))
        if patched.get("resourceType") != res_type or patched.get("id") != res_id:
            raise Unprocessable("JSON Patch must not change resourceType or id")
        return await store(ctx, res_type, res_id, patched, current, method="PATCH")

    return await write.on_current(ctx, res_type, res_id, attempt, UPDATE)


def _apply(operations: list[dict[str, Any]], original: dict[str, Any]) -> dict[str, Any]:
    try:
        patched = jsonpatch.JsonPatch(operations).apply(copy.deepcopy(original))
    except jsonpatch.JsonPatchTestFailed as exc:
        raise Unprocessable(f"JSON Patch test failed: {exc}") from exc
    except (jsonpatch.JsonPatchConflict, jsonpatch.JsonPointerException) as exc:
        raise Unprocessable(f"JSON Patch cannot be applied: {exc}") from exc
    except jsonpatch.InvalidJsonPatch as exc:
        raise BadRequest(f"Invalid JSON Patch: {exc}") from exc
    if not isinstance(patched, dict):
        raise Unprocessable("JSON Patch must leave a resource object")
    return patched


async def conditional_patch(
    ctx: Context,
    res_type: str,
    criteria: list[tuple[str, str]],
    operations: Any,
    *,
    if_match: str | None = None,
) -> FhirResponse:
    match = await single_match(ctx, res_type, criteria)
    if match is None:
        raise NotFound(f"No {res_type} matches {urlencode(criteria)}")
    return await patch(ctx, res_type, match, operations, if_match=if_match)
