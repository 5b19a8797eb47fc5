"""Schema upgrades through Alembic (`alembic/` beside `alembic.ini`).

`tobiume migrate` and the SQLite auto-migration at start-up both run `upgrade`; it works on an
open async engine by handing Alembic the synchronous face of one connection.
"""

from __future__ import annotations

import os
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine


def alembic_ini() -> Path:
    """`TOBIUME_ALEMBIC_INI`, else `alembic.ini` in the working directory, else the checkout's."""
    configured = os.environ.get("TOBIUME_ALEMBIC_INI")
    if configured:
        return Path(configured)
    here = Path.cwd() / "alembic.ini"
    if here.exists():
        return here
    return Path(__file__).resolve().parents[3] / "alembic.ini"


def _upgrade(connection: Connection) -> None:
    config = Config(str(alembic_ini()))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


async def upgrade(engine: AsyncEngine) -> None:
    """Bring the database to the newest schema; a no-op when it is already there."""
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade)
