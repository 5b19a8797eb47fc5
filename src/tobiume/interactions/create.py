"""create and conditional create (https://hl7.org/fhir/R4/http.html#create, #ccreate).

The server assigns the id; an id in the body is ignored, as the specification says. With
`If-None-Exist`, one match answers 200 with the existing resource and writes nothing, several
matches answer 412.
"""

from __future__ import annotations

import uuid
from typing import Any

from tobiume.errors import PreconditionFailed
from tobiume.interactions import write
from tobiume.interactions.conditional import criteria_pairs, matching_ids
from tobiume.interactions.context import Context, FhirResponse
from tobiume.interactions.read import current_or_error


def new_id() -> str:
    return str(uuid.uuid4())


async def create(
    ctx: Context,
    res_type: str,
    body: Any,
    *,
    if_none_exist: str | None = None,
    assigned_id: str | None = None,
) -> FhirResponse:
    resource = write.check_type(body, res_type)
    if if_none_exist:
        ids = await matching_ids(ctx, res_type, criteria_pairs(if_none_exist))
        if len(ids) > 1:
            raise PreconditionFailed(
                f"If-None-Exist criteria match more than one {res_type}: {if_none_exist}"
            )
        if ids:
            existing = await current_or_error(ctx, res_type, ids[0])
            return FhirResponse(
                200,
                existing.body,
                existing.version,
                existing.last_updated,
                location=_location(ctx, res_type, existing.res_id, existing.version),
            )
    res_id = assigned_id or new_id()
    stored = await write.create(ctx, res_type, res_id, resource)
    return FhirResponse(
        201,
        stored.body,
        stored.version,
        stored.last_updated,
        location=_location(ctx, res_type, res_id, stored.version),
    )


def _location(ctx: Context, res_type: str, res_id: str, version: int) -> str:
    return f"{ctx.base_url}/{res_type}/{res_id}/_history/{version}"
