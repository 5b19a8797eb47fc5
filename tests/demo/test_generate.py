"""The synthetic Kitakyushu (`tobiume.demo`), checked without a database.

The generator is what every demo, benchmark and load test stands on, so its promises are checked
here directly: the output depends on the arguments alone (same seed, same bytes; a smaller city is
a prefix of a larger one); every reference resolves inside the generated city; patients and
practitioners carry JP Core's kanji and katakana names, per-facility patient numbers and a
registration Consent; every resource passes the server's own validation; and over a city of two
thousand the numbers look like the elderly, chronically ill population the network serves (most
are 65 and over, about a third of those are certified for 介護保険 and have a care manager,
diabetics' HbA1c is high, inpatient stays are at hospitals).
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from collections.abc import Iterator
from datetime import date
from functools import cache
from itertools import islice
from pathlib import Path
from typing import Any

import pytest

from tobiume.cli import main
from tobiume.demo import facilities
from tobiume.demo.generate import AS_OF, city
from tobiume.demo.names import FAMILY
from tobiume.fhir.validation import validate

Resource = dict[str, Any]

REPRESENTATION = "http://hl7.org/fhir/StructureDefinition/iso21090-EN-representation"
JP_EXT = "http://jpfhir.jp/fhir/core/Extension/StructureDefinition/"
MEDICAL_INSTITUTION_NO = "http://jpfhir.jp/fhir/core/IdSystem/insurance-medical-institution-no"
PATIENT_NUMBER = re.compile(r"urn:oid:1\.2\.392\.100495\.20\.3\.51\.1(\d{10})")
ICD10 = "http://hl7.org/fhir/sid/icd-10"
JLAC10 = "urn:oid:1.2.392.200119.4.504"
YJ = "urn:oid:1.2.392.100495.20.1.73"
LOINC = "http://loinc.org"
HBA1C = "3D046000001906202"
DIABETES = "E11.9"
WARDS = {
    "北九州市門司区",
    "北九州市小倉北区",
    "北九州市小倉南区",
    "北九州市若松区",
    "北九州市八幡東区",
    "北九州市八幡西区",
    "北九州市戸畑区",
}
FHIR_ID = re.compile(r"[A-Za-z0-9\-\.]{1,64}")
KANJI = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
KATAKANA = re.compile(r"[\u30a0-\u30ff ]+")
KANJI_FAMILIES = {kanji for kanji, _ in FAMILY}


@cache
def _city(count: int, seed: int = 1) -> tuple[Resource, ...]:
    """The city of `count` citizens, generated once per module run."""
    return tuple(city(count, seed, AS_OF))


def _by_type(resources: tuple[Resource, ...], res_type: str) -> list[Resource]:
    return [r for r in resources if r["resourceType"] == res_type]


def _index(resources: tuple[Resource, ...]) -> dict[str, Resource]:
    return {f"{r['resourceType']}/{r['id']}": r for r in resources}


def _references(value: object) -> Iterator[str]:
    """Every `reference` string anywhere inside `value` (a Reference may itself sit under a key
    named `reference`, as in Consent.provision.actor)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "reference" and isinstance(item, str):
                yield item
            else:
                yield from _references(item)
    elif isinstance(value, list):
        for item in value:
            yield from _references(item)


def _codes(concept: dict[str, Any]) -> list[tuple[str, str]]:
    return [(c.get("system", ""), c.get("code", "")) for c in concept.get("coding", [])]


def _age(birth: str, today: date = AS_OF) -> int:
    born = date.fromisoformat(birth)
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def _generate(out: Path, citizens: int, seed: int, fmt: str) -> dict[str, bytes]:
    argv = ["demo", "generate", "--citizens", str(citizens), "--seed", str(seed)]
    assert main([*argv, "--out", str(out), "--format", fmt]) == 0
    return _files(out)


# Determinism


@pytest.mark.parametrize("fmt", ["ndjson", "bundles"])
def test_the_same_seed_writes_the_same_bytes_and_another_seed_does_not(
    tmp_path: Path, fmt: str, capsys: pytest.CaptureFixture[str]
) -> None:
    first = _generate(tmp_path / "a", 12, 7, fmt)
    second = _generate(tmp_path / "b", 12, 7, fmt)
    other = _generate(tmp_path / "c", 12, 8, fmt)
    assert "12 citizens" in capsys.readouterr().out
    assert first, "nothing was written"
    if fmt == "ndjson":
        assert {"Patient.ndjson", "Organization.ndjson", "Observation.ndjson"} <= set(first)
    else:
        assert {"0-directory.json", "citizen-000001.json", "citizen-000012.json"} <= set(first)
    assert first == second
    assert set(other) == set(first)
    assert all(
        other[name] != first[name] for name in first if "Patient" in name or "000001" in name
    )
    assert other != first


