"""Who each registered citizen is: age, home, health, care needs and what they consented to,
and their Patient and registration Consent resources.

A citizen is drawn from their own random stream (seed and number), so citizen 17 is the same
person in a city of 100 and in a city of 30,000. Most are 65 and over, as the network's
registrants are; diseases follow age and sex; the chance of a 要介護/要支援 certification grows
with age and with dementia, stroke, heart failure and Parkinson's disease, so about a third of
the elderly have one and a care manager.

Consent (https://hl7.org/fhir/R4/consent.html): every citizen has a registration Consent of
scope `patient-privacy`, category LOINC 59284-0. Most permit every participant every class of
record; a few carry the shapes the access rules must honour: withdrawn (inactive), one clinic
carved out by a nested deny, only named facilities, no checkup records, and emergency access
only (a root deny with a nested permit for purpose ETREAT).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from tobiume.demo import systems as cs
from tobiume.demo.city import PREFECTURE, WARDS, Ward, postal_code
from tobiume.demo.codes import CARE_LEVELS, DISEASES, Disease
from tobiume.demo.facilities import Directory, Facility
from tobiume.demo.shapes import Person, at, coding, concept, person, ref

AGE_BANDS: tuple[tuple[int, int, float], ...] = (
    (40, 64, 0.20),
    (65, 74, 0.35),
    (75, 84, 0.30),
    (85, 99, 0.15),
)

PREVALENCE: dict[str, tuple[float, float, float]] = {
    # disease: chance under 65, at 65-74, at 75 and over
    "hypertension": (0.25, 0.45, 0.60),
    "dyslipidemia": (0.20, 0.30, 0.28),
    "diabetes": (0.08, 0.15, 0.18),
    "knee_oa": (0.05, 0.15, 0.25),
    "osteoporosis": (0.03, 0.15, 0.25),
    "gerd": (0.08, 0.10, 0.12),
    "insomnia": (0.06, 0.10, 0.12),
    "bph": (0.05, 0.25, 0.35),
    "ckd": (0.03, 0.10, 0.18),
    "af": (0.01, 0.04, 0.08),
    "heart_failure": (0.005, 0.03, 0.09),
    "stroke_sequela": (0.01, 0.04, 0.07),
    "dementia": (0.0, 0.03, 0.15),
    "parkinson": (0.002, 0.01, 0.02),
    "copd": (0.01, 0.04, 0.06),
}
CARE_RISK = {"dementia": 0.35, "stroke_sequela": 0.25, "heart_failure": 0.15, "parkinson": 0.30}
CARE_BASE = {64: 0.01, 74: 0.06, 84: 0.28, 99: 0.65}

CONSENT_SHAPES: tuple[tuple[str, float], ...] = (
    ("withdrawn", 0.02),
    ("deny-clinic", 0.03),
    ("named-facilities", 0.02),
    ("no-checkup", 0.02),
    ("emergency-only", 0.02),
)
"""Uncommon consent shapes and their shares; everyone else permits all."""
DATA_CLASS = cs.TOBIUME_CS + "data-class"
INFORMATION_RECIPIENT = coding(
    "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "IRCP", "information recipient"
)
RELATIONS = (("長女", "C"), ("長男", "C"), ("妻", "N"), ("夫", "N"), ("次女", "C"))


@dataclass
class Citizen:
    """The traits every record of one citizen is drawn from."""

    number: int
    id: str
    rng: random.Random
    as_of: date
    person: Person
    birth: date
    ward: Ward
    town: str
    line: str
    clinic: Facility
    hospital: Facility
    pharmacy: Facility
    diseases: list[Disease]
    care_level: str | None
    registered: date
    registrar: Facility
    consent_shape: str
    patient_numbers: dict[str, str] = field(default_factory=dict)
    """Facility id -> this citizen's patient number there (JP Core's per-facility identifier)."""

    @property
    def age(self) -> int:
        years = self.as_of.year - self.birth.year
        return years - ((self.as_of.month, self.as_of.day) < (self.birth.month, self.birth.day))

    def has(self, disease: str) -> bool:
        return any(d.key == disease for d in self.diseases)

    def ref(self) -> dict[str, Any]:
        return ref("Patient", self.id, self.person.text)

    def rid(self, kind: str, n: int) -> str:
        """The id of this citizen's `n`th record of `kind`: c000017-enc-3."""
        return f"{self.id}-{kind}-{n}"

    def number_at(self, facility: Facility) -> str:
        """The citizen's patient number at `facility`, made on first use."""
        if facility.id not in self.patient_numbers:
            self.patient_numbers[facility.id] = f"{self.rng.randint(1, 99_999_999):08d}"
        return self.patient_numbers[facility.id]


