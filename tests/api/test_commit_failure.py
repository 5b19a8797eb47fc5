"""A transaction that fails at COMMIT is never answered as a success.

PostgreSQL checks deferred constraints at commit; a deferred constraint trigger that refuses one
resource makes the commit itself fail after every statement succeeded. The answer must be an
error, and nothing may be stored.
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


@pytest.fixture
async def refusing_commit(backend: Backend) -> AsyncIterator[None]:
    if backend.name != "postgresql":
        pytest.skip("deferred constraint triggers are PostgreSQL's")
    async with backend.database.engine.begin() as conn:
        for statement in _CREATE:
            await conn.execute(text(statement))
    yield
    async with backend.database.engine.begin() as conn:
        for statement in _DROP:
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
