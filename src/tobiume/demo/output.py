"""Writing the city: NDJSON, one file per resource type, or one transaction Bundle per citizen.

Both are what `tobiume import` reads. Bytes are deterministic: orjson writes keys in the order
the generator builds them, numbers are rounded before they are written, and nothing depends on
the clock, so the same arguments give byte-identical files.

A Bundle entry PUTs its resource to `Type/id` (https://hl7.org/fhir/R4/http.html#upsert,
update-as-create), so loading a city twice changes nothing, and every reference between the
resources is a plain relative `Type/id` that resolves on the server they are loaded into.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from datetime import date
from pathlib import Path
from typing import IO, Any

import orjson

from tobiume.demo import facilities, generate

LINE = orjson.OPT_APPEND_NEWLINE


def write_ndjson(resources: Iterable[dict[str, Any]], out: Path) -> dict[str, int]:
    """`out/Type.ndjson` for every type; returns how many resources of each type."""
    out.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    with ExitStack() as stack:
        files: dict[str, IO[bytes]] = {}
        for resource in resources:
            res_type = resource["resourceType"]
            handle = files.get(res_type)
            if handle is None:
                handle = files[res_type] = stack.enter_context(
                    (out / f"{res_type}.ndjson").open("wb")
                )
            handle.write(orjson.dumps(resource, option=LINE))
            counts[res_type] = counts.get(res_type, 0) + 1
    return counts


def transaction(resources: Iterable[dict[str, Any]]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "resource": resource,
                "request": {"method": "PUT", "url": f"{resource['resourceType']}/{resource['id']}"},
            }
            for resource in resources
        ],
    }


def write_bundles(
    citizens: int, seed: int, out: Path, as_of: date = generate.AS_OF
) -> dict[str, int]:
    """`out/0-directory.json`, then `out/citizen-NNNNNN.json` for each citizen."""
    out.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    for name, resources in _groups(citizens, seed, as_of):
        for resource in resources:
            counts[resource["resourceType"]] = counts.get(resource["resourceType"], 0) + 1
        (out / name).write_bytes(orjson.dumps(transaction(resources), option=LINE))
    return counts


def _groups(citizens: int, seed: int, as_of: date) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    directory = facilities.build(seed)
    yield "0-directory.json", directory.resources
    for number in range(1, citizens + 1):
        yield f"citizen-{number:06d}.json", generate.citizen(directory, seed, number, as_of)
