"""update, update-as-create and conditional update
(https://hl7.org/fhir/R4/http.html#update, #cond-update, and version-aware updates, #concurrency).

`If-Match` is compared with the current version, and the write succeeds only if that version is
still current when it lands (`write.on_current`), so of two updates that name the same version
exactly one succeeds and the other gets 412.
"""

from __future__ import annotations

from typing import Any

from tobiume.auth.scopes import UPDATE
from tobiume.errors import BadRequest, PreconditionFailed
from tobiume.fhir.references import is_valid_id
from tobiume.interactions import write
from tobiume.interactions.conditional import single_match
from tobiume.interactions.context import Context, FhirResponse
from tobiume.interactions.create import new_id
from tobiume.storage.store import StoredResource


def parse_etag(value: str) -> int:
    """`W/"3"` (or `"3"`, or `3`) -> 3; anything else is a 400."""
    text = value.strip()
    if text.startswith("W/"):
        text = text[2:]
    text = text.strip('"')
    if not text.isdigit():
        raise BadRequest(f'If-Match must be a version ETag like W/"1", not {value!r}')
    return int(text)


def check_version(current: StoredResource | None, if_match: str | None) -> None:
    if if_match is None:
        return
    expected = parse_etag(if_match)
    if current is None or current.deleted or current.version != expected:
        have = "none" if current is None or current.deleted else f'W/"{current.version}"'
        raise PreconditionFailed(f"If-Match {if_match} does not name the current version ({have})")


async def update(
    ctx: Context, res_type: str, res_id: str, body: Any, *, if_match: str | None = None
) -> FhirResponse:
    resource = write.check_type(body, res_type)
    if not is_valid_id(res_id):
        raise BadRequest(f"{res_id!r} is not a valid resource id", expression=("id",))
    if resource.get("id") != res_id:
        raise BadRequest(
            f"The resource's id {resource.get('id')!r} must equal the id in the URL {res_id!r}",
            expression=(f"{res_type}.id",),
        )

    async def attempt(current: StoredResource | None) -> FhirResponse | None:
        check_version(current, if_match)
        return await store(ctx, res_type, res_id, resource, current)

    return await write.on_current(ctx, res_type, res_id, attempt, UPDATE)


async def store(
    ctx: Context,
    res_type: str,
    res_id: str,
    resource: dict[str, Any],
    current: StoredResource | None,
    method: str = "PUT",
) -> FhirResponse | None:
    """Write `resource` as the next version of `current`, or as a new resource; None if a
    concurrent writer changed the resource after `current` was read.

    An update that changes nothing but `meta.versionId` / `meta.lastUpdated` writes no new
    version and answers with the current one (as HAPI FHIR and Medplum do), so re-sending or
    re-importing the same data leaves history as it was.
    """
    if current is not None and write.is_unchanged(current, resource):
        return FhirResponse(
            200,
            current.body,
            current.version,
            current.last_updated,
            location=f"{ctx.base_url}/{res_type}/{res_id}/_history/{current.version}",
        )
    stored: StoredResource | None
    if current is None:
        stored = await write.create(ctx, res_type, res_id, resource, method)
        status = 201
    else:
        stored = await write.update(ctx, current, resource, method)
        status = 201 if current.deleted else 200
    if stored is None:
        return None
    return FhirResponse(
        status,
        stored.body,
        stored.version,
        stored.last_updated,
        location=f"{ctx.base_url}/{res_type}/{res_id}/_history/{stored.version}",
    )


async def conditional_update(
    ctx: Context,
    res_type: str,
    criteria: list[tuple[str, str]],
    body: Any,
    *,
    if_match: str | None = None,
) -> FhirResponse:
    resource = write.check_type(body, res_type)
    match = await single_match(ctx, res_type, criteria)
    body_id = resource.get("id")
    if match is not None:
        if body_id is not None and body_id != match:
            raise BadRequest(
                f"The resource's id {body_id!r} differs from the matching {res_type}/{match}"
            )
        return await update(ctx, res_type, match, {**resource, "id": match}, if_match=if_match)
    res_id = body_id if isinstance(body_id, str) else new_id()
    return await update(ctx, res_type, res_id, {**resource, "id": res_id}, if_match=if_match)
