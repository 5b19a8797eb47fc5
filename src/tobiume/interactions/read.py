"""read and vread (https://hl7.org/fhir/R4/http.html#read, #vread).

A resource the requester may not see is answered exactly as one that does not exist (404);
a deleted one is 410 with its last version's ETag.
"""

from __future__ import annotations

from tobiume.errors import Gone, NotFound
from tobiume.interactions.context import Context, FhirResponse
from tobiume.storage.store import StoredResource, read_current, read_version


async def current_or_error(ctx: Context, res_type: str, res_id: str) -> StoredResource:
    """The live current version, or the 404/410 the specification asks for."""
    stored = await read_current(ctx.conn, res_type, res_id, ctx.access.visible())
    if stored is None:
        raise NotFound(f"{res_type}/{res_id} is not known")
    if stored.deleted:
        raise Gone(f"{res_type}/{res_id} was deleted")
    return stored


async def read(ctx: Context, res_type: str, res_id: str) -> FhirResponse:
    stored = await current_or_error(ctx, res_type, res_id)
    return FhirResponse(200, stored.body, stored.version, stored.last_updated)


async def vread(ctx: Context, res_type: str, res_id: str, version_id: str) -> FhirResponse:
    if not version_id.isdigit():
        raise NotFound(f"{res_type}/{res_id} has no version {version_id!r}")
    stored = await read_version(ctx.conn, res_type, res_id, int(version_id), ctx.access.visible())
    if stored is None:
        raise NotFound(f"{res_type}/{res_id} has no version {version_id}")
    if stored.deleted:
        raise Gone(f"Version {version_id} of {res_type}/{res_id} records its deletion")
    return FhirResponse(200, stored.body, stored.version, stored.last_updated)
