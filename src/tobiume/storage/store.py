"""Reading the resource store: current versions, single versions and history.

Implements the storage side of https://hl7.org/fhir/R4/http.html#read, #vread and #history
(`storage.writes` writes). All functions take the request's open connection and never commit:
the request is the transaction (STYLE.md, habit 6). Read by id and vread are `db.Prepared`
statements (asyncpg directly on PostgreSQL) whenever the access predicate admits everything;
otherwise the predicate is compiled into the statement.

Concurrency: nothing here locks. A writer reads the current version, and its write succeeds
only if that version is still current (`storage.writes.replace_resource`), so two writers of
one resource never both write the same version number.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, bindparam, func, literal, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement, True_

from tobiume.drivers import Prepared
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
    data_class: str | None = None
    owner_org: str | None = None


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
    resource.c.data_class,
    resource.c.owner_org,
)


def _current(row: Sequence[Any]) -> StoredResource:
    return StoredResource(
        row[0],
        row[1],
        row[2],
        row[3],
        utc(row[4]),
        row[5],
        row[6],
        patient_id=row[7],
        data_class=row[8],
        owner_org=row[9],
    )


def is_open(visible: ColumnElement[bool]) -> bool:
    """True when the access predicate admits every row (SQL TRUE): no need to compile it in."""
    return isinstance(visible, True_)


_BY_ID = select(*_CURRENT_COLUMNS).where(
    resource.c.res_type == bindparam("res_type"), resource.c.res_id == bindparam("res_id")
)
_READ_CURRENT = Prepared(_BY_ID)


async def read_current(
    conn: AsyncConnection,
    res_type: str,
    res_id: str,
    visible: ColumnElement[bool] | None = None,
) -> StoredResource | None:
    """The current version (possibly a tombstone), or None if it never existed or is hidden."""
    params = {"res_type": res_type, "res_id": res_id}
    row: Sequence[Any] | None
    if visible is None or is_open(visible):
        row = await _READ_CURRENT.first(conn, params)
    else:
        row = (await conn.execute(_BY_ID.where(visible), params)).first()
    return _current(row) if row is not None else None


_VERSION = (
    select(
        resource_version.c.res_pk,
        resource_version.c.res_type,
        resource_version.c.res_id,
        resource_version.c.version,
        resource_version.c.last_updated,
        resource_version.c.deleted,
        resource_version.c.body,
        resource_version.c.method,
    )
    .join(resource, resource.c.pk == resource_version.c.res_pk)
    .where(
        resource.c.res_type == bindparam("res_type"),
        resource.c.res_id == bindparam("res_id"),
        resource_version.c.version == bindparam("version"),
    )
)
_READ_VERSION = Prepared(_VERSION)


async def read_version(
    conn: AsyncConnection,
    res_type: str,
    res_id: str,
    version: int,
    visible: ColumnElement[bool] | None = None,
) -> StoredResource | None:
    """One historical version (https://hl7.org/fhir/R4/http.html#vread)."""
    params = {"res_type": res_type, "res_id": res_id, "version": version}
    row: Sequence[Any] | None
    if visible is None or is_open(visible):
        row = await _READ_VERSION.first(conn, params)
    else:
        row = (await conn.execute(_VERSION.where(visible), params)).first()
    if row is None:
        return None
    return StoredResource(row[0], row[1], row[2], row[3], utc(row[4]), row[5], row[6], row[7])


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


async def satisfies(conn: AsyncConnection, pk: int, predicate: ColumnElement[bool]) -> bool:
    """True when the resource with key `pk`, as this transaction sees it, meets `predicate` (an
    access predicate over `resource`: a write's scope is checked by the row it wrote)."""
    if is_open(predicate):
        return True
    stmt = select(resource.c.pk).where(resource.c.pk == pk, predicate)
    return (await conn.execute(stmt)).first() is not None


async def scalar(conn: AsyncConnection, predicate: ColumnElement[bool]) -> bool:
    """The truth of a predicate that needs no row (an `EXISTS`), on the request's transaction."""
    return bool((await conn.execute(select(predicate))).scalar())
