"""`tobiume import` of NDJSON (`interactions.bulk`, `storage.bulk`): a new resource is stored in
the batch statement exactly as a REST create would store it (body, version 1, history, index
rows); everything else (an id already stored, the same id twice, no id) takes the REST path;
a bad line fails alone, named by its file and line. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select, text

from tests.conftest import Backend
from tests.helpers import (
    FHIR_JSON,
    expected_index_rows,
    observation,
    patient,
    row_counts,
    stored_index_rows,
)
from tobiume.importer import import_paths
from tobiume.storage.tables import resource_version


def _ndjson(path: Path, *lines: Any) -> Path:
    path.write_text(
        "".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines)
    )
    return path


async def _versions(backend: Backend, res_type: str, res_id: str) -> list[int]:
    async with backend.database.engine.connect() as conn:
        rows = await conn.execute(
            select(resource_version.c.version)
            .where(resource_version.c.res_type == res_type, resource_version.c.res_id == res_id)
            .order_by(resource_version.c.version)
        )
        return [row[0] for row in rows]


async def test_a_new_resource_is_stored_as_a_rest_create_would_store_it(
    client: httpx.AsyncClient, backend: Backend, tmp_path: Path
) -> None:
    subject = {**patient(mrn="B-1"), "id": "bulk-p1"}
    lab = {**observation("Patient/bulk-p1"), "id": "bulk-o1"}
    report = await import_paths(
        backend.settings, [_ndjson(tmp_path / "a.ndjson", subject, lab)], show=False, jobs=1
    )
    assert report.failures == []
    assert report.resources == 2
    for body in (subject, lab):
        read = await client.get(f"{body['resourceType']}/{body['id']}")
        assert read.status_code == 200
        stored = read.json()
        assert stored["meta"]["versionId"] == "1"
        assert {k: v for k, v in stored.items() if k != "meta"} == body
        expected = expected_index_rows(stored, "bulk-p1")
        assert expected, "the resource has index rows to compare"
        rows = await stored_index_rows(backend.database, body["resourceType"], body["id"])
        assert rows == expected
        assert await _versions(backend, body["resourceType"], body["id"]) == [1]
    found = await client.get("Observation", params={"code": "3D046000001920402"})
    assert [e["resource"]["id"] for e in found.json()["entry"]] == ["bulk-o1"]


async def test_stored_ids_repeats_and_lines_without_id_take_the_rest_path(
    client: httpx.AsyncClient, backend: Backend, tmp_path: Path
) -> None:
    before = await client.put(
        "Patient/bulk-old", json={**patient(mrn="OLD"), "id": "bulk-old"}, headers=FHIR_JSON
    )
    assert before.status_code == 201
    unchanged = {**patient(mrn="SAME"), "id": "bulk-same"}
    assert (await client.put("Patient/bulk-same", json=unchanged, headers=FHIR_JSON)).is_success
    lines = [
        {**patient(mrn="NEW"), "id": "bulk-old"},  # stored: an update, version 2
        unchanged,  # stored and unchanged: no new version
        {**patient(mrn="FIRST"), "id": "bulk-twice"},  # new
        {**patient(mrn="SECOND"), "id": "bulk-twice"},  # the same id again: version 2
        patient(mrn="NO-ID"),  # no id: created with a server id
    ]
    report = await import_paths(
        backend.settings, [_ndjson(tmp_path / "b.ndjson", *lines)], show=False, jobs=1
    )
    assert report.failures == []
    assert report.resources == 5
    assert await _versions(backend, "Patient", "bulk-old") == [1, 2]
    assert await _versions(backend, "Patient", "bulk-same") == [1]
    assert await _versions(backend, "Patient", "bulk-twice") == [1, 2]
    twice = (await client.get("Patient/bulk-twice")).json()
    assert twice["identifier"][0]["value"] == "SECOND"
    old = (await client.get("Patient", params={"identifier": "OLD"})).json()
    assert old.get("entry", []) == []
    no_id = (await client.get("Patient", params={"identifier": "NO-ID"})).json()
    assert len(no_id["entry"]) == 1


async def test_a_bad_line_fails_alone_with_its_file_and_line(
    client: httpx.AsyncClient, backend: Backend, tmp_path: Path
) -> None:
    path = _ndjson(
        tmp_path / "c.ndjson",
        {**patient(mrn="GOOD-1"), "id": "bulk-good1"},
        "{not json",
        {"resourceType": "Patient", "id": "bulk-bad", "birthDate": "yesterday"},
        {"resourceType": "NoSuchType", "id": "x"},
        "[1, 2]",
        {**patient(mrn="GOOD-2"), "id": "bulk-good2"},
    )
    report = await import_paths(backend.settings, [path], show=False, jobs=1)
    assert report.resources == 2
    lines = sorted(int(f.split(":")[1]) for f in report.failures)
    assert lines == [2, 3, 4, 5]
    assert all(f.startswith(f"{path}:") for f in report.failures)
    bad = next(f for f in report.failures if f.split(":")[1] == "3")
    assert "400" in bad
    assert "birthDate" in bad
    assert (await client.get("Patient/bulk-good2")).status_code == 200
    assert (await client.get("Patient/bulk-bad")).status_code == 404


async def test_batches_in_worker_processes_store_the_same(
    client: httpx.AsyncClient, backend: Backend, tmp_path: Path
) -> None:
    """More lines than one batch, so that worker processes prepare the later ones."""
    count = 1200
    lines = [
        {**observation("Patient/bulk-w", value=float(n % 90) / 10 + 4), "id": f"bulk-w{n}"}
        for n in range(count)
    ]
    path = _ndjson(tmp_path / "d.ndjson", {**patient(mrn="W"), "id": "bulk-w"}, *lines)
    report = await import_paths(backend.settings, [path], show=False, jobs=2)
    assert report.failures == []
    assert report.resources == count + 1
    async with backend.database.engine.connect() as conn:
        versions = (
            await conn.execute(select(func.count()).select_from(resource_version))
        ).scalar_one()
    assert versions == count + 1
    for n in (0, 499, 500, 1199):
        stored = (await client.get(f"Observation/bulk-w{n}")).json()
        assert stored["valueQuantity"]["value"] == lines[n]["valueQuantity"]["value"]
        rows = await stored_index_rows(backend.database, "Observation", f"bulk-w{n}")
        assert rows == expected_index_rows(stored, "bulk-w")
    counts = await row_counts(backend.database)
    again = await import_paths(backend.settings, [path], show=False, jobs=2)
    assert again.failures == []
    assert await row_counts(backend.database) == counts


async def test_an_import_that_reshapes_the_tables_refreshes_the_statistics(
    backend: Backend, tmp_path: Path
) -> None:
    """PostgreSQL: ANALYZE after an import that leaves a tenth or more of what is stored new,
    so searches are not planned for the empty tables the import started from."""
    if backend.name != "postgresql":
        return  # SQLite's planner reads no such statistics
    analyzed = text(
        "SELECT count(*) FROM pg_stat_user_tables"
        " WHERE relname = 'idx_token' AND (last_analyze IS NOT NULL OR analyze_count > 0)"
    )

    async def reset_and_import(name: str, n: int) -> int:
        async with backend.database.engine.connect() as conn:
            await conn.execute(text("SELECT pg_stat_reset()"))
        lines = [{**patient(mrn=f"{name}-{i}"), "id": f"{name}-{i}"} for i in range(n)]
        await import_paths(
            backend.settings, [_ndjson(tmp_path / f"{name}.ndjson", *lines)], show=False, jobs=1
        )
        async with backend.database.engine.connect() as conn:
            return int((await conn.execute(analyzed)).scalar_one())

    assert await reset_and_import("first", 30) == 1  # everything stored is new
    assert await reset_and_import("small", 2) == 0  # 2 of 32: autovacuum's business
