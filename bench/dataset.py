"""The benchmark's data: the synthetic city (`tobiume.demo`, docs/data.md), and request bodies
made from a citizen the benchmark never loads.

`city` yields the directory and then whole citizens until at least the asked number of
resources, so the loaded data is the same city the demo and the tests run on: Patients with
kanji and kana names and facility-OID identifiers, their Consents, Conditions, Encounters,
prescriptions, laboratory and checkup Observations, and the care records of the certified.
The scenarios' templates come from citizen `TEMPLATE_CITIZEN` of the same seed, so creates and
transactions send the same shapes as the loaded data without clashing with it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from tobiume.demo import facilities, generate

TEMPLATE_CITIZEN = 1_000_001
"""A citizen number no run loads (a city of a million citizens would be 36 million resources)."""


@dataclass(frozen=True)
class PatientKey:
    """What the read, search and update scenarios need of a loaded Patient."""

    id: str
    system: str
    value: str


def city(n_resources: int, seed: int) -> Iterator[dict[str, Any]]:
    """The directory, then citizens 1, 2, ... until at least `n_resources` resources."""
    directory = facilities.build(seed)
    yield from directory.resources
    count = len(directory.resources)
    number = 0
    while count < n_resources:
        number += 1
        records = generate.citizen(directory, seed, number)
        yield from records
        count += len(records)


def patient_key(patient: dict[str, Any]) -> PatientKey:
    first = patient["identifier"][0]
    return PatientKey(patient["id"], first["system"], first["value"])


def _template_citizen(seed: int, observations: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The Patient and Observations (without Encounter links) of the first citizen from
    `TEMPLATE_CITIZEN` on who has at least `observations` of them."""
    directory = facilities.build(seed)
    number = TEMPLATE_CITIZEN
    while True:
        records = generate.citizen(directory, seed, number)
        found = [r for r in records if r["resourceType"] == "Observation" and "encounter" not in r]
        if len(found) >= observations:
            return records[0], found[:observations]
        number += 1


def _new_patient(patient: dict[str, Any]) -> dict[str, Any]:
    body = {k: v for k, v in patient.items() if k != "id"}
    body["identifier"] = [{**patient["identifier"][0], "value": "__IDV__"}]
    return body


def create_template(seed: int) -> dict[str, Any]:
    """A Patient without id for the create scenario; `__IDV__` is replaced per request."""
    patient, _ = _template_citizen(seed, 0)
    return _new_patient(patient)


def update_template(seed: int) -> dict[str, Any]:
    """A Patient for the update scenario: `__ID__`, `__SYS__`, `__IDV__` and `__TEL__` are
    replaced per request by a loaded Patient's id and first identifier and a new phone number,
    so that updates keep that identifier searchable."""
    patient, _ = _template_citizen(seed, 0)
    body = {**patient, "id": "__ID__"}
    body["identifier"] = [{"system": "__SYS__", "value": "__IDV__"}]
    body["telecom"] = [{"system": "phone", "value": "__TEL__"}]
    return body


def transaction_template(seed: int, observations: int = 9) -> dict[str, Any]:
    """A transaction Bundle: one new Patient and `observations` of their Observations.

    Its fullUrls are `urn:uuid:__U0__` ... `urn:uuid:__U9__`, and the Patient's identifier value
    `__IDV__`; the wrk script replaces them per request so that every Bundle is new.
    """
    patient, found = _template_citizen(seed, observations)
    entries: list[dict[str, Any]] = [
        {
            "fullUrl": "urn:uuid:__U0__",
            "resource": _new_patient(patient),
            "request": {"method": "POST", "url": "Patient"},
        }
    ]
    for k, observation in enumerate(found, start=1):
        body = {key: value for key, value in observation.items() if key != "id"}
        body["subject"] = {"reference": "urn:uuid:__U0__"}
        entries.append(
            {
                "fullUrl": f"urn:uuid:__U{k}__",
                "resource": body,
                "request": {"method": "POST", "url": "Observation"},
            }
        )
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}
