"""delete and conditional delete (https://hl7.org/fhir/R4/http.html#delete, #cdelete).

Deleting writes a tombstone version and drops the index rows; later reads answer 410 and history
keeps every version. Deleting a missing or already deleted resource succeeds with nothing to do,
as the specification allows (delete is idempotent). Conditional delete is single-match: several
matches answer 412.
"""

from __future__ import annotations

from tobiume.auth.scopes import DELETE
from tobiume.interactions import write
from tobiume.interactions.conditional import single_match
from tobiume.interactions.context import Context, FhirResponse
from tobiume.interactions.update import check_version
from tobiume.storage.store import StoredResource


async def delete(
    ctx: Context, res_type: str, res_id: str, *, if_match: str | None = None
) -> FhirResponse:

    async def attempt(current: StoredResource | None) -> FhirResponse | None:
        check_version(current, if_match)
        if current is None or current.deleted:
            return FhirResponse(204)
        stored = await write.tombstone(ctx, current)
        return (
            None if stored is None else FhirResponse(204, None, stored.version, stored.last_updated)
        )

    return await write.on_current(ctx, res_type, res_id, attempt, DELETE)


async def conditional_delete(
    ctx: Context, res_type: str, criteria: list[tuple[str, str]]
) -> FhirResponse:
    match = await single_match(ctx, res_type, criteria)
    if match is None:
        return FhirResponse(204)
    return await delete(ctx, res_type, match)
