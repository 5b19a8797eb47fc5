"""The Alembic migrations, upgraded from an empty database, create exactly the tables, columns,
indexes and unique constraints the code declares (`storage.tables`), on both dialects."""

from __future__ import annotations

from sqlalchemy import UniqueConstraint, inspect

from tests.conftest import Backend
from tobiume.storage.migrate import upgrade
from tobiume.storage.tables import metadata

Shape = tuple[set[str], set[str], set[str]]


async def test_migrated_schema_matches_the_tables(backend: Backend) -> None:
    await upgrade(backend.database.url)  # idempotent at head

    def describe(sync_conn: object) -> dict[str, Shape]:
        inspector = inspect(sync_conn)
        shapes: dict[str, Shape] = {}
        for name in inspector.get_table_names():
            if name == "alembic_version":
                continue
            # PostgreSQL reports the index behind a unique constraint as an index too.
            indexes = {
                str(i["name"])
                for i in inspector.get_indexes(name)
                if not i.get("duplicates_constraint")
            }
            uniques = {str(u["name"]) for u in inspector.get_unique_constraints(name)}
            shapes[name] = ({c["name"] for c in inspector.get_columns(name)}, indexes, uniques)
        return shapes

    async with backend.database.engine.connect() as conn:
        actual = await conn.run_sync(describe)
    expected = {
        table.name: (
            {c.name for c in table.columns},
            {str(i.name) for i in table.indexes},
            {str(c.name) for c in table.constraints if isinstance(c, UniqueConstraint)},
        )
        for table in metadata.sorted_tables
    }
    assert actual == expected
