"""The synthetic Kitakyushu loads into the server and reads back unchanged, on SQLite and
PostgreSQL.

`tobiume demo generate` writes files that `tobiume import` must load without a single failure
(otherwise the demo, the benchmarks and every load test start from a partial city), and what is
stored must be exactly what was generated: a read of every resource answers the generated body,
with only `meta.versionId` and `meta.lastUpdated` added. The import is idempotent (a second run
stores no version), the Bundle format loads as well as NDJSON, `tobiume demo load --if-empty`
leaves a non-empty database alone, and the worker-process path (`--jobs`, more than one batch of
`importer.BATCH` lines in a file) stores the same bodies as the in-process one.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import httpx
import orjson
from sqlalchemy import text

from tests.conftest import Backend
from tests.helpers import row_counts
from tobiume.cli import main
from tobiume.demo.generate import AS_OF, city
from tobiume.demo.output import write_ndjson
from tobiume.importer import BATCH, import_city, import_paths

Resource = dict[str, Any]


def _generate_ndjson(out: Path, citizens: int) -> list[Resource]:
    resources = list(city(citizens, 1, AS_OF))
    counts = write_ndjson(resources, out)
    assert sum(counts.values()) == len(resources)
    return resources


def _without_version(resource: Resource) -> Resource:
    """`resource` without the two elements the server sets on every write."""
    body = copy.deepcopy(resource)
    meta = body.get("meta")
    if isinstance(meta, dict):
        meta.pop("versionId", None)
        meta.pop("lastUpdated", None)
        if not meta:
            del body["meta"]
    return body


async def _assert_reads_back(client: httpx.AsyncClient, resources: list[Resource]) -> None:
    for resource in resources:
        location = f"{resource['resourceType']}/{resource['id']}"
        response = await client.get(location)
        assert response.status_code == 200, f"{location}: {response.text[:300]}"
        body = response.json()
        assert body["meta"]["versionId"] == "1", location
        assert "lastUpdated" in body["meta"], location
        assert _without_version(body) == resource, location


async def test_an_ndjson_city_loads_and_reads_back_unchanged(
    client: httpx.AsyncClient, backend: Backend, tmp_path: Path
) -> None:
    resources = _generate_ndjson(tmp_path / "city", 15)
    report = await import_paths(backend.settings, [tmp_path / "city"], show=False, jobs=1)
    assert report.failures == []
    assert report.resources == len(resources)
    assert report.files == len({r["resourceType"] for r in resources})
    await _assert_reads_back(client, resources)
    if backend.name == "postgresql":  # the import's rows of count changes, folded: one a type
        async with backend.database.engine.connect() as conn:
            rows = (await conn.execute(text(_COUNT_ROWS))).all()
        assert dict(rows) == {t: 1 for t in {r["resourceType"] for r in resources}}


_COUNT_ROWS = "SELECT res_type, count(*) FROM resource_count GROUP BY res_type"


async def test_importing_the_same_city_again_stores_no_new_version(
    backend: Backend, tmp_path: Path
) -> None:
    resources = _generate_ndjson(tmp_path / "city", 10)
    first = await import_paths(backend.settings, [tmp_path / "city"], show=False, jobs=1)
    assert first.failures == []
    counts = await row_counts(backend.database)
    assert counts["resource_version"] == len(resources)
    second = await import_paths(backend.settings, [tmp_path / "city"], show=False, jobs=1)
    assert second.failures == []
    after = await row_counts(backend.database)
    assert after["resource_version"] == counts["resource_version"]
    assert after["resource"] == counts["resource"]


async def test_the_bundle_format_loads(
    client: httpx.AsyncClient, backend: Backend, tmp_path: Path
) -> None:
    out = tmp_path / "bundles"
    argv = ["demo", "generate", "--citizens", "5", "--seed", "1", "--out", str(out)]
    assert main([*argv, "--format", "bundles"]) == 0
    files = sorted(out.glob("*.json"))
    assert [f.name for f in files][:2] == ["0-directory.json", "citizen-000001.json"]
    assert len(files) == 6
    expected = sum(len(orjson.loads(f.read_bytes())["entry"]) for f in files)

    report = await import_paths(backend.settings, [out], show=False, jobs=1)
    assert report.failures == []
    assert report.resources == expected
    assert report.files == 6

    patients = [r for r in city(5, 1, AS_OF) if r["resourceType"] == "Patient"]
    assert len(patients) == 5
    await _assert_reads_back(client, patients)
    found = (await client.get("Patient", params={"_summary": "count"})).json()
    assert found["total"] == 5


async def test_import_city_if_empty_loads_only_into_an_empty_database(backend: Backend) -> None:
    report = await import_city(backend.settings, 5, 1, AS_OF, if_empty=True, jobs=1)
    assert report is not None
    assert report.failures == []
    assert report.resources == len(list(city(5, 1, AS_OF)))
    counts = await row_counts(backend.database)

    again = await import_city(backend.settings, 5, 1, AS_OF, if_empty=True, jobs=1)
    assert again is None
    assert await row_counts(backend.database) == counts


async def test_worker_processes_store_the_same_bodies(
    client: httpx.AsyncClient, backend: Backend, tmp_path: Path
) -> None:
    resources = _generate_ndjson(tmp_path / "city", 40)
    observations = [r for r in resources if r["resourceType"] == "Observation"]
    assert len(observations) > 2 * BATCH, "Observation.ndjson must span several batches"

    report = await import_paths(backend.settings, [tmp_path / "city"], show=False, jobs=2)
    assert report.failures == []
    assert report.resources == len(resources)
    counts = await row_counts(backend.database)
    assert counts["resource"] == len(resources)

    # Every 11th resource, and Observations from every batch (those after the first went
    # through a worker process).
    sample = resources[::11] + observations[BATCH - 3 :: 37]
    await _assert_reads_back(client, sample)
