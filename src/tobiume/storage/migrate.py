"""Schema upgrades through Alembic (`alembic/` beside `alembic.ini`).

`tobiume migrate` and the SQLite auto-migration at start-up both run `upgrade`. It opens an
engine of its own for the one connection it needs: the request engine of `db.Database` runs
PostgreSQL connections in AUTOCOMMIT, and a migration must be one transaction, so that a failed
one leaves the schema as it was (PostgreSQL's DDL is transactional).
"""

from __future__ import annotations

import os
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool


def alembic_ini() -> Path:
    """`TOBIUME_ALEMBIC_INI`, else `alembic.ini` in the working directory, else the checkout's."""
    configured = os.environ.get("TOBIUME_ALEMBIC_INI")
    if configured:
        return Path(configured)
    here = Path.cwd() / "alembic.ini"
    if here.exists():
        return here
    return Path(__file__).resolve().parents[3] / "alembic.ini"


def _upgrade(connection: Connection, revision: str = "head") -> None:
    config = Config(str(alembic_ini()))
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


async def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at `url` to the newest schema (or to `revision`); a no-op when it is
    already there."""
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_upgrade, revision)
    finally:
        await engine.dispose()
