"""The small city the search tests run on: 60 citizens of seed 1, loaded once per backend with
`tobiume import`, then a few resources written over HTTP after a moment `mark`: copies of city
resources carrying `meta.tag`, `meta.security` and `meta.source` (the city sets only
`meta.profile`), RiskAssessments (the city holds no `number` parameter), Organizations whose
name and identifier hold a comma, and Observations whose subject is a logical reference.
`World` holds every resource as last written, for the expectations.
"""

from __future__ import annotations

import asyncio
import copy
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx

from tests.api.city_oracle import Resource, World
from tests.conftest import Backend
from tests.helpers import FHIR_JSON, empty_tables
from tobiume.demo.generate import AS_OF, city
from tobiume.demo.output import write_ndjson
from tobiume.importer import import_paths

CITIZENS = 60
SEED = 1
TAGS = "http://tobiume.example/fhir/CodeSystem/test-tag"
CONFIDENTIALITY = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
SOURCE = "http://tobiume.example/fhir/source/"
TEST_IDS = "http://tobiume.example/fhir/IdSystem/test"
UCUM = "http://unitsofmeasure.org"
JLAC10 = "urn:oid:1.2.392.200119.4.504"
TAGGED_PATIENTS = ("c000002", "c000005", "c000011")
TAGGED_OBSERVATIONS = ("c000003-lab-1", "c000006-lab-2", "c000012-lab-1", "c000022-lab-1")


@dataclass
class City:
    client: httpx.AsyncClient
    world: World
    mark: str
    """An instant after the import and before the resources written over HTTP."""
    backend: str


def _with_meta(resource: Resource, n: int) -> Resource:
    body = copy.deepcopy(resource)
    meta = body.setdefault("meta", {})
    meta["tag"] = [{"system": TAGS, "code": "review" if n % 2 == 0 else "audit"}]
    if body["resourceType"] == "Patient":
        meta["security"] = [{"system": CONFIDENTIALITY, "code": "R"}]
    meta["source"] = f"{SOURCE}{'kokura' if n < 2 else 'yahata'}#batch{n}"
    return body


def _extras(base: dict[str, Resource]) -> list[Resource]:
    first = base["Patient/c000001"]["identifier"][0]
    risks: list[Resource] = []
    for n, probability in enumerate((0.05, 0.12, 0.25, 0.25, 0.6, None), start=1):
        risk: Resource = {
            "resourceType": "RiskAssessment",
            "id": f"risk-{n}",
            "status": "final",
            "subject": {"reference": f"Patient/c00000{n}"},
        }
        if probability is not None:
            risk["prediction"] = [{"probabilityDecimal": probability}]
        risks.append(risk)
    logical: list[Resource] = []
    for n, subject in enumerate(
        (
            {"reference": "Patient/c000001", "identifier": first},
            {"identifier": first},
            {"identifier": {"system": first["system"], "value": "no-such-number"}},
        ),
        start=1,
    ):
        logical.append(
            {
                "resourceType": "Observation",
                "id": f"logical-{n}",
                "status": "final",
                "code": {"coding": [{"code": "local-glucose"}, {"system": JLAC10, "code": "X1"}]},
                "subject": subject,
                "effectiveDateTime": f"2026-0{n}-15T10:30:00+09:00",
                "valueQuantity": {"value": 100 + n, "unit": "mg/dL"},
            }
        )
    organizations: list[Resource] = [
        {
            "resourceType": "Organization",
            "id": "comma-1",
            "identifier": [{"system": TEST_IDS, "value": "K,001"}],
            "name": "小倉,東テスト診療所",
        },
        {
            "resourceType": "Organization",
            "id": "comma-2",
            "identifier": [{"system": TEST_IDS, "value": "K"}],
            "name": "東テスト診療所",
        },
    ]
    return risks + logical + organizations


def build() -> tuple[list[Resource], list[Resource]]:
    """(what is imported, what is written over HTTP after `mark`)."""
    imported = list(city(CITIZENS, SEED, AS_OF))
    base = {f"{r['resourceType']}/{r['id']}": r for r in imported}
    tagged = [
        _with_meta(base[f"{t}/{i}"], n)
        for n, (t, i) in enumerate(
            [("Patient", p) for p in TAGGED_PATIENTS]
            + [("Observation", o) for o in TAGGED_OBSERVATIONS]
        )
    ]
    return imported, tagged + _extras(base)


async def load(backend: Backend, client: httpx.AsyncClient, tmp: Path) -> tuple[World, str]:
    async with backend.database.engine.begin() as conn:
        await empty_tables(conn)
    imported, written = build()
    write_ndjson(imported, tmp)
    report = await import_paths(backend.settings, [tmp], show=False, jobs=1)
    assert report.failures == []
    assert report.resources == len(imported)
    await asyncio.sleep(0.01)
    mark = datetime.now(UTC).isoformat(timespec="microseconds")
    await asyncio.sleep(0.01)
    for body in written:
        response = await client.put(
            f"{body['resourceType']}/{body['id']}", json=body, headers=FHIR_JSON
        )
        assert response.is_success, response.text
    latest = {f"{r['resourceType']}/{r['id']}": r for r in imported + written}
    return World(list(latest.values())), mark