def draw(directory: Directory, seed: int, number: int, as_of: date) -> Citizen:
    rng = random.Random(f"tobiume-demo:{seed}:citizen:{number}")
    low, high, _ = rng.choices(AGE_BANDS, weights=[b[2] for b in AGE_BANDS])[0]
    age = rng.randint(low, high)
    birth = as_of - timedelta(days=age * 365 + rng.randint(1, 364) + age // 4)
    gender = "female" if rng.random() < 0.55 + (0.1 if age >= 85 else 0) else "male"
    ward = rng.choices(WARDS, weights=[w.population for w in WARDS])[0]
    town = rng.choice(ward.towns)
    line = f"{town}{rng.randint(1, 5)}丁目{rng.randint(1, 25)}-{rng.randint(1, 40)}"
    clinics = (
        directory.local("clinic", ward) if rng.random() < 0.85 else directory.facilities["clinic"]
    )
    hospitals = (
        directory.local("hospital", ward)
        if rng.random() < 0.7
        else directory.facilities["hospital"]
    )
    clinic, hospital = rng.choice(clinics), rng.choice(hospitals)
    pharmacy = rng.choice(directory.local("pharmacy", ward))
    diseases = _diseases(rng, age, gender)
    care_level = _care_level(rng, age, diseases)
    registered = as_of - timedelta(days=rng.randint(30, 8 * 365))
    registrar = rng.choices((clinic, hospital), weights=(0.75, 0.25))[0]
    shape = _consent_shape(rng)
    return Citizen(
        number,
        f"c{number:06d}",
        rng,
        as_of,
        person(rng, gender, birth.year),
        birth,
        ward,
        town,
        line,
        clinic,
        hospital,
        pharmacy,
        diseases,
        care_level,
        registered,
        registrar,
        shape,
    )


def _band(age: int) -> int:
    return 0 if age < 65 else 1 if age < 75 else 2


def _diseases(rng: random.Random, age: int, gender: str) -> list[Disease]:
    found: list[Disease] = []
    for key, chances in PREVALENCE.items():
        chance = chances[_band(age)]
        if key == "bph" and gender == "female":
            continue
        if key == "osteoporosis" and gender == "male":
            chance *= 0.2
        if key == "copd":
            chance *= 2.0 if gender == "male" else 0.5
        if key == "dementia" and age >= 85:
            chance = 0.35
        if rng.random() < chance:
            found.append(DISEASES[key])
    return found


def _care_level(rng: random.Random, age: int, diseases: list[Disease]) -> str | None:
    chance = next(base for top, base in CARE_BASE.items() if age <= top)
    chance += sum(CARE_RISK.get(d.key, 0.0) for d in diseases)
    if rng.random() >= min(chance, 0.95):
        return None
    levels = [code for code, _, _ in CARE_LEVELS]
    index = levels.index(rng.choices(levels, weights=[w for _, _, w in CARE_LEVELS])[0])
    if any(d.key in ("dementia", "stroke_sequela") for d in diseases):
        index = min(index + 1, len(levels) - 1)
    return levels[index]


def _consent_shape(rng: random.Random) -> str:
    draw_ = rng.random()
    for shape, share in CONSENT_SHAPES:
        if draw_ < share:
            return shape
        draw_ -= share
    return "permit-all"


def patient(citizen: Citizen) -> dict[str, Any]:
    rng = citizen.rng
    identifiers = [
        {"system": f"{cs.PATIENT_NUMBER_OID}{facility.code}", "value": citizen.number_at(facility)}
        for facility in (citizen.clinic, citizen.hospital)
    ]
    body: dict[str, Any] = {
        "resourceType": "Patient",
        "id": citizen.id,
        "meta": {"profile": [cs.JP_PATIENT]},
        "identifier": identifiers,
        "active": True,
        "name": citizen.person.names(),
        "telecom": [
            {
                "system": "phone",
                "value": f"093-{rng.randint(200, 999)}-{rng.randint(0, 9999):04d}",
                "use": "home",
            }
        ],
        "gender": citizen.person.gender,
        "birthDate": citizen.birth.isoformat(),
        "address": [
            {
                "use": "home",
                "text": f"{PREFECTURE}{citizen.ward.city}{citizen.line}",
                "line": [citizen.line],
                "city": citizen.ward.city,
                "state": PREFECTURE,
                "postalCode": postal_code(citizen.ward, citizen.town),
                "country": "JP",
            }
        ],
        "generalPractitioner": [citizen.clinic.ref()],
    }
    if citizen.age >= 65 and rng.random() < 0.7:
        body["contact"] = [_family_contact(citizen)]
    return body


def _family_contact(citizen: Citizen) -> dict[str, Any]:
    rng = citizen.rng
    relation, v2 = rng.choice(RELATIONS)
    gender = "female" if relation in ("長女", "妻", "次女") else "male"
    relative = person(rng, gender, citizen.birth.year + (0 if v2 == "N" else 28))
    if v2 == "N" or rng.random() < 0.5:
        relative = Person(
            citizen.person.family,
            citizen.person.family_kana,
            relative.given,
            relative.given_kana,
            gender,
        )
    return {
        "relationship": [
            {
                "coding": [coding("http://terminology.hl7.org/CodeSystem/v2-0131", v2)],
                "text": relation,
            }
        ],
        "name": relative.names()[0],
        "telecom": [
            {
                "system": "phone",
                "value": f"090-{rng.randint(1000, 9999)}-{rng.randint(0, 9999):04d}",
                "use": "mobile",
            }
        ],
        "gender": gender,
    }


def consent(citizen: Citizen, directory: Directory) -> dict[str, Any]:
    """The registration: scope patient-privacy, category LOINC 59284-0, and the citizen's rules."""
    registered = citizen.registered
    provision: dict[str, Any] = {"type": "permit", "period": {"start": registered.isoformat()}}
    shape = citizen.consent_shape
    if shape == "deny-clinic":
        others = [c for c in directory.local("clinic", citizen.ward) if c.id != citizen.clinic.id]
        excluded = citizen.rng.choice(others or directory.facilities["clinic"])
        provision["provision"] = [{"type": "deny", "actor": [_actor(excluded)]}]
    elif shape == "named-facilities":
        provision["actor"] = [_actor(citizen.hospital), _actor(citizen.clinic)]
    elif shape == "no-checkup":
        provision["provision"] = [
            {"type": "deny", "class": [coding(DATA_CLASS, "checkup", "健診")]}
        ]
    elif shape == "emergency-only":
        provision = {
            "type": "deny",
            "period": {"start": registered.isoformat()},
            "provision": [
                {
                    "type": "permit",
                    "purpose": [coding(cs.ACT_REASON, "ETREAT", "Emergency Treatment")],
                }
            ],
        }
    return {
        "resourceType": "Consent",
        "id": citizen.rid("consent", 1),
        "status": "inactive" if shape == "withdrawn" else "active",
        "scope": concept(cs.CONSENT_SCOPE, "patient-privacy", "Privacy Consent"),
        "category": [concept(cs.LOINC, "59284-0", "Patient Consent")],
        "patient": citizen.ref(),
        "dateTime": at(registered, 10),
        "performer": [citizen.ref()],
        "organization": [citizen.registrar.ref()],
        "policy": [{"uri": "http://tobiume.example/fhir/policy/registration"}],
        "policyRule": concept(cs.ACT_CODE, "OPTIN", "opt-in"),
        "provision": provision,
    }


def _actor(facility: Facility) -> dict[str, Any]:
    return {"role": {"coding": [INFORMATION_RECIPIENT]}, "reference": facility.ref()}