def test_a_smaller_city_is_a_prefix_of_a_larger_one() -> None:
    directory = len(facilities.build(1).resources)
    small = list(city(20, 1, AS_OF))
    large = list(islice(city(50, 1, AS_OF), len(small)))
    assert len(small) > directory
    assert small[directory:] == large[directory:]
    assert small == large
    assert sum(r["resourceType"] == "Patient" for r in small) == 20


# Referential integrity


def test_every_reference_resolves_and_ids_are_unique_and_valid() -> None:
    resources = _city(150)
    index = _index(resources)
    per_type = Counter(r["resourceType"] for r in resources)
    ids_per_type = Counter(f"{r['resourceType']}/{r['id']}" for r in resources)
    assert [key for key, n in ids_per_type.items() if n > 1] == []
    assert len(index) == sum(per_type.values())
    assert [r["id"] for r in resources if not FHIR_ID.fullmatch(r["id"])] == []

    references = [
        (f"{r['resourceType']}/{r['id']}", ref) for r in resources for ref in _references(r)
    ]
    assert len(references) > 2 * len(resources)
    assert [(owner, ref) for owner, ref in references if ref not in index] == []


# JP Core shapes


def _check_names(resource: Resource) -> None:
    names = resource["name"]
    assert len(names) == 2, resource["id"]
    kinds = {
        e["valueCode"]: name
        for name in names
        for e in name.get("extension", [])
        if e["url"] == REPRESENTATION
    }
    assert set(kinds) == {"IDE", "SYL"}, resource["id"]
    family = kinds["IDE"]["family"]
    assert KANJI.search(family) or family in KANJI_FAMILIES, family
    kana = kinds["SYL"]
    assert KATAKANA.fullmatch(kana["family"]), kana
    assert kana["given"], kana
    assert all(KATAKANA.fullmatch(g) for g in kana["given"]), kana


def test_patients_and_practitioners_have_kanji_and_katakana_names() -> None:
    resources = _city(150)
    people = _by_type(resources, "Patient") + _by_type(resources, "Practitioner")
    assert len(_by_type(resources, "Patient")) == 150
    assert len(_by_type(resources, "Practitioner")) > 0
    for person in people:
        _check_names(person)


def test_patients_have_facility_numbers_a_ward_address_and_a_registration_consent() -> None:
    resources = _city(150)
    codes = {
        i["value"]
        for org in _by_type(resources, "Organization")
        for i in org.get("identifier", [])
        if i["system"] == MEDICAL_INSTITUTION_NO
    }
    assert codes
    registrations: dict[str, list[Resource]] = {}
    for consent in _by_type(resources, "Consent"):
        registrations.setdefault(consent["patient"]["reference"], []).append(consent)

    for patient in _by_type(resources, "Patient"):
        identifiers = patient["identifier"]
        assert identifiers, patient["id"]
        for identifier in identifiers:
            match = PATIENT_NUMBER.fullmatch(identifier["system"])
            assert match, identifier
            assert match.group(1) in codes, identifier
            assert identifier["value"]
        assert patient["address"], patient["id"]
        assert all(a["city"] in WARDS for a in patient["address"]), patient["address"]
        consents = registrations.get(f"Patient/{patient['id']}", [])
        assert any(
            ("http://terminology.hl7.org/CodeSystem/consentscope", "patient-privacy")
            in _codes(c["scope"])
            and any((LOINC, "59284-0") in _codes(cat) for cat in c["category"])
            for c in consents
        ), patient["id"]
    cities = {a["city"] for p in _by_type(resources, "Patient") for a in p["address"]}
    assert len(cities) >= 5, cities


def test_care_coverage_carries_jp_core_insured_person_number_and_the_insurer_number() -> None:
    """JP Core's shape for the 介護保険 card: the 10-digit 被保険者番号 in the
    JP_Coverage_InsuredPersonNumber extension, the payer's reference carrying the city's
    保険者番号, so `jp-insured-personnumber` and `payor:identifier` find the Coverage."""
    resources = _city(150)
    index = _index(resources)
    coverages = _by_type(resources, "Coverage")
    assert coverages
    for coverage in coverages:
        (number,) = [
            e["valueString"]
            for e in coverage["extension"]
            if e["url"] == JP_EXT + "JP_Coverage_InsuredPersonNumber"
        ]
        assert re.fullmatch(r"\d{10}", number), number
        assert number in [i["value"] for i in coverage["identifier"]]
        (payor,) = coverage["payor"]
        insurer = index[payor["reference"]]
        assert payor["identifier"] in insurer["identifier"]
        assert payor["identifier"]["system"] == "urn:oid:1.2.392.100495.20.3.61"


