"""Real data that no one here wrote: every official R4 example of a stored type round-trips
(PUT, read back, equal apart from `meta`), or is listed in `tests/fhir/refused_examples.py`
with the reason the specification's own rules refuse it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import SHARED
from tests.fhir.refused_examples import REFUSED
from tests.helpers import FHIR_JSON
from tobiume.fhir.resource_types import RESOURCE_TYPES

EXAMPLES = sorted((SHARED / "fhir-r4" / "examples").glob("*.json"))


def _without_meta(resource: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in resource.items() if k != "meta"}


async def test_every_official_example_round_trips(client: httpx.AsyncClient) -> None:
    assert len(EXAMPLES) == 709
    failures: list[str] = []
    stored = 0
    for path in EXAMPLES:
        example = json.loads(path.read_text())
        res_type, res_id = example["resourceType"], example.get("id")
        assert res_type in RESOURCE_TYPES, path.name
        response = await client.put(f"{res_type}/{res_id}", json=example, headers=FHIR_JSON)
        if path.name in REFUSED:
            if response.status_code not in (400, 422):
                failures.append(f"{path.name}: expected refusal, got {response.status_code}")
            continue
        if response.status_code not in (200, 201):
            failures.append(f"{path.name}: {response.status_code} {response.text[:300]}")
            continue
        back = (await client.get(f"{res_type}/{res_id}")).json()
        if _without_meta(back) != _without_meta(example):
            failures.append(f"{path.name}: read back differs")
        stored += 1
    assert not failures, "\n".join(failures)
    assert stored == len(EXAMPLES) - len(REFUSED)


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refusals_have_reasons(name: str) -> None:
    assert (SHARED / "fhir-r4" / "examples" / name).exists()
    assert len(REFUSED[name]) > 20


def test_examples_folder_is_where_the_tests_expect(shared: Path) -> None:
    assert (shared / "fhir-r4" / "examples").is_dir()
