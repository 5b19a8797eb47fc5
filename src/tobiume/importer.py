"""`tobiume import`: load Bundles and NDJSON files through the same write path as the REST API.

A `.json` file holds a Bundle (batch or transaction, run as if POSTed to the base) or one
resource; an `.ndjson` file holds one resource per line; either may be `.bz2` or `.gz`
compressed. A resource with an id is stored with update-as-create (PUT), and so is a Bundle entry
that POSTs a resource carrying an id without `ifNoneExist` (Synthea's PractitionerRoles): loading a
file twice then creates nothing new, and an unchanged resource gets no new version
(`interactions.update.store`). One without an id is created; an entry with `ifNoneExist` keeps its
conditional create. Files are taken in name order within a
folder (Synthea names its hospital and practitioner batches to come first). A failure is reported
with its file and line or entry and the rest goes on.
"""

from __future__ import annotations

import bz2
import gzip
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, cast

import orjson
from rich.progress import Progress

from tobiume.access.policy import OpenAccess
from tobiume.config import Settings
from tobiume.db import Database, savepoint
from tobiume.errors import FhirError
from tobiume.fhir.json import JsonLimits, check_bounds
from tobiume.fhir.references import is_valid_id
from tobiume.interactions.context import Context, FhirRequest
from tobiume.interactions.router import dispatch
from tobiume.storage.migrate import upgrade

NDJSON_CHUNK = 200


@dataclass
class ImportReport:
    files: int = 0
    resources: int = 0
    failures: list[str] = field(default_factory=list)


def discover(paths: list[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.is_file() and _kind(p)))
        elif _kind(path):
            found.append(path)
    return found


def _kind(path: Path) -> str | None:
    name = path.name.removesuffix(".bz2").removesuffix(".gz")
    if name.endswith(".ndjson"):
        return "ndjson"
    if name.endswith(".json"):
        return "json"
    return None


def _open(path: Path) -> IO[bytes]:
    if path.suffix == ".bz2":
        return bz2.open(path, "rb")
    if path.suffix == ".gz":
        return cast(IO[bytes], gzip.GzipFile(path, "rb"))
    return path.open("rb")


async def import_paths(settings: Settings, paths: list[Path], *, show: bool = True) -> ImportReport:
    database = Database(settings.database_url, pool_size=2)
    if settings.should_auto_migrate:
        await upgrade(database.url)
    report = ImportReport()
    files = discover(paths)
    limits = JsonLimits(
        settings.max_body_bytes, settings.max_json_depth, settings.max_string_length
    )
    try:
        with Progress(disable=not show, transient=False) as progress:
            task = progress.add_task("importing", total=len(files))
            for path in files:
                progress.update(task, description=path.name[:40])
                if _kind(path) == "ndjson":
                    await _import_ndjson(database, settings, path, limits, report)
                else:
                    await _import_json(database, settings, path, limits, report)
                report.files += 1
                progress.advance(task)
    finally:
        await database.dispose()
    return report


def _request_for(resource: Any) -> FhirRequest:
    if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
        raise FhirError("Not a FHIR resource")
    res_type = resource["resourceType"]
    if res_type == "Bundle" and resource.get("type") in ("batch", "transaction"):
        return FhirRequest("POST", (), body=_idempotent(resource))
    res_id = resource.get("id")
    if isinstance(res_id, str):
        return FhirRequest("PUT", (res_type, res_id), body=resource)
    return FhirRequest("POST", (res_type,), body=resource)


def _idempotent(bundle: dict[str, Any]) -> dict[str, Any]:
    """Turn `POST Type` entries whose resource has an id (and no `ifNoneExist`) into
    `PUT Type/id`, so that importing the same Bundle again updates instead of duplicating."""
    entries = bundle.get("entry")
    if not isinstance(entries, list):
        return bundle
    rewritten: list[Any] = []
    for entry in entries:
        request = entry.get("request") if isinstance(entry, dict) else None
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if (
            isinstance(request, dict)
            and isinstance(resource, dict)
            and request.get("method") == "POST"
            and not request.get("ifNoneExist")
            and request.get("url") == resource.get("resourceType")
            and isinstance(resource.get("id"), str)
            and is_valid_id(resource["id"])
        ):
            url = f"{resource['resourceType']}/{resource['id']}"
            entry = {**entry, "request": {**request, "method": "PUT", "url": url}}
        rewritten.append(entry)
    return {**bundle, "entry": rewritten}


async def _import_json(
    database: Database, settings: Settings, path: Path, limits: JsonLimits, report: ImportReport
) -> None:
    try:
        with _open(path) as handle:
            raw = handle.read()
        value = orjson.loads(raw)
        check_bounds(value, limits)
        request = _request_for(value)
        async with database.write() as conn:
            response = await dispatch(Context(conn, settings, OpenAccess()), request)
    except (FhirError, orjson.JSONDecodeError, OSError) as exc:
        report.failures.append(f"{path}: {_message(exc)}")
        return
    report.resources += _count_stored(request, response.body)
    _collect_entry_failures(path, response.body, report)


def _count_stored(request: FhirRequest, body: Any) -> int:
    if request.path:
        return 1
    bundle = orjson.loads(body) if isinstance(body, str) else body
    return sum(
        1 for e in bundle.get("entry", []) if e.get("response", {}).get("status", "")[:1] == "2"
    )


def _collect_entry_failures(path: Path, body: Any, report: ImportReport) -> None:
    if not isinstance(body, str) or '"batch-response"' not in body[:200]:
        return
    for index, entry in enumerate(orjson.loads(body).get("entry", [])):
        response = entry.get("response", {})
        if not str(response.get("status", "")).startswith("2"):
            issues = response.get("outcome", {}).get("issue", [{}])
            report.failures.append(
                f"{path} entry {index}: {response.get('status')} {issues[0].get('diagnostics')}"
            )


async def _import_ndjson(
    database: Database, settings: Settings, path: Path, limits: JsonLimits, report: ImportReport
) -> None:
    for chunk in _chunks(path):
        async with database.write() as conn:
            ctx = Context(conn, settings, OpenAccess())
            for line_no, line in chunk:
                try:
                    value = orjson.loads(line)
                    check_bounds(value, limits)
                    async with savepoint(conn):
                        await dispatch(ctx, _request_for(value))
                    report.resources += 1
                except (FhirError, orjson.JSONDecodeError) as exc:
                    report.failures.append(f"{path}:{line_no}: {_message(exc)}")


def _chunks(path: Path) -> Iterator[list[tuple[int, bytes]]]:
    chunk: list[tuple[int, bytes]] = []
    with _open(path) as handle:
        for line_no, line in enumerate(handle, start=1):
            if line.strip():
                chunk.append((line_no, line))
            if len(chunk) >= NDJSON_CHUNK:
                yield chunk
                chunk = []
    if chunk:
        yield chunk


def _message(exc: Exception) -> str:
    if isinstance(exc, FhirError):
        return f"{exc.status} {exc.diagnostics}"
    return str(exc)
