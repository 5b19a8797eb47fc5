"""Loading many resources: the work of `tobiume import`, split so that the costly part runs in
parallel.

`prepare` is pure computation on raw NDJSON lines (parse, bounds, validation, stamping, index
extraction: `write.new_version`, the same function every create runs) and is what worker
processes do. `store` then writes a prepared batch on one connection: the resources that are
new go in with one statement (`storage.bulk`), and everything else, a resource already stored
(an update, or an unchanged one that gets no new version), a line without an id, a Bundle, goes
through `router.dispatch` exactly as a REST request would, each in its own savepoint so that a
failure costs only that line.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from tobiume.access import materialise
from tobiume.db import savepoint
from tobiume.errors import FhirError
from tobiume.fhir.json import JsonLimits, parse_json
from tobiume.fhir.references import is_valid_id
from tobiume.fhir.resource_types import RESOURCE_TYPES
from tobiume.interactions.context import Context, FhirRequest, now_ms
from tobiume.interactions.router import dispatch
from tobiume.interactions.write import new_version
from tobiume.storage import bulk
from tobiume.storage.tables import INDEX_TABLES
from tobiume.storage.version import IndexValues, NewVersion

TABLES = {table.name: table for table in INDEX_TABLES}
METHOD = "PUT"
"""A loaded resource with an id is stored as update-as-create would store it."""


@dataclass(frozen=True, slots=True)
class Ready:
    """A valid resource with an id, prepared as version 1 (index rows keyed by table name, so
    that they cross a process boundary without dragging SQLAlchemy's metadata along)."""

    line: int
    version: NewVersion
    index: dict[str, list[tuple[Any, ...]]]

    def values(self) -> IndexValues:
        return {TABLES[name]: rows for name, rows in self.index.items()}


@dataclass(frozen=True, slots=True)
class Other:
    """Parsed, but not a plain resource with an id: it takes the REST path."""

    line: int
    value: Any


@dataclass(frozen=True, slots=True)
class Failed:
    line: int
    message: str


Prepared = Ready | Other | Failed

Wire = tuple[Any, ...]
"""A prepared line as plain tuples, what a worker process sends back: pickling frozen
dataclasses cost three times as much, in the processes that are the bottleneck of a load.
("R", line, type, id, lastUpdated, body, patient_id, data_class, index), ("O", line, value) or
("F", line, message)."""


def prepare(lines: Sequence[tuple[int, bytes]], limits: JsonLimits) -> list[Prepared]:
    """Each NDJSON line, numbered, prepared for `store`."""
    return [_prepare_one(number, line, limits) for number, line in lines]


def prepare_wire(lines: Sequence[tuple[int, bytes]], limits: JsonLimits) -> list[Wire]:
    """`prepare`, in the form a worker process sends back (`from_wire` restores it)."""
    wired: list[Wire] = []
    for item in prepare(lines, limits):
        if isinstance(item, Ready):
            v = item.version
            wired.append(
                (
                    "R",
                    item.line,
                    v.res_type,
                    v.res_id,
                    v.last_updated,
                    v.body,
                    v.patient_id,
                    v.data_class,
                    item.index,
                )
            )
        elif isinstance(item, Other):
            wired.append(("O", item.line, item.value))
        else:
            wired.append(("F", item.line, item.message))
    return wired


def from_wire(wired: Sequence[Wire]) -> list[Prepared]:
    restored: list[Prepared] = []
    for item in wired:
        if item[0] == "R":
            _, line, res_type, res_id, updated, body, patient_id, data_class, index = item
            version = NewVersion(
                res_type, res_id, 1, updated, body, patient_id, METHOD, data_class=data_class
            )
            restored.append(Ready(line, version, index))
        elif item[0] == "O":
            restored.append(Other(item[1], item[2]))
        else:
            restored.append(Failed(item[1], item[2]))
    return restored


def _prepare_one(number: int, line: bytes, limits: JsonLimits) -> Prepared:
    try:
        value = parse_json(line, limits)
    except FhirError as exc:
        return Failed(number, message(exc))
    if not isinstance(value, dict):
        return Failed(number, "400 A line must hold a JSON object: a FHIR resource")
    res_type, res_id = value.get("resourceType"), value.get("id")
    if (
        res_type not in RESOURCE_TYPES
        or res_type == "Bundle"
        or not isinstance(res_id, str)
        or not is_valid_id(res_id)
    ):
        return Other(number, value)
    try:
        version, index = new_version(res_type, res_id, 1, now_ms(), value, METHOD, line)
    except FhirError as exc:
        return Failed(number, message(exc))
    return Ready(number, version, {table.name: list(rows) for table, rows in index.items()})


async def store(
    ctx: Context, prepared: Sequence[Prepared], request_for: Callable[[Any], FhirRequest]
) -> tuple[int, list[Failed]]:
    """Write a prepared batch on `ctx.conn`; returns how many resources were stored and the
    lines that failed. `request_for(value)` makes the `FhirRequest` of a line that takes the
    REST path."""
    failed = [p for p in prepared if isinstance(p, Failed)]
    first: dict[tuple[str, str], Ready] = {}
    rest: list[Ready | Other] = []
    for item in (p for p in prepared if isinstance(p, Ready)):
        key = (item.version.res_type, item.version.res_id)
        if key in first:
            rest.append(item)  # the same id again in this batch: an update of the first
        else:
            first[key] = item
    inserted = await bulk.insert_absent(ctx.conn, [(r.version, r.values()) for r in first.values()])
    await materialise.rewrite_stored(
        ctx.conn, [r.version for key, r in first.items() if key in inserted]
    )
    stored = len(inserted)
    rest.extend(item for key, item in first.items() if key not in inserted)
    rest.extend(p for p in prepared if isinstance(p, Other))
    rest.sort(key=lambda p: p.line)
    for one in rest:
        value = orjson.loads(one.version.body or "{}") if isinstance(one, Ready) else one.value
        try:
            async with savepoint(ctx.conn):
                await dispatch(ctx, request_for(value))
            stored += 1
        except FhirError as exc:
            failed.append(Failed(one.line, message(exc)))
    return stored, failed


def message(exc: Exception) -> str:
    if isinstance(exc, FhirError):
        return f"{exc.status} {exc.diagnostics}"
    return str(exc)
