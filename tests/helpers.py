"""Small builders and checks shared by the tests."""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from tobiume.db import Database
from tobiume.indexing.extract import extract
from tobiume.indexing.values import table_values
from tobiume.storage.tables import INDEX_TABLES, metadata, resource, resource_count, value_columns

FHIR_JSON = {"Content-Type": "application/fhir+json"}
JP_OID = "urn:oid:1.2.392.100495.20.3.51.11234567890"
REPRESENTATION = "http://hl7.org/fhir/StructureDefinition/iso21090-EN-representation"


def patient(
    mrn: str = "00012345",
    family: str = "山田",
    kana: str = "ヤマダ",
    given: str = "太郎",
    given_kana: str = "タロウ",
    **extra: Any,
) -> dict[str, Any]:
    """A JP Core-shaped Patient: kanji (IDE) and kana (SYL) names, a facility identifier."""
    return {
        "resourceType": "Patient",
        "identifier": [{"system": JP_OID, "value": mrn}],
        "name": [
            {
                "use": "official",
                "family": family,
                "given": [given],
                "text": f"{family} {given}",
                "extension": [{"url": REPRESENTATION, "valueCode": "IDE"}],
            },
            {
                "use": "official",
                "family": kana,
                "given": [given_kana],
                "extension": [{"url": REPRESENTATION, "valueCode": "SYL"}],
            },
        ],
        "gender": "male",
        "birthDate": "1940-01-02",
        **extra,
    }


def observation(subject: str, value: float = 6.1) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {
            "coding": [
                {
                    "system": "urn:oid:1.2.392.200119.4.504",
                    "code": "3D046000001920402",
                    "display": "HbA1c",
                }
            ]
        },
        "subject": {"reference": subject},
        "effectiveDateTime": "2026-04-01T09:00:00+09:00",
        "valueQuantity": {
            "value": value,
            "unit": "%",
            "system": "http://unitsofmeasure.org",
            "code": "%",
        },
    }


async def create(
    client: httpx.AsyncClient, resource: dict[str, Any], headers: dict[str, str] | None = None
) -> dict[str, Any]:
    response = await client.post(
        resource["resourceType"], json=resource, headers={**FHIR_JSON, **(headers or {})}
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def matched_ids(client: httpx.AsyncClient, res_type: str, query: str) -> set[str]:
    """The ids a search finds (its `match` entries, not what it includes)."""
    response = await client.get(f"{res_type}?{query}")
    assert response.status_code == 200, response.text
    return {
        e["resource"]["id"]
        for e in response.json().get("entry", [])
        if e["search"]["mode"] == "match"
    }


async def put(client: httpx.AsyncClient, body: dict[str, Any]) -> None:
    """Store `body` under its own id (update as create)."""
    response = await client.put(
        f"{body['resourceType']}/{body['id']}", json=body, headers=FHIR_JSON
    )
    assert response.is_success, response.text


async def empty_tables(conn: AsyncConnection) -> None:
    """Delete every row of every table; `resource_count` last, since deleting resources adds
    rows to it on PostgreSQL (`storage.counts`)."""
    for table in sorted(reversed(metadata.sorted_tables), key=lambda t: t is resource_count):
        await conn.execute(delete(table))


async def row_counts(database: Database) -> dict[str, int]:
    """Rows in every table: used to prove that a refused write left nothing behind."""
    counts: dict[str, int] = {}
    async with database.engine.connect() as conn:
        for table in metadata.sorted_tables:
            counts[table.name] = (
                await conn.execute(select(func.count()).select_from(table))
            ).scalar_one()
    return counts


def outcome_text(response: httpx.Response) -> str:
    body = response.json()
    assert body["resourceType"] == "OperationOutcome", body
    return " ".join(issue.get("diagnostics", "") for issue in body["issue"])


async def stored_index_rows(
    database: Database, res_type: str, res_id: str
) -> dict[str, Counter[Any]]:
    """Every index row of one resource, per table, as comparable tuples."""
    async with database.engine.connect() as conn:
        pk = (
            await conn.execute(
                select(resource.c.pk).where(
                    resource.c.res_type == res_type, resource.c.res_id == res_id
                )
            )
        ).scalar_one()
        rows: dict[str, Counter[Any]] = {}
        for table in INDEX_TABLES:
            result = await conn.execute(
                select(table.c.res_type, table.c.patient_id, *value_columns(table)).where(
                    table.c.res_pk == pk
                )
            )
            found = Counter(tuple(row) for row in result.all())
            if found:
                rows[table.name] = found
    return rows


def expected_index_rows(body: dict[str, Any], patient_id: str | None) -> dict[str, Counter[Any]]:
    values = table_values(extract(body))
    return {
        table.name: Counter((body["resourceType"], patient_id, *row) for row in rows)
        for table, rows in values.items()
    }


def registration(
    patient_id: str, provision: dict[str, Any] | None = None, **extra: Any
) -> dict[str, Any]:
    """A citizen's registration Consent (scope patient-privacy, category LOINC 59284-0), by
    default permitting every participant every class of their records."""
    return {
        "resourceType": "Consent",
        "id": f"{patient_id}-registration",
        "status": "active",
        "scope": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/consentscope",
                    "code": "patient-privacy",
                }
            ]
        },
        "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
        "patient": {"reference": f"Patient/{patient_id}"},
        "provision": provision if provision is not None else {"type": "permit"},
        **extra,
    }
