"""The one write path every create, update, patch, delete and Bundle entry goes through.

It validates (https://hl7.org/fhir/R4/validation.html), sets `id` and `meta.versionId` /
`meta.lastUpdated` (https://hl7.org/fhir/R4/resource.html#Meta), stores the JSON the client sent
with only those changed, extracts the index rows, finds the Patient compartment owner
(https://hl7.org/fhir/R4/compartmentdefinition-patient.html) and writes resource, version and
index rows on the request's connection, so they commit together or not at all.

A token's scopes may reach only some resources of a type (a `patient/` scope, a constraint such
as `Observation.cu?category=laboratory`: `access.scoped`). Then the resource a write changes
must be within reach before it (update, patch, delete), and the version it writes after it
(create, update, patch), checked in SQL by key inside the write's transaction, so a write that
would leave the token's reach is refused with 403 and leaves nothing behind. A token whose
scopes reach every resource of the type pays for none of this.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

import orjson

from tobiume.access import materialise
from tobiume.access.classes import CLINICAL, data_class
from tobiume.access.consent_rules import is_registration
from tobiume.access.gates import registered
from tobiume.auth.scopes import CREATE, UPDATE
from tobiume.db import atomic
from tobiume.errors import BadRequest, Conflict, Forbidden, Unprocessable
from tobiume.fhir.compartment import patient_owner
from tobiume.fhir.json import dumps
from tobiume.fhir.validation import validate
from tobiume.indexing.extract import extract
from tobiume.indexing.values import table_values
from tobiume.interactions.context import Context, instant, now_ms
from tobiume.storage.store import StoredResource, is_open, read_current, satisfies, scalar
from tobiume.storage.writes import IndexValues, NewVersion, insert_resource, replace_resource

T = TypeVar("T")

MAX_ATTEMPTS = 50
"""Races one write may lose before it gives up with 409 (twenty writers of one resource at once
lose at most nineteen)."""


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


def is_unchanged(current: StoredResource, resource: dict[str, Any]) -> bool:
    """True when `resource` equals the live `current` version apart from the meta elements the
    server sets (versionId, lastUpdated)."""
    if current.deleted or current.body is None:
        return False
    stored = orjson.loads(current.body)
    return _comparable(stored) == _comparable(resource)


def _comparable(resource: dict[str, Any]) -> dict[str, Any]:
    meta = {
        k: v
        for k, v in (resource.get("meta") or {}).items()
        if k not in ("versionId", "lastUpdated")
    }
    rest = {k: v for k, v in resource.items() if k != "meta"}
    return {**rest, "meta": meta} if meta else rest


def _stamp(resource: dict[str, Any], res_id: str, version: int, updated: str) -> dict[str, Any]:
    meta = dict(resource.get("meta") or {})
    meta["versionId"] = str(version)
    meta["lastUpdated"] = updated
    return {**resource, "id": res_id, "meta": meta}


async def create(
    ctx: Context, res_type: str, res_id: str, resource: dict[str, Any], method: str = "POST"
) -> StoredResource:
    """Store version 1 of a new resource (by POST a create, by PUT an update-as-create)."""
    new, index = new_version(
        res_type, res_id, 1, now_ms(), resource, method, owner_org=_contributor(ctx)
    )
    permission = CREATE if method == "POST" else UPDATE
    guarded = await _guard(ctx, permission, res_type)
    await _check_registered(ctx, new)
    pk = await insert_resource(ctx.conn, new, index)
    await _materialise(ctx, pk, new, fresh=True)
    stored = _stored(pk, new)
    if guarded:
        await _within_reach(ctx, permission, stored, "as written")
    return stored


def _contributor(ctx: Context) -> str | None:
    """The organisation a new resource is recorded as contributed by: the requester's (a
    citizen's own writes and the server's own work record none)."""
    principal = ctx.principal
    if principal is None or principal.role == "citizen":
        return None
    return principal.organization


async def _check_registered(ctx: Context, new: NewVersion, pk: int | None = None) -> None:
    """Clinical data only for registered citizens (DESIGN.md, "Access": "Writes: only for
    registered citizens"): a citizen with no active registration Consent gets none, 422. And
    one registration per citizen: another active one is refused, 422 (`access.gates`)."""
    if new.patient_id is None or not ctx.access.requires_registration():
        return
    if new.res_type == "Consent" and new.body is not None:
        if is_registration(orjson.loads(new.body)) and await scalar(
            ctx.conn, registered(new.patient_id, besides=pk)
        ):
            raise Unprocessable(
                f"Patient/{new.patient_id} is already registered: change their registration "
                "Consent instead of adding another"
            )
        return
    if new.data_class not in CLINICAL:
        return
    if not await scalar(ctx.conn, registered(new.patient_id)):
        raise Unprocessable(
            f"Patient/{new.patient_id} is not registered in the network (no active "
            "registration Consent): their records cannot be shared here yet"
        )


async def _materialise(ctx: Context, pk: int, new: NewVersion, *, fresh: bool) -> None:
    if new.res_type in materialise.DERIVING_TYPES:
        body = orjson.loads(new.body) if new.body is not None else None
        await materialise.rewrite(ctx.conn, pk, new.res_type, body, new.patient_id, fresh=fresh)


async def _guard(ctx: Context, permission: str, res_type: str) -> bool:
    """True when writes of `res_type` with `permission` are checked row by row; then the
    transaction is begun now, so that a refusal after the write takes the write back."""
    if is_open(ctx.access.writable(permission, res_type)):
        return False
    await atomic(ctx.conn)
    return True


async def _within_reach(ctx: Context, permission: str, stored: StoredResource, when: str) -> None:
    predicate = ctx.access.writable(permission, stored.res_type)
    if not await satisfies(ctx.conn, stored.pk, predicate):
        verb = {"c": "create", "u": "update", "d": "delete"}[permission]
        raise Forbidden(
            f"{stored.res_type}/{stored.res_id} {when} is outside what the requester may "
            f"{verb}: the access token's scopes, the role's policy, or the resource was "
            "contributed by another organisation"
        )


def new_version(
    res_type: str,
    res_id: str,
    version: int,
    updated: datetime,
    resource: dict[str, Any],
    method: str,
    raw: bytes | None = None,
    *,
    owner_org: str | None = None,
) -> tuple[NewVersion, IndexValues]:
    """Validate `resource` (parsed from `raw`, if given) and make it version `version`: the
    stamped body, its Patient compartment owner, its data class and its index rows. Pure
    computation, no database (`bulk` runs it in worker processes)."""
    validate(resource, raw)
    stamped = _stamp(resource, res_id, version, instant(updated))
    rows = extract(stamped)
    patient_id = patient_owner(stamped, rows.references)
    body = dumps(stamped)
    new = NewVersion(
        res_type,
        res_id,
        version,
        updated,
        body,
        patient_id,
        method,
        data_class=data_class(stamped),
        owner_org=owner_org,
    )
    return new, table_values(rows)


async def on_current(
    ctx: Context,
    res_type: str,
    res_id: str,
    attempt: Callable[[StoredResource | None], Awaitable[T | None]],
    permission: str,
) -> T:
    """Run `attempt` on the current version until it does not lose a race.

    An attempt reads nothing itself: it gets the current version (None if there is none, a
    tombstone if deleted) and returns its result, or None when a concurrent writer changed the
    resource first (`update` and `tombstone` say so); then the current version is read again.
    Precondition checks (`If-Match`) inside the attempt thus always see the newest version.
    A live current version must be within the reach of the token's `permission` (u or d).
    """
    guarded = await _guard(ctx, permission, res_type)
    known = ctx.access.known()
    for _ in range(MAX_ATTEMPTS):
        current = await read_current(ctx.conn, res_type, res_id)
        if current is not None and not current.deleted:
            if not is_open(known) and not await satisfies(ctx.conn, current.pk, known):
                current = None  # hidden from the requester: answered as a missing one is
            elif guarded:
                await _within_reach(ctx, permission, current, "as stored")
        result = await attempt(current)
        if result is not None:
            return result
    raise Conflict(f"{res_type}/{res_id} is being changed by many writers at once; retry")


async def update(
    ctx: Context, current: StoredResource, resource: dict[str, Any], method: str = "PUT"
) -> StoredResource | None:
    """Store the next version after `current`; None if `current` is no longer current."""
    version = current.version + 1
    new, index = new_version(
        current.res_type,
        current.res_id,
        version,
        _after(current),
        resource,
        method,
        owner_org=current.owner_org,
    )
    guarded = await _guard(ctx, UPDATE, current.res_type)
    await _check_registered(ctx, new, current.pk)
    if not await replace_resource(ctx.conn, current.pk, current.version, new, index):
        return None
    await _materialise(ctx, current.pk, new, fresh=False)
    stored = _stored(current.pk, new)
    if guarded:
        await _within_reach(ctx, UPDATE, stored, "as written")
    return stored


async def tombstone(ctx: Context, current: StoredResource) -> StoredResource | None:
    """Delete: a new version that records the deletion (https://hl7.org/fhir/R4/http.html#delete);
    None if `current` is no longer current."""
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
        data_class=current.data_class,
        owner_org=current.owner_org,
    )
    if not await replace_resource(ctx.conn, current.pk, current.version, new, {}):
        return None
    await _materialise(ctx, current.pk, new, fresh=False)
    return _stored(current.pk, new)


def _stored(pk: int, new: NewVersion) -> StoredResource:
    return StoredResource(
        pk,
        new.res_type,
        new.res_id,
        new.version,
        new.last_updated,
        new.deleted,
        new.body,
        new.method,
        new.patient_id,
        new.data_class,
        new.owner_org,
    )


def _after(current: StoredResource) -> Any:
    """Now, but never before the version it follows, so history order matches version order."""
    now = now_ms()
    floor = current.last_updated + timedelta(milliseconds=1)
    return now if now >= floor else floor