# Validation


def test_every_resource_passes_the_servers_validation() -> None:
    resources = _city(100)
    assert {"Patient", "Observation", "CareTeam", "Coverage", "DiagnosticReport"} <= {
        r["resourceType"] for r in resources
    }
    for resource in resources:
        validate(resource)


# Plausibility over a large city

PLAUSIBLE = 2000


def _patients_by_age(resources: tuple[Resource, ...]) -> dict[str, int]:
    return {f"Patient/{p['id']}": _age(p["birthDate"]) for p in _by_type(resources, "Patient")}


def test_most_citizens_are_elderly_and_a_third_of_them_have_care_and_a_care_manager() -> None:
    resources = _city(PLAUSIBLE)
    ages = _patients_by_age(resources)
    assert len(ages) == PLAUSIBLE
    elderly = {ref for ref, age in ages.items() if age >= 65}
    assert len(elderly) / len(ages) > 0.70

    covered = {c["beneficiary"]["reference"] for c in _by_type(resources, "Coverage")}
    covered_elderly = covered & elderly
    assert 0.25 <= len(covered_elderly) / len(elderly) <= 0.42

    roles = {r["id"] for r in _by_type(resources, "PractitionerRole")}
    managed: set[str] = set()
    for team in _by_type(resources, "CareTeam"):
        for participant in team.get("participant", []):
            member = participant.get("member", {}).get("reference", "")
            is_manager = any(
                c.get("code") == "care-manager"
                and c.get("system", "").endswith("CodeSystem/care-team-role")
                for role in participant.get("role", [])
                for c in role.get("coding", [])
            )
            if is_manager and member.startswith("PractitionerRole/"):
                assert member.removeprefix("PractitionerRole/") in roles, member
                managed.add(team["subject"]["reference"])
    assert sorted(covered_elderly - managed) == []


def test_diabetics_have_a_higher_hba1c() -> None:
    resources = _city(PLAUSIBLE)
    diabetics = {
        c["subject"]["reference"]
        for c in _by_type(resources, "Condition")
        if (ICD10, DIABETES) in _codes(c["code"])
    }
    assert diabetics
    values: dict[bool, list[float]] = {True: [], False: []}
    for obs in _by_type(resources, "Observation"):
        if (JLAC10, HBA1C) in _codes(obs["code"]):
            values[obs["subject"]["reference"] in diabetics].append(obs["valueQuantity"]["value"])
    assert values[True]
    assert values[False]
    assert statistics.mean(values[True]) >= statistics.mean(values[False]) + 1.0


def test_checkup_reports_group_the_observations_of_their_own_subject() -> None:
    resources = _city(PLAUSIBLE)
    index = _index(resources)
    reports = _by_type(resources, "DiagnosticReport")
    assert reports
    for report in reports:
        assert report["result"], report["id"]
        for result in report["result"]:
            observation = index[result["reference"]]
            assert observation["resourceType"] == "Observation"
            assert observation["subject"] == report["subject"], result


def test_inpatient_encounters_are_at_hospitals() -> None:
    resources = _city(PLAUSIBLE)
    index = _index(resources)
    inpatient = [e for e in _by_type(resources, "Encounter") if e["class"]["code"] == "IMP"]
    assert inpatient
    for encounter in inpatient:
        provider = index[encounter["serviceProvider"]["reference"]]
        assert provider["resourceType"] == "Organization"
        codes = {c["code"] for t in provider.get("type", []) for c in t.get("coding", [])}
        assert "hospital" in codes, (encounter["id"], provider["id"])


def test_drugs_are_coded_in_yj_and_diseases_in_icd10() -> None:
    resources = _city(PLAUSIBLE)
    requests = _by_type(resources, "MedicationRequest")
    conditions = _by_type(resources, "Condition")
    assert requests
    assert conditions
    for request in requests:
        codings = request["medicationCodeableConcept"]["coding"]
        assert codings, request["id"]
        assert {c["system"] for c in codings} == {YJ}, request["id"]
    for condition in conditions:
        codings = condition["code"]["coding"]
        assert codings, condition["id"]
        assert {c["system"] for c in codings} == {ICD10}, condition["id"]
