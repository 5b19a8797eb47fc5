"""The one write path every create, update, patch, delete and Bundle entry goes through.

It validates (https://hl7.org/fhir/R4/validation.html), sets `id` and `meta.versionId` /
`meta.lastUpdated` (https://hl7.org/fhir/R4/resource.html#Meta), stores the JSON the client sent
with only those changed, extracts the index rows, finds the Patient compartment owner
(https://hl7.org/fhir/R4/compartmentdefinition-patient.html) and writes resource, version and
index rows on the request's connection, so they commit together or not at all.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tobiume.errors import BadRequest
from tobiume.fhir.compartment import patient_owner
from tobiume.fhir.json import dumps
from tobiume.fhir.validation import validate
from tobiume.indexing.extract import extract
from tobiume.indexing.sync import delete_rows, insert_rows, replace_rows
from tobiume.interactions.context import Context, instant, now_ms
from tobiume.storage.store import NewVersion, StoredResource, insert_resource, replace_resource


def check_type(resource: Any, res_type: str) -> dict[str, Any]:
    """The body must be a resource of the type named by the URL."""
    if not isinstance(resource, dict):
        raise BadRequest("The body must be a JSON object holding a FHIR resource")
    if resource.get("resourceType") != res_type:
        raise BadRequest(
            f"resourceType {resource.get('resourceType')!r} does not match the URL's {res_type!r}",
            expression=("resourceType",),
        )
    return resource


def _stamp(resource: dict[str, Any], res_id: str, version: int, updated: str) -> dict[str, Any]:
    meta = dict(resource.get("meta") or {})
    meta["versionId"] = str(version)
    meta["lastUpdated"] = updated
    return {**resource, "id": res_id, "meta": meta}


async def create(
    ctx: Context, res_type: str, res_id: str, resource: dict[str, Any], method: str = "POST"
) -> StoredResource:
    """Store version 1 of a new resource."""
    validate(resource)
    updated = now_ms()
    stamped = _stamp(resource, res_id, 1, instant(updated))
    rows = extract(stamped)
    patient_id = patient_owner(stamped, rows.references)
    body = dumps(stamped)
    new = NewVersion(res_type, res_id, 1, updated, body, patient_id, method)
    pk = await insert_resource(ctx.conn, new)
    await insert_rows(ctx.conn, pk, res_type, patient_id, rows)
    return StoredResource(pk, res_type, res_id, 1, updated, False, body, method, patient_id)


async def update(
    ctx: Context, current: StoredResource, resource: dict[str, Any], method: str = "PUT"
) -> StoredResource:
    """Store the next version of a resource whose current row the caller has locked."""
    validate(resource)
    version = current.version + 1
    updated = _after(current)
    stamped = _stamp(resource, current.res_id, version, instant(updated))
    rows = extract(stamped)
    patient_id = patient_owner(stamped, rows.references)
    body = dumps(stamped)
    new = NewVersion(current.res_type, current.res_id, version, updated, body, patient_id, method)
    await replace_resource(ctx.conn, current.pk, new)
    if current.deleted:
        await insert_rows(ctx.conn, current.pk, current.res_type, patient_id, rows)
    else:
        await replace_rows(ctx.conn, current.pk, current.res_type, patient_id, rows)
    return StoredResource(
        current.pk,
        current.res_type,
        current.res_id,
        version,
        updated,
        False,
        body,
        method,
        patient_id,
    )


async def tombstone(ctx: Context, current: StoredResource) -> StoredResource:
    """Delete: a new version that records the deletion (https://hl7.org/fhir/R4/http.html#delete)."""
    version = current.version + 1
    updated = _after(current)
    new = NewVersion(
        current.res_type,
        current.res_id,
        version,
        updated,
        None,
        current.patient_id,
        "DELETE",
        deleted=True,
    )
    await replace_resource(ctx.conn, current.pk, new)
    await delete_rows(ctx.conn, current.pk)
    return StoredResource(
        current.pk,
        current.res_type,
        current.res_id,
        version,
        updated,
        True,
        None,
        "DELETE",
        current.patient_id,
    )


def _after(current: StoredResource) -> Any:
    """Now, but never before the version it follows, so history order matches version order."""
    now = now_ms()
    floor = current.last_updated + timedelta(milliseconds=1)
    return now if now >= floor else floor
