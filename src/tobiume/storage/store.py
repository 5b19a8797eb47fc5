"""The resource store: current versions, the version chain, tombstones and history.

Implements the storage side of https://hl7.org/fhir/R4/http.html: read, vread, create, update,
delete (a versioned tombstone) and history. All functions take the request's open connection
and never commit: the request is the transaction (STYLE.md, habit 6).

Concurrency: an update first locks the current row (`SELECT ... FOR UPDATE` on PostgreSQL; the
single SQLite writer is already exclusive), so two writers of one resource serialise and every
version number is used exactly once; `If-Match` is then checked against the locked row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row, and_, func, insert, literal, or_, select, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from tobiume.errors import Conflict
from tobiume.storage.tables import resource, resource_version


@dataclass(frozen=True, slots=True)
class StoredResource:
    """One version of a resource as stored; `body` is the JSON text returned to clients."""

    pk: int
    res_type: str
    res_id: str
    version: int
    last_updated: datetime
    deleted: bool
    body: str | None
    method: str = "PUT"
    patient_id: str | None = None


@dataclass(frozen=True, slots=True)
class NewVersion:
    """What a write stores: the body already carries `meta.versionId` and `meta.lastUpdated`."""

    res_type: str
    res_id: str
    version: int
    last_updated: datetime
    body: str | None
    patient_id: str | None
    method: str
    deleted: bool = False


def utc(value: datetime) -> datetime:
    """SQLite returns naive datetimes; every stored time is UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


_CURRENT_COLUMNS = (
    resource.c.pk,
    resource.c.res_type,
    resource.c.res_id,
    resource.c.version,
    resource.c.last_updated,
    resource.c.deleted,
    resource.c.body,
    resource.c.patient_id,
)


def _current(row: Row[Any, Any, Any, Any, Any, Any, Any, Any]) -> StoredResource:
    return StoredResource(
        row[0], row[1], row[2], row[3], utc(row[4]), row[5], row[6], patient_id=row[7]
    )


async def read_current(
    conn: AsyncConnection,
    res_type: str,
    res_id: str,
    visible: ColumnElement[bool] | None = None,
    *,
    for_update: bool = False,
) -> StoredResource | None:
    """The current version (possibly a tombstone), or None if it never existed or is hidden."""
    stmt = select(*_CURRENT_COLUMNS).where(
        resource.c.res_type == res_type, resource.c.res_id == res_id
    )
    if visible is not None:
        stmt = stmt.where(visible)
    if for_update:
        stmt = stmt.with_for_update()
    row = (await conn.execute(stmt)).first()
    return _current(row) if row is not None else None


async def read_version(
    conn: AsyncConnection,
    res_type: str,
    res_id: str,
    version: int,
    visible: ColumnElement[bool] | None = None,
) -> StoredResource | None:
    """One historical version (https://hl7.org/fhir/R4/http.html#vread)."""
    rv = resource_version
    stmt = (
        select(
            rv.c.res_pk,
            rv.c.res_type,
            rv.c.res_id,
            rv.c.version,
            rv.c.last_updated,
            rv.c.deleted,
            rv.c.body,
            rv.c.method,
        )
        .join(resource, resource.c.pk == rv.c.res_pk)
        .where(
            resource.c.res_type == res_type, resource.c.res_id == res_id, rv.c.version == version
        )
    )
    if visible is not None:
        stmt = stmt.where(visible)
    row = (await conn.execute(stmt)).first()
    if row is None:
        return None
    return StoredResource(row[0], row[1], row[2], row[3], utc(row[4]), row[5], row[6], row[7])


