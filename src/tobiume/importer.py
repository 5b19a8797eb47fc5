"""`tobiume import` and `tobiume demo load`: load Bundles, NDJSON files and the synthetic city
through the server's own write path.

A `.json` file holds a Bundle (batch or transaction, run as if POSTed to the base) or one
resource; an `.ndjson` file holds one resource per line; either may be `.bz2` or `.gz`
compressed. A resource with an id is stored with update-as-create (PUT), and so is a Bundle entry
that POSTs a resource carrying an id without `ifNoneExist` (Synthea's PractitionerRoles): loading a
file twice then creates nothing new, and an unchanged resource gets no new version
(`interactions.update.store`). One without an id is created; an entry with `ifNoneExist` keeps its
conditional create.

NDJSON is the fast path (`interactions.bulk`): lines go in batches of `BATCH` to `--jobs` worker
processes that parse, validate and index them (the costly part, about half a millisecond a
resource), while this process writes the batches they return, each new resource of a batch in
one statement. A source of one batch is prepared here, without starting any process.

Files are taken in name order within a folder (Synthea names its hospital and practitioner
batches to come first), except that NDJSON files named after a resource type come in dependency
order: the directory (Organization, Location, HealthcareService, Practitioner, PractitionerRole,
Endpoint), then Patient, then Consent, then the rest. A failure is reported with its file and
line or entry and the rest goes on.
"""

from __future__ import annotations

import asyncio
import bz2
import gzip
import multiprocessing
import os
from collections import deque
from collections.abc import Awaitable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import IO, Any, cast

import orjson
from rich.progress import Progress
from sqlalchemy import text

from tobiume.access.policy import OpenAccess
from tobiume.config import Settings
from tobiume.db import Database
from tobiume.errors import FhirError
from tobiume.fhir.json import JsonLimits, check_bounds
from tobiume.fhir.references import is_valid_id
from tobiume.interactions import bulk
from tobiume.interactions.context import Context, FhirRequest
from tobiume.interactions.router import dispatch
from tobiume.storage.bulk import any_stored
from tobiume.storage.counts import fold_all, live_count
from tobiume.storage.migrate import upgrade

BATCH = 500
"""NDJSON lines per batch: one transaction, one insert statement."""
DEFAULT_JOBS = 8
"""Worker processes when not told: one per CPU, up to this many (each holds its own ~100 MB of
models, and past a few the one process that writes is the bottleneck)."""
LOAD_ORDER = (
    "Organization",
    "Location",
    "HealthcareService",
    "Practitioner",
    "PractitionerRole",
    "Endpoint",
    "Patient",
    "Consent",
)

Lines = list[tuple[int, bytes]]


@dataclass
class ImportReport:
    files: int = 0
    resources: int = 0
    failures: list[str] = field(default_factory=list)


