"""The Alembic migrations, upgraded from an empty database, create exactly the tables and
indexes the code declares (`storage.tables`), on both dialects."""

from __future__ import annotations

from sqlalchemy import inspect

from tests.conftest import Backend
from tobiume.storage.migrate import upgrade
from tobiume.storage.tables import metadata


async def test_migrated_schema_matches_the_tables(backend: Backend) -> None:
    await upgrade(backend.database.engine)  # idempotent at head

    def describe(sync_conn: object) -> dict[str, tuple[set[str], set[str]]]:
        inspector = inspect(sync_conn)
        return {
            name: (
                {c["name"] for c in inspector.get_columns(name)},
                {str(i["name"]) for i in inspector.get_indexes(name)},
            )
            for name in inspector.get_table_names()
            if name != "alembic_version"
        }

    async with backend.database.engine.connect() as conn:
        actual = await conn.run_sync(describe)
    expected = {
        table.name: ({c.name for c in table.columns}, {str(i.name) for i in table.indexes})
        for table in metadata.sorted_tables
    }
    assert actual == expected
