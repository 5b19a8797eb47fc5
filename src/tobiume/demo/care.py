"""A certified citizen's long-term-care record: 介護保険 Coverage with the 要介護度, the
assessment results of the certification, the CareTeam around them and their care plan.

Care management follows the law: a citizen certified 要支援1-2 is managed by the
地域包括支援センター of their district (介護予防支援), one certified 要介護1-5 by a care manager of
a 居宅介護支援事業所 in their ward. Services grow with the level: a day service or home help at
要支援, two or three services and a visiting nurse at 要介護3-5. The CareTeam names the care
manager (role `care-manager` of the server's care-team-role CodeSystem, member their
PractitionerRole), the home doctor, the services and the nurse; the CarePlan lists the services
as activities and addresses the conditions that need care.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from tobiume.demo import systems as cs
from tobiume.demo.citizens import Citizen
from tobiume.demo.city import district_of
from tobiume.demo.codes import (
    ADL_INDEPENDENCE,
    CARE_LEVELS,
    CARE_SERVICES,
    DEMENTIA_INDEPENDENCE,
    SUPPORT_LEVELS,
)
from tobiume.demo.facilities import Directory, Facility, Staff
from tobiume.demo.shapes import at, concept, ref

ROLES = {
    "care-manager": "介護支援専門員（ケアマネジャー）",
    "primary-physician": "かかりつけ医",
    "home-nursing": "訪問看護",
    "care-service": "介護サービス事業所",
    "community-support-center": "地域包括支援センター",
}
SCHEDULES = {
    "15": (2, "週2回（月・木）"),
    "11": (3, "週3回（月・水・金）"),
    "16": (1, "週1回（火）"),
    "13": (1, "週1回（水）"),
}
NEEDING_CARE = (
    "dementia",
    "stroke_sequela",
    "heart_failure",
    "parkinson",
    "knee_oa",
    "osteoporosis",
)


def records(
    citizen: Citizen, directory: Directory, conditions: dict[str, str]
) -> list[dict[str, Any]]:
    """The care resources of `citizen` (certified: `care_level` set); `conditions` maps a disease
    key to the id of its Condition, which the care plan addresses."""
    level = citizen.care_level
    assert level is not None
    rng = citizen.rng
    start = citizen.as_of - timedelta(days=rng.randint(30, 540))
    end = start + timedelta(days=365 * rng.choice((1, 2, 3)) - 1)
    if end < citizen.as_of:
        end += timedelta(days=365 * 3)
    support = level in SUPPORT_LEVELS
    centre = directory.centres[(citizen.ward.code, district_of(citizen.ward, citizen.town))]
    office = centre if support else rng.choice(directory.local("care-management", citizen.ward))
    manager = (
        next(s for s in directory.staff[office.id] if s.profession == "care-manager")
        if support
        else rng.choice(directory.staff[office.id])
    )
    services = _services(citizen, directory, level)
    nurse: Staff | None = None
    if (level in ("23", "24", "25") and rng.random() < 0.6) or citizen.has("parkinson"):
        station = rng.choice(directory.local("home-nursing", citizen.ward))
        nurse = rng.choice(directory.staff[station.id])
    doctor = directory.staff[citizen.clinic.id][0]
    team_id = citizen.rid("careteam", 1)
    out = [
        _coverage(citizen, directory, level, start, end),
        *_assessments(citizen, directory, level, start),
        _care_team(
            citizen, team_id, manager, doctor, services, nurse, centre if support else None, start
        ),
        _care_plan(citizen, team_id, manager, services, nurse, conditions, support, start, end),
    ]
    return out


def _services(citizen: Citizen, directory: Directory, level: str) -> list[Facility]:
    rng = citizen.rng
    local = directory.local("care-service", citizen.ward)
    wanted = 1 if level in SUPPORT_LEVELS else 2 if level in ("21", "22") else 3
    return rng.sample(local, min(wanted, len(local)))


def _coverage(
    citizen: Citizen, directory: Directory, level: str, start: date, end: date
) -> dict[str, Any]:
    """The 介護保険 Coverage in JP Core's shape (JP_Coverage,
    https://jpfhir.jp/fhir/core/1.2.0-dev/StructureDefinition-jp-coverage.html): the 被保険者番号 as
    the insured-person-number extension (and as identifier), the payer the city, its reference
    carrying the city's 保険者番号 so `payor:identifier` finds it."""
    display = next(name for code, name, _ in CARE_LEVELS if code == level)
    insured = f"{citizen.rng.randint(1, 999_999_999):010d}"
    city = directory.city
    return {
        "resourceType": "Coverage",
        "id": citizen.rid("coverage", 1),
        "extension": [{"url": cs.JP_INSURED_PERSON_NUMBER, "valueString": insured}],
        "identifier": [{"system": cs.CARE_INSURED_NO, "value": insured}],
        "status": "active",
        "type": concept(cs.COVERAGE_TYPE, "long-term-care", "介護保険"),
        "subscriberId": f"{citizen.number:010d}",
        "beneficiary": citizen.ref(),
        "relationship": concept(
            "http://terminology.hl7.org/CodeSystem/subscriber-relationship", "self", "Self"
        ),
        "period": {"start": start.isoformat(), "end": end.isoformat()},
        "payor": [{**city.ref(), "identifier": {"system": cs.INSURER_NO, "value": city.code}}],
        "class": [
            {
                "type": concept(cs.COVERAGE_CLASS, "plan", "Plan"),
                "value": "介護保険",
                "name": "介護保険（第1号被保険者）"
                if citizen.age >= 65
                else "介護保険（第2号被保険者）",
            },
            {
                "type": concept(cs.COVERAGE_CLASS_LOCAL, "care-level", "要介護状態区分"),
                "value": level,
                "name": display,
            },
        ],
    }