def discover(paths: list[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(
                sorted((p for p in path.rglob("*") if p.is_file() and _kind(p)), key=_order)
            )
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


def _order(path: Path) -> tuple[int, str]:
    stem = path.name.removesuffix(".bz2").removesuffix(".gz").removesuffix(".ndjson")
    rank = (
        LOAD_ORDER.index(stem)
        if _kind(path) == "ndjson" and stem in LOAD_ORDER
        else len(LOAD_ORDER)
    )
    return rank, str(path)


def _open(path: Path) -> IO[bytes]:
    if path.suffix == ".bz2":
        return bz2.open(path, "rb")
    if path.suffix == ".gz":
        return cast(IO[bytes], gzip.GzipFile(path, "rb"))
    return path.open("rb")


class Loader:
    """Loads sources into one database, preparing NDJSON batches in up to `jobs` processes."""

    def __init__(self, database: Database, settings: Settings, jobs: int | None) -> None:
        self.database = database
        self.settings = settings
        self.jobs = max(1, jobs if jobs is not None else min(DEFAULT_JOBS, os.cpu_count() or 1))
        self.limits = JsonLimits(
            settings.max_body_bytes, settings.max_json_depth, settings.max_string_length
        )
        self.report = ImportReport()
        self._pool: ProcessPoolExecutor | None = None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)

    def _prepare(self, lines: Lines, first: bool) -> Awaitable[list[bulk.Prepared]]:
        """Prepared lines: in a worker process, unless this is the source's first batch and no
        pool runs yet (so that small imports start no process)."""
        if self.jobs > 1 and (self._pool is not None or not first):
            if self._pool is None:
                context = multiprocessing.get_context("spawn")
                self._pool = ProcessPoolExecutor(self.jobs, mp_context=context)
            return asyncio.ensure_future(self._from_pool(self._pool, lines))
        future: asyncio.Future[list[bulk.Prepared]] = asyncio.get_running_loop().create_future()
        future.set_result(bulk.prepare(lines, self.limits))
        return future

    async def _from_pool(self, pool: ProcessPoolExecutor, lines: Lines) -> list[bulk.Prepared]:
        loop = asyncio.get_running_loop()
        wired = await loop.run_in_executor(pool, bulk.prepare_wire, lines, self.limits)
        return bulk.from_wire(wired)

    async def lines(self, source: str, batches: Iterable[Lines]) -> None:
        """Load NDJSON lines, keeping the workers busy while batches are written."""
        pending: deque[Awaitable[list[bulk.Prepared]]] = deque()
        for number, batch in enumerate(batches):
            pending.append(self._prepare(batch, first=number == 0))
            if len(pending) > self.jobs:
                await self._store(source, await pending.popleft())
        while pending:
            await self._store(source, await pending.popleft())

    async def _store(self, source: str, prepared: list[bulk.Prepared]) -> None:
        async with self.database.write() as conn:
            ctx = Context(conn, self.settings, OpenAccess())
            stored, failed = await bulk.store(ctx, prepared, _request_for)
        self.report.resources += stored
        self.report.failures.extend(f"{source}:{f.line}: {f.message}" for f in failed)

    async def json_file(self, path: Path) -> None:
        try:
            with _open(path) as handle:
                raw = handle.read()
            value = orjson.loads(raw)
            check_bounds(value, self.limits)
            request = _request_for(value)
            async with self.database.write() as conn:
                response = await dispatch(Context(conn, self.settings, OpenAccess()), request)
        except (FhirError, orjson.JSONDecodeError, OSError) as exc:
            self.report.failures.append(f"{path}: {bulk.message(exc)}")
            return
        self.report.resources += _count_stored(request, response.body)
        _collect_entry_failures(path, response.body, self.report)


async def import_paths(
    settings: Settings, paths: list[Path], *, show: bool = True, jobs: int | None = None
) -> ImportReport:
    database = Database(settings.database_url, pool_size=2)
    if settings.should_auto_migrate:
        await upgrade(database.url)
    loader = Loader(database, settings, jobs)
    files = discover(paths)
    try:
        with Progress(disable=not show, transient=False) as progress:
            task = progress.add_task("importing", total=len(files))
            for path in files:
                progress.update(task, description=path.name[:40])
                if _kind(path) == "ndjson":
                    await loader.lines(str(path), _batches(_file_lines(path)))
                else:
                    await loader.json_file(path)
                loader.report.files += 1
                progress.advance(task)
        await refresh_statistics(database, loader.report.resources)
    finally:
        loader.close()
        await database.dispose()
    return loader.report


ANALYZE_SHARE = 0.1
"""An import that leaves at least this share of the stored resources new is followed by
ANALYZE: autovacuum's own threshold (10%), but at once rather than when it gets round to it."""


async def refresh_statistics(database: Database, imported: int) -> None:
    """ANALYZE after a bulk load that changed the tables' shape (PostgreSQL). The planner's
    statistics otherwise describe the tables as they were before it, often empty: a search
    planned for empty index tables scans them once per row, and took 20 s instead of 0.2 s on
    a freshly imported town of 3,000 resources. A small import into a large database does not
    pay for it. SQLite's planner needs no statistics here.

    The import's rows of count changes (one per resource) are folded first, so that what is
    analysed is the small table readers will sum (`storage.counts`)."""
    if database.is_sqlite or imported == 0:
        return
    async with database.read() as conn:
        await fold_all(conn)
        if imported >= ANALYZE_SHARE * await live_count(conn, None):
            await conn.execute(text("ANALYZE"))


async def import_city(
    settings: Settings,
    citizens: int,
    seed: int,
    as_of: date,
    *,
    if_empty: bool = False,
    jobs: int | None = None,
) -> ImportReport | None:
    """Generate the synthetic city and load it; None if `if_empty` and something is stored."""
    from tobiume.demo.generate import city

    database = Database(settings.database_url, pool_size=2)
    if settings.should_auto_migrate:
        await upgrade(database.url)
    loader = Loader(database, settings, jobs)
    try:
        if if_empty:
            async with database.read() as conn:
                if await any_stored(conn):
                    return None
        numbered = (
            (n, orjson.dumps(r)) for n, r in enumerate(city(citizens, seed, as_of), start=1)
        )
        await loader.lines(f"demo city (seed {seed})", _batches(numbered))
        loader.report.files = 1
        await refresh_statistics(database, loader.report.resources)
    finally:
        loader.close()
        await database.dispose()
    return loader.report


def _file_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    with _open(path) as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                yield number, line


def _batches(lines: Iterable[tuple[int, bytes]]) -> Iterator[Lines]:
    batch: Lines = []
    for item in lines:
        batch.append(item)
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


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
