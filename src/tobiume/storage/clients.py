"""Registered clients, the client assertions they have used, and failed token requests: the
rows behind the token endpoint (`auth.grant`). `storage.tables` says why each table exists.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from tobiume.db import atomic
from tobiume.storage.store import utc
from tobiume.storage.tables import client, client_assertion, token_failure


@dataclass(frozen=True, slots=True)
class Client:
    """A system registered to ask for tokens (SMART Backend Services)."""

    client_id: str
    name: str
    organization: str
    """`Organization/ID`: the organisation the client acts for."""
    role: str
    scopes: str
    """The scopes it may be granted, space-separated; a token request asks for some of them."""
    jwks: dict[str, Any] | None
    """Its JWK Set, given at registration; or None, and then `jwks_url`."""
    jwks_url: str | None
    disabled: bool
    created: datetime


def _client(row: Sequence[Any]) -> Client:
    jwks = orjson.loads(row[5]) if row[5] is not None else None
    return Client(row[0], row[1], row[2], row[3], row[4], jwks, row[6], row[7], utc(row[8]))


_COLUMNS = (
    client.c.client_id,
    client.c.name,
    client.c.organization,
    client.c.role,
    client.c.scopes,
    client.c.jwks,
    client.c.jwks_url,
    client.c.disabled,
    client.c.created,
)


async def add_client(conn: AsyncConnection, new: Client) -> None:
    await atomic(conn)
    jwks = orjson.dumps(new.jwks).decode() if new.jwks is not None else None
    await conn.execute(
        insert(client).values(
            client_id=new.client_id,
            name=new.name,
            organization=new.organization,
            role=new.role,
            scopes=new.scopes,
            jwks=jwks,
            jwks_url=new.jwks_url,
            disabled=new.disabled,
            created=new.created,
        )
    )


async def find_client(conn: AsyncConnection, client_id: str) -> Client | None:
    row = (await conn.execute(select(*_COLUMNS).where(client.c.client_id == client_id))).first()
    return _client(row) if row is not None else None


async def all_clients(conn: AsyncConnection) -> list[Client]:
    rows = await conn.execute(select(*_COLUMNS).order_by(client.c.created, client.c.client_id))
    return [_client(row) for row in rows]


async def disable_client(conn: AsyncConnection, client_id: str) -> bool:
    """Refuse the client every new token (tokens already issued run out within their short
    lifetime). False when there is no such client."""
    await atomic(conn)
    done = await conn.execute(
        update(client).where(client.c.client_id == client_id).values(disabled=True)
    )
    return bool(done.rowcount)


async def first_use_of_assertion(
    conn: AsyncConnection, client_id: str, jti: str, expires_at: datetime, now: datetime
) -> bool:
    """Record an assertion's `jti`; False when the client has used it before. Assertions past
    their expiry are forgotten first: they are refused for being expired anyway."""
    await atomic(conn)
    await conn.execute(delete(client_assertion).where(client_assertion.c.expires_at < now))
    dialect_insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    statement = (
        dialect_insert(client_assertion)
        .values(client_id=client_id, jti=jti, expires_at=expires_at)
        .on_conflict_do_nothing()
        .returning(client_assertion.c.jti)
    )
    return (await conn.execute(statement)).first() is not None


async def record_failure(conn: AsyncConnection, subjects: Sequence[str], now: datetime) -> None:
    """One failed token request, counted against each of `subjects` (a client, an address)."""
    if not subjects:
        return
    await atomic(conn)
    await conn.execute(insert(token_failure), [{"subject": s, "failed_at": now} for s in subjects])


async def failures_since(conn: AsyncConnection, subject: str, since: datetime) -> int:
    """How many token requests of `subject` failed since `since`; older rows are deleted."""
    await atomic(conn)
    await conn.execute(
        delete(token_failure).where(
            token_failure.c.subject == subject, token_failure.c.failed_at < since
        )
    )
    counted = select(func.count()).where(
        token_failure.c.subject == subject, token_failure.c.failed_at >= since
    )
    return int((await conn.execute(counted)).scalar_one())