async def insert_resource(conn: AsyncConnection, new: NewVersion) -> int:
    """Store the first version of a new resource; returns its surrogate key.

    A concurrent create of the same type and id loses on the unique constraint and is answered
    409, never as a second version 1.
    """
    try:
        pk = (
            await conn.execute(
                insert(resource)
                .values(
                    res_type=new.res_type,
                    res_id=new.res_id,
                    version=new.version,
                    last_updated=new.last_updated,
                    deleted=new.deleted,
                    body=new.body,
                    patient_id=new.patient_id,
                )
                .returning(resource.c.pk)
            )
        ).scalar_one()
    except IntegrityError as exc:
        raise Conflict(f"{new.res_type}/{new.res_id} was created concurrently; retry") from exc
    await _insert_version(conn, pk, new)
    return int(pk)


async def replace_resource(conn: AsyncConnection, pk: int, new: NewVersion) -> None:
    """Make `new` the current version of the (locked) resource `pk` and append it to history."""
    await conn.execute(
        update(resource)
        .where(resource.c.pk == pk)
        .values(
            version=new.version,
            last_updated=new.last_updated,
            deleted=new.deleted,
            body=new.body,
            patient_id=new.patient_id,
        )
    )
    await _insert_version(conn, pk, new)


async def _insert_version(conn: AsyncConnection, pk: int, new: NewVersion) -> None:
    await conn.execute(
        insert(resource_version).values(
            res_pk=pk,
            version=new.version,
            res_type=new.res_type,
            res_id=new.res_id,
            last_updated=new.last_updated,
            method=new.method,
            deleted=new.deleted,
            body=new.body,
            patient_id=new.patient_id,
        )
    )


@dataclass(frozen=True, slots=True)
class HistoryCursor:
    """Where the previous page of a history ended: newest first, ties broken by key."""

    last_updated: datetime
    pk: int
    version: int


async def history(
    conn: AsyncConnection,
    *,
    res_type: str | None,
    res_id: str | None,
    since: datetime | None,
    at: datetime | None,
    before: HistoryCursor | None,
    count: int,
    visible: ColumnElement[bool] | None = None,
) -> Sequence[StoredResource]:
    """Versions newest first (https://hl7.org/fhir/R4/http.html#history), at most `count`.

    Paging is keyset-based: `before` is the last entry of the previous page, so pages stay
    correct while other clients write.
    """
    rv = resource_version
    stmt = select(
        rv.c.res_pk,
        rv.c.res_type,
        rv.c.res_id,
        rv.c.version,
        rv.c.last_updated,
        rv.c.deleted,
        rv.c.body,
        rv.c.method,
    )
    if res_type is not None and res_id is not None:
        stmt = stmt.join(resource, resource.c.pk == rv.c.res_pk).where(
            resource.c.res_type == res_type, resource.c.res_id == res_id
        )
    else:
        stmt = stmt.join(resource, resource.c.pk == rv.c.res_pk)
        if res_type is not None:
            stmt = stmt.where(rv.c.res_type == res_type)
    if visible is not None:
        stmt = stmt.where(visible)
    if since is not None:
        stmt = stmt.where(rv.c.last_updated >= since)
    if at is not None:
        stmt = stmt.where(rv.c.last_updated <= at)
    if before is not None:
        stmt = stmt.where(
            or_(
                rv.c.last_updated < before.last_updated,
                and_(
                    rv.c.last_updated == before.last_updated,
                    tuple_(rv.c.res_pk, rv.c.version)
                    < tuple_(literal(before.pk), literal(before.version)),
                ),
            )
        )
    stmt = stmt.order_by(rv.c.last_updated.desc(), rv.c.res_pk.desc(), rv.c.version.desc())
    rows = (await conn.execute(stmt.limit(count))).all()
    return [StoredResource(r[0], r[1], r[2], r[3], utc(r[4]), r[5], r[6], r[7]) for r in rows]


async def count_current(conn: AsyncConnection, res_type: str) -> int:
    """How many live resources of a type exist (used by tests and the CLI)."""
    stmt = select(func.count()).where(resource.c.res_type == res_type, ~resource.c.deleted)
    return int((await conn.execute(stmt)).scalar_one())
