"""The Synthea transactions in ../shared/synthea load through the REST API: the hospital and
practitioner batches first (conditional creates by identifier), then the patient transactions,
whose conditional references (`Organization?identifier=...`) resolve to the batches' resources.
Loading the batches twice creates nothing new: over REST every conditional create finds its
resource; through `tobiume import` (which stores Synthea's id-carrying POSTs as update-as-create)
no resource and no version is added.

PostgreSQL loads every other patient transaction and SQLite every fourth, from the other half
(the same code path each time; together they load three quarters of them). All 123 took
PostgreSQL seven and a half minutes of the suite's fifteen on the 2-core CI machine.
"""

from __future__ import annotations

import bz2
import json
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from tests.conftest import SHARED, Backend
from tests.helpers import FHIR_JSON, row_counts
from tobiume.importer import import_paths
from tobiume.storage.tables import resource

SYNTHEA = SHARED / "synthea"
BATCHES = sorted(SYNTHEA.glob("0-*.json.bz2"))
PATIENTS = sorted(p for p in SYNTHEA.glob("*.json.bz2") if not p.name.startswith("0-"))


def _load(path: Path) -> dict[str, Any]:
    with bz2.open(path) as handle:
        value: dict[str, Any] = json.loads(handle.read())
    return value


async def _count(backend: Backend) -> int:
    async with backend.database.engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(resource))).scalar_one())


async def _post(client: httpx.AsyncClient, bundle: dict[str, Any], name: str) -> dict[str, Any]:
    response = await client.post("", json=bundle, headers=FHIR_JSON, timeout=600)
    assert response.status_code == 200, f"{name}: {response.text[:500]}"
    result: dict[str, Any] = response.json()
    bad = [e["response"] for e in result["entry"] if not e["response"]["status"].startswith("2")]
    assert not bad, f"{name}: {bad[:3]}"
    return result


async def test_synthea_loads_over_rest_and_references_resolve(
    client: httpx.AsyncClient, backend: Backend
) -> None:
    assert len(BATCHES) == 2
    assert len(PATIENTS) >= 120
    for path in BATCHES:
        await _post(client, _load(path), path.name)
    after_batches = await _count(backend)
    assert after_batches == sum(len(_load(p)["entry"]) for p in BATCHES)

    # Every conditional create of the batches finds its first-time resource on a second load.
    for path in BATCHES:
        bundle = _load(path)
        bundle["entry"] = [e for e in bundle["entry"] if e["request"].get("ifNoneExist")]
        again = await _post(client, bundle, path.name)
        assert {e["response"]["status"] for e in again["entry"]} == {"200 OK"}
    assert await _count(backend) == after_batches

    chosen = PATIENTS[1::2] if backend.name == "postgresql" else PATIENTS[::4]
    expected = after_batches
    for path in chosen:
        bundle = _load(path)
        result = await _post(client, bundle, path.name)
        assert len(result["entry"]) == len(bundle["entry"])
        expected += len(bundle["entry"])
    assert await _count(backend) == expected

    encounters = (await client.get("Encounter", params={"_count": "5"})).json()
    assert len(encounters["entry"]) == 5
    for entry in encounters["entry"]:
        provider = entry["resource"]["serviceProvider"]["reference"]
        assert provider.startswith("Organization/")
        assert "?" not in provider
        assert (await client.get(provider)).status_code == 200
        subject = entry["resource"]["subject"]["reference"]
        assert (await client.get(subject)).status_code == 200


async def test_importing_the_batches_twice_creates_nothing_new(backend: Backend) -> None:
    """`tobiume import` of the batches and some patients, twice: the second run stores the same
    resources again, creating no resource and no version."""
    files = [*BATCHES, *PATIENTS[:3]]
    first = await import_paths(backend.settings, files, show=False)
    assert first.failures == []
    assert first.resources == sum(len(_load(p)["entry"]) for p in files)
    counts = await row_counts(backend.database)
    second = await import_paths(backend.settings, files, show=False)
    assert second.failures == []
    assert await row_counts(backend.database) == counts
