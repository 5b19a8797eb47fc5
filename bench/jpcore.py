"""JP Core-shaped benchmark data: Patients of Kitakyushu and their laboratory Observations.

Everything is generated from a seeded `random.Random`, so two runs with the same arguments load
the same data. Patients carry ids (`bp000001`, ...) and one facility-scoped identifier each, so
the benchmark knows which ids and identifiers exist without asking the server:

* the identifier system is JP Core's patient-number OID for a facility,
  `urn:oid:1.2.392.100495.20.3.51.1` followed by the 10-digit medical-institution code
  (prefecture 40 = 福岡県, score-table 1 = medical, 7-digit institution number);
* names come twice, kanji (`IDE`) and kana (`SYL`), marked with the
  `iso21090-EN-representation` extension;
* Observations use JLAC10 result codes (`urn:oid:1.2.392.200119.4.504`) with UCUM quantities.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

EN_REPRESENTATION = "http://hl7.org/fhir/StructureDefinition/iso21090-EN-representation"
PATIENT_ID_OID = "urn:oid:1.2.392.100495.20.3.51.1"
JLAC10 = "urn:oid:1.2.392.200119.4.504"
UCUM = "http://unitsofmeasure.org"
JP_CORE_PATIENT = "http://jpfhir.jp/fhir/core/StructureDefinition/JP_Patient"
JP_CORE_LAB = "http://jpfhir.jp/fhir/core/StructureDefinition/JP_Observation_LabResult"

# 10-digit institution codes: 40 (Fukuoka) + 1 (medical) + 7-digit institution number.
FACILITIES = [
    "4011110017",
    "4011110025",
    "4011210031",
    "4011310049",
    "4011410054",
    "4011510062",
    "4011610070",
    "4011710088",
]

FAMILY = [
    ("山田", "ヤマダ"),
    ("田中", "タナカ"),
    ("佐藤", "サトウ"),
    ("鈴木", "スズキ"),
    ("高橋", "タカハシ"),
    ("渡辺", "ワタナベ"),
    ("伊藤", "イトウ"),
    ("中村", "ナカムラ"),
    ("小林", "コバヤシ"),
    ("吉田", "ヨシダ"),
    ("松本", "マツモト"),
    ("井上", "イノウエ"),
    ("木村", "キムラ"),
    ("林", "ハヤシ"),
    ("清水", "シミズ"),
    ("山口", "ヤマグチ"),
    ("古賀", "コガ"),
    ("末松", "スエマツ"),
    ("田端", "タバタ"),
    ("白石", "シライシ"),
]
GIVEN_MALE = [
    ("太郎", "タロウ"),
    ("一郎", "イチロウ"),
    ("健二", "ケンジ"),
    ("博", "ヒロシ"),
    ("誠", "マコト"),
    ("茂", "シゲル"),
    ("勇", "イサム"),
    ("清", "キヨシ"),
    ("翔太", "ショウタ"),
    ("大輔", "ダイスケ"),
]
GIVEN_FEMALE = [
    ("花子", "ハナコ"),
    ("幸子", "サチコ"),
    ("和子", "カズコ"),
    ("洋子", "ヨウコ"),
    ("恵子", "ケイコ"),
    ("節子", "セツコ"),
    ("美咲", "ミサキ"),
    ("陽子", "ヨウコ"),
    ("千代", "チヨ"),
    ("久美子", "クミコ"),
]
# Wards of 北九州市 with a postal code and a town in each.
WARDS = [
    ("門司区", "801-0852", "港町"),
    ("小倉北区", "803-8501", "城内"),
    ("小倉南区", "802-8510", "若園"),
    ("若松区", "808-0034", "本町"),
    ("八幡東区", "805-0019", "中央"),
    ("八幡西区", "806-0021", "黒崎"),
    ("戸畑区", "804-0066", "初音町"),
]
# JLAC10 result code, display, UCUM unit, typical mean and spread.
LAB_TESTS = [
    ("3D046000001920402", "HbA1c(NGSP)", "%", 5.8, 0.8),
    ("3D010000002227101", "グルコース", "mg/dL", 105.0, 25.0),
    ("3B035000002327201", "AST", "U/L", 24.0, 8.0),
    ("3B045000002327201", "ALT", "U/L", 22.0, 10.0),
    ("3F077000002327101", "LDLコレステロール", "mg/dL", 120.0, 30.0),
    ("3C015000002327101", "クレアチニン", "mg/dL", 0.9, 0.25),
    ("2A990000001930952", "ヘモグロビン", "g/dL", 13.5, 1.5),
    ("3F015000002327101", "中性脂肪", "mg/dL", 130.0, 50.0),
]


@dataclass(frozen=True)
class PatientKey:
    """What the benchmark needs to address an existing Patient."""

    id: str
    system: str
    value: str


def _name(kanji: tuple[str, str], kana: tuple[str, str]) -> list[dict[str, Any]]:
    return [
        {
            "extension": [{"url": EN_REPRESENTATION, "valueCode": "IDE"}],
            "use": "official",
            "text": f"{kanji[0]} {kanji[1]}",
            "family": kanji[0],
            "given": [kanji[1]],
        },
        {
            "extension": [{"url": EN_REPRESENTATION, "valueCode": "SYL"}],
            "use": "official",
            "text": f"{kana[0]} {kana[1]}",
            "family": kana[0],
            "given": [kana[1]],
        },
    ]


def patient(rng: random.Random, *, res_id: str | None, system: str, value: str) -> dict[str, Any]:
    """One JP Core Patient; without `res_id` it is a body for create."""
    male = rng.random() < 0.48
    family = rng.choice(FAMILY)
    given = rng.choice(GIVEN_MALE if male else GIVEN_FEMALE)
    ward, postal, town = rng.choice(WARDS)
    block = f"{rng.randint(1, 9)}-{rng.randint(1, 30)}-{rng.randint(1, 20)}"
    body: dict[str, Any] = {"resourceType": "Patient"}
    if res_id is not None:
        body["id"] = res_id
    body |= {
        "meta": {"profile": [JP_CORE_PATIENT]},
        "identifier": [{"system": system, "value": value}],
        "active": True,
        "name": _name((family[0], given[0]), (family[1], given[1])),
        "telecom": [
            {"system": "phone", "value": f"093-{rng.randint(100, 999)}-{rng.randint(0, 9999):04d}"}
        ],
        "gender": "male" if male else "female",
        "birthDate": f"{rng.randint(1925, 2005)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        "address": [
            {
                "use": "home",
                "text": f"福岡県北九州市{ward}{town}{block}",
                "line": [f"{town}{block}"],
                "city": "北九州市",
                "district": ward,
                "state": "福岡県",
                "postalCode": postal,
                "country": "JP",
            }
        ],
    }
    return body


def observation(
    rng: random.Random, *, res_id: str | None, subject: str, day: int
) -> dict[str, Any]:
    """One JP Core laboratory result about `subject` (a reference string)."""
    code, display, unit, mean, spread = rng.choice(LAB_TESTS)
    value = round(max(0.1, rng.gauss(mean, spread)), 1)
    month, dom = 1 + day % 12, 1 + day % 28
    body: dict[str, Any] = {"resourceType": "Observation"}
    if res_id is not None:
        body["id"] = res_id
    body |= {
        "meta": {"profile": [JP_CORE_LAB]},
        "status": "final",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "laboratory",
                    }
                ]
            }
        ],
        "code": {"coding": [{"system": JLAC10, "code": code, "display": display}]},
        "subject": {"reference": subject},
        "effectiveDateTime": f"2025-{month:02d}-{dom:02d}T09:{rng.randint(0, 59):02d}:00+09:00",
        "valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit},
    }
    return body


def patient_key(index: int) -> PatientKey:
    facility = FACILITIES[index % len(FACILITIES)]
    return PatientKey(f"bp{index:07d}", PATIENT_ID_OID + facility, f"{index:08d}")


def dataset(
    n_resources: int, obs_per_patient: int, seed: int
) -> Iterator[tuple[PatientKey, dict[str, Any], list[dict[str, Any]]]]:
    """Patients with their Observations, `n_resources` resources in all (at least one Patient)."""
    rng = random.Random(seed)
    n_patients = max(1, n_resources // (1 + obs_per_patient))
    n_obs = n_resources - n_patients
    for index in range(n_patients):
        key = patient_key(index)
        body = patient(rng, res_id=key.id, system=key.system, value=key.value)
        count = n_obs // n_patients + (1 if index < n_obs % n_patients else 0)
        observations = [
            observation(
                rng, res_id=f"bo{index:07d}-{k}", subject=f"Patient/{key.id}", day=index + k
            )
            for k in range(count)
        ]
        yield key, body, observations


def create_template(seed: int) -> dict[str, Any]:
    """A Patient without id for the create scenario; `__IDV__` is replaced per request."""
    rng = random.Random(seed + 1)
    return patient(rng, res_id=None, system=PATIENT_ID_OID + FACILITIES[0], value="__IDV__")


def update_template(seed: int) -> dict[str, Any]:
    """A Patient for the update scenario: `__ID__`, `__SYS__`, `__IDV__` and `__TEL__` are
    replaced per request by an existing Patient's id and identifier and a new phone number, so
    that updates keep every identifier searchable."""
    rng = random.Random(seed + 2)
    body = patient(rng, res_id="__ID__", system="__SYS__", value="__IDV__")
    body["telecom"] = [{"system": "phone", "value": "__TEL__"}]
    return body


def transaction_template(seed: int, observations: int = 9) -> dict[str, Any]:
    """A transaction Bundle: one new Patient and `observations` Observations about it.

    Its fullUrls are `urn:uuid:__U0__` ... `urn:uuid:__U9__`, and the Patient's identifier value
    `__IDV__`; the wrk script replaces them per request so that every Bundle is new.
    """
    rng = random.Random(seed + 3)
    pat = patient(rng, res_id=None, system=PATIENT_ID_OID + FACILITIES[1], value="__IDV__")
    entries: list[dict[str, Any]] = [
        {
            "fullUrl": "urn:uuid:__U0__",
            "resource": pat,
            "request": {"method": "POST", "url": "Patient"},
        }
    ]
    for k in range(observations):
        obs = observation(rng, res_id=None, subject="urn:uuid:__U0__", day=k)
        entries.append(
            {
                "fullUrl": f"urn:uuid:__U{k + 1}__",
                "resource": obs,
                "request": {"method": "POST", "url": "Observation"},
            }
        )
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}
