"""A transaction that fails at COMMIT is never answered as a success.

Both databases check deferred constraints at commit. On PostgreSQL a deferred constraint trigger
refuses one resource; on SQLite a trigger inserts, for that resource, a row whose deferred
foreign key points nowhere. Either way every statement succeeds and the commit itself fails.
The answer must be an error, and nothing may be stored.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import text

from tests.conftest import Backend
from tests.helpers import FHIR_JSON, patient, row_counts

_CREATE = [
    """CREATE OR REPLACE FUNCTION tobiume_test_refuse() RETURNS trigger AS $$
       BEGIN
         IF NEW.res_id = 'refused-at-commit' THEN RAISE EXCEPTION 'refused at commit'; END IF;
         RETURN NEW;
       END $$ LANGUAGE plpgsql""",
    """CREATE CONSTRAINT TRIGGER tobiume_test_refuse AFTER INSERT ON resource
       DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION tobiume_test_refuse()""",
]
_DROP = [
    "DROP TRIGGER IF EXISTS tobiume_test_refuse ON resource",
    "DROP FUNCTION IF EXISTS tobiume_test_refuse()",
]
_SQLITE_CREATE = [
    "CREATE TABLE tobiume_test_parent (id INTEGER PRIMARY KEY)",
    """CREATE TABLE tobiume_test_orphan (parent INTEGER
       REFERENCES tobiume_test_parent (id) DEFERRABLE INITIALLY DEFERRED)""",
    """CREATE TRIGGER tobiume_test_refuse AFTER INSERT ON resource
       WHEN NEW.res_id = 'refused-at-commit'
       BEGIN INSERT INTO tobiume_test_orphan VALUES (1); END""",
]
_SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS tobiume_test_refuse",
    "DROP TABLE IF EXISTS tobiume_test_orphan",
    "DROP TABLE IF EXISTS tobiume_test_parent",
]


@pytest.fixture
async def refusing_commit(backend: Backend) -> AsyncIterator[None]:
    create, drop = (
        (_CREATE, _DROP) if backend.name == "postgresql" else (_SQLITE_CREATE, _SQLITE_DROP)
    )
    async with backend.database.engine.begin() as conn:
        for statement in create:
            await conn.execute(text(statement))
    yield
    async with backend.database.engine.begin() as conn:
        for statement in drop:
            await conn.execute(text(statement))


async def test_failure_at_commit_is_an_error(
    client: httpx.AsyncClient, backend: Backend, refusing_commit: None
) -> None:
    before = await row_counts(backend.database)
    response = await client.put(
        "Patient/refused-at-commit",
        json={**patient(), "id": "refused-at-commit"},
        headers=FHIR_JSON,
    )
    assert response.status_code >= 400
    assert response.json()["resourceType"] == "OperationOutcome"
    assert await row_counts(backend.database) == before
    tx = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": patient(mrn="ok"), "request": {"method": "POST", "url": "Patient"}},
            {
                "resource": {**patient(), "id": "refused-at-commit"},
                "request": {"method": "PUT", "url": "Patient/refused-at-commit"},
            },
        ],
    }
    response = await client.post("", json=tx, headers=FHIR_JSON)
    assert response.status_code >= 400
    assert await row_counts(backend.database) == before