def _assessments(
    citizen: Citizen, directory: Directory, level: str, start: date
) -> list[dict[str, Any]]:
    """The certification's results: the care level, and the two independence scales."""
    rng = citizen.rng
    rank = [code for code, _, _ in CARE_LEVELS].index(level)
    adl = ADL_INDEPENDENCE[min(len(ADL_INDEPENDENCE) - 1, max(0, rank + rng.randint(-1, 1)))]
    dementia_rank = (3 + rng.randint(0, 3)) if citizen.has("dementia") else rng.randint(0, 2)
    dementia = DEMENTIA_INDEPENDENCE[min(dementia_rank, len(DEMENTIA_INDEPENDENCE) - 1)]
    level_name = next(name for code, name, _ in CARE_LEVELS if code == level)
    items = [
        ("care-level", "要介護状態区分", concept(cs.CARE_LEVEL, level, level_name)),
        (
            "adl-independence",
            "障害高齢者の日常生活自立度",
            concept(cs.ADL_SCALE, adl, adl),
        ),
        (
            "dementia-independence",
            "認知症高齢者の日常生活自立度",
            concept(cs.DEMENTIA_SCALE, dementia, dementia),
        ),
    ]
    return [
        {
            "resourceType": "Observation",
            "id": citizen.rid("assess", n),
            "status": "final",
            "category": [
                concept(cs.OBSERVATION_CATEGORY, "survey", "Survey"),
                concept(cs.RECORD_CATEGORY, "care-assessment", "要介護認定"),
            ],
            "code": concept(cs.CARE_ASSESSMENT, code, name),
            "subject": citizen.ref(),
            "effectiveDateTime": at(start - timedelta(days=7), 14),
            "performer": [directory.city.ref()],
            "valueCodeableConcept": value,
        }
        for n, (code, name, value) in enumerate(items, start=1)
    ]


def _participant(
    role: str, member: dict[str, Any], on_behalf_of: Facility | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "role": [concept(cs.CARE_TEAM_ROLE, role, ROLES[role])],
        "member": member,
    }
    if on_behalf_of is not None:
        body["onBehalfOf"] = on_behalf_of.ref()
    return body


def _care_team(
    citizen: Citizen,
    team_id: str,
    manager: Staff,
    doctor: Staff,
    services: list[Facility],
    nurse: Staff | None,
    centre: Facility | None,
    start: date,
) -> dict[str, Any]:
    participants = [
        _participant("care-manager", manager.ref(), manager.facility),
        _participant("primary-physician", doctor.ref(), doctor.facility),
        *(_participant("care-service", service.ref()) for service in services),
    ]
    if nurse is not None:
        participants.append(_participant("home-nursing", nurse.ref(), nurse.facility))
    if centre is not None:
        participants.append(_participant("community-support-center", centre.ref()))
    return {
        "resourceType": "CareTeam",
        "id": team_id,
        "status": "active",
        "category": [
            concept(cs.LOINC, "LA27976-2", "Longitudinal care-coordination focused care team")
        ],
        "name": f"{citizen.person.text} 様 ケアチーム",
        "subject": citizen.ref(),
        "period": {"start": start.isoformat()},
        "participant": participants,
        "managingOrganization": [manager.facility.ref()],
    }


def _care_plan(
    citizen: Citizen,
    team_id: str,
    manager: Staff,
    services: list[Facility],
    nurse: Staff | None,
    conditions: dict[str, str],
    support: bool,
    start: date,
    end: date,
) -> dict[str, Any]:
    kind = (
        ("preventive-care-plan", "介護予防サービス計画")
        if support
        else ("care-service-plan", "居宅サービス計画")
    )
    activities = [_activity(service.service, service) for service in services]
    if nurse is not None:
        activities.append(_activity("13", nurse.facility))
    addresses = [ref("Condition", conditions[key]) for key in NEEDING_CARE if key in conditions]
    plan: dict[str, Any] = {
        "resourceType": "CarePlan",
        "id": citizen.rid("careplan", 1),
        "status": "active",
        "intent": "plan",
        "category": [concept(cs.RECORD_CATEGORY, kind[0], kind[1])],
        "title": f"{kind[1]}書",
        "description": "住み慣れた自宅での生活を続けられるよう、入浴・機能訓練・服薬の支援を行う。",
        "subject": citizen.ref(),
        "period": {"start": (start + timedelta(days=7)).isoformat(), "end": end.isoformat()},
        "created": at(start + timedelta(days=7), 15),
        "author": manager.ref(),
        "careTeam": [ref("CareTeam", team_id)],
        "activity": activities,
    }
    if addresses:
        plan["addresses"] = addresses
    return plan


def _activity(service: str, provider: Facility) -> dict[str, Any]:
    per_week, text = SCHEDULES[service]
    return {
        "detail": {
            "kind": "ServiceRequest",
            "code": concept(cs.CARE_SERVICE_TYPE, service, CARE_SERVICES[service]),
            "status": "in-progress",
            "scheduledTiming": {"repeat": {"frequency": per_week, "period": 1, "periodUnit": "wk"}},
            "performer": [provider.ref()],
            "description": f"{CARE_SERVICES[service]} {text}",
        }
    }
