"""A citizen's health checkups: 特定健診 (40-74) and the checkups for the 75 and over
(後期高齢者健診), each a DiagnosticReport grouping the results as Observations.

Items and JLAC10 codes follow the MHLW 特定健診 data standard: body measurements, blood
pressure, lipids, liver function, glucose and HbA1c, urine glucose and protein. Values come
from the citizen's own constitution (height, a usual BMI and blood pressure) and diseases, so a
treated diabetic's HbA1c is high year after year and an obese citizen's waist is large.
Flags use the 保健指導判定値, and the report's conclusion is the metabolic-syndrome judgement
(基準該当, 予備群該当, 非該当).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from tobiume.demo import systems as cs
from tobiume.demo.citizens import Citizen
from tobiume.demo.codes import CHECKUP, URINE, URINE_GRADES, CheckupItem
from tobiume.demo.facilities import Facility
from tobiume.demo.shapes import at, coding, concept, quantity, ref

GUIDANCE: dict[str, tuple[float | None, float | None]] = {
    # 保健指導判定値: (below is low, from is high)
    "bmi": (None, 25),
    "sbp": (None, 130),
    "dbp": (None, 85),
    "tg": (None, 150),
    "hdl": (40, None),
    "ldl": (None, 120),
    "ast": (None, 31),
    "alt": (None, 31),
    "ggt": (None, 51),
    "glucose": (None, 100),
    "hba1c": (None, 5.6),
}
METABOLIC = (("1", "基準該当"), ("2", "予備群該当"), ("3", "非該当"))
CHECKUP_KIND = ("specific-health-checkup", "特定健康診査")
ELDER_KIND = ("elderly-health-checkup", "後期高齢者健康診査")


def records(citizen: Citizen) -> list[dict[str, Any]]:
    rng = citizen.rng
    if citizen.age < 40:
        return []
    attends = rng.random() < (0.55 if citizen.age < 75 else 0.3)
    out: list[dict[str, Any]] = []
    constitution = _constitution(citizen)
    for n, year in enumerate(range(citizen.as_of.year - 2, citizen.as_of.year + 1), start=1):
        day = date(year, rng.randint(6, 11), rng.randint(1, 28))
        if day >= citizen.as_of or rng.random() >= (0.85 if attends else 0.08):
            continue
        where = citizen.clinic if rng.random() < 0.8 else citizen.hospital
        age_then = citizen.age - (citizen.as_of.year - year)
        out.extend(_checkup(citizen, n, day, where, constitution, age_then))
    return out


def _constitution(citizen: Citizen) -> dict[str, float]:
    g = citizen.rng.gauss
    male = citizen.person.gender == "male"
    older = citizen.birth.year < 1950
    metabolic = citizen.has("diabetes") or citizen.has("hypertension")
    return {
        "height": g((164 if older else 170) if male else (151 if older else 157), 5.5),
        "bmi": g(23.8 if metabolic else 22.3, 2.8),
        "sbp": g(138 if citizen.has("hypertension") else 122, 11),
        "tg": g(150 if citizen.has("dyslipidemia") or citizen.has("diabetes") else 105, 30),
        "hdl": g(50 if metabolic else 60, 12),
        "alt": g(19, 6),
    }


def _checkup(
    citizen: Citizen, n: int, day: date, where: Facility, base: dict[str, float], age: int
) -> list[dict[str, Any]]:
    g = citizen.rng.gauss
    male = citizen.person.gender == "male"
    height = base["height"]
    bmi = max(15.0, g(base["bmi"], 0.5))
    diabetic = citizen.has("diabetes")
    values: dict[str, float] = {
        "height": height,
        "weight": bmi * (height / 100) ** 2,
        "bmi": bmi,
        "waist": bmi * (3.45 if male else 3.55) + g(4 if male else 2, 3),
        "sbp": g(base["sbp"], 7),
        "tg": max(30.0, g(base["tg"], 25)),
        "hdl": max(25.0, g(base["hdl"], 4)),
        "ldl": max(50.0, g(112 if citizen.has("dyslipidemia") else 126, 22)),
        "alt": max(5.0, g(base["alt"] + (bmi - 22) * 1.5, 4)),
        "glucose": max(70.0, g(142, 22) if diabetic else g(94, 8)),
        "hba1c": max(4.5, g(7.2, 0.7) if diabetic else g(5.5, 0.3)),
    }
    values["dbp"] = values["sbp"] * 0.62 + g(0, 5)
    values["ast"] = max(8.0, values["alt"] * 0.8 + g(6, 3))
    values["ggt"] = max(8.0, g(38 if male else 22, 15))
    items = [i for i in CHECKUP if not (i.key == "waist" and age >= 75)]
    kind = CHECKUP_KIND if age < 75 else ELDER_KIND
    report_id = citizen.rid("checkup", n)
    out = [
        _result(citizen, report_id, i, item, day, where, values, kind)
        for i, item in enumerate(items, 1)
    ]
    urine_glucose = 3 if diabetic and values["glucose"] > 170 else 1 if diabetic else 0
    urine_protein = 2 if citizen.has("ckd") else 0
    for offset, (item, grade) in enumerate(zip(URINE, (urine_glucose, urine_protein), strict=True)):
        out.append(
            _urine(citizen, report_id, len(items) + 1 + offset, item, day, where, grade, kind)
        )
    out.append(_report(citizen, report_id, day, where, out, values, male, kind))
    return out


def _categories(item: CheckupItem, kind: tuple[str, str]) -> list[dict[str, Any]]:
    names = {"vital-signs": "Vital Signs", "exam": "Exam", "laboratory": "Laboratory"}
    return [
        concept(cs.OBSERVATION_CATEGORY, item.category, names[item.category]),
        concept(cs.RECORD_CATEGORY, kind[0], kind[1]),
    ]


def _base(
    citizen: Citizen,
    report_id: str,
    i: int,
    item: CheckupItem,
    day: date,
    where: Facility,
    kind: tuple[str, str],
) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": f"{report_id}-{i}",
        "status": "final",
        "category": _categories(item, kind),
        "code": {
            "coding": [coding(cs.JLAC10, item.jlac10, item.name), coding(cs.LOINC, item.loinc)],
            "text": item.name,
        },
        "subject": citizen.ref(),
        "effectiveDateTime": at(day, 9),
        "issued": at(day, 17),
        "performer": [where.ref()],
    }


def _result(
    citizen: Citizen,
    report_id: str,
    i: int,
    item: CheckupItem,
    day: date,
    where: Facility,
    values: dict[str, float],
    kind: tuple[str, str],
) -> dict[str, Any]:
    body = _base(citizen, report_id, i, item, day, where, kind)
    value = values[item.key]
    body["valueQuantity"] = quantity(value, item.unit, item.decimals)
    low, high = GUIDANCE.get(item.key, (None, None))
    if item.key == "waist":
        high = 85 if citizen.person.gender == "male" else 90
    flag = (
        "H"
        if high is not None and value >= high
        else "L"
        if low is not None and value < low
        else None
    )
    if flag:
        body["interpretation"] = [
            concept(cs.INTERPRETATION, flag, "High" if flag == "H" else "Low")
        ]
    return body


def _urine(
    citizen: Citizen,
    report_id: str,
    i: int,
    item: CheckupItem,
    day: date,
    where: Facility,
    grade: int,
    kind: tuple[str, str],
) -> dict[str, Any]:
    body = _base(citizen, report_id, i, item, day, where, kind)
    body["valueString"] = URINE_GRADES[grade]
    if grade >= 2:
        body["interpretation"] = [concept(cs.INTERPRETATION, "A", "Abnormal")]
    return body


def _report(
    citizen: Citizen,
    report_id: str,
    day: date,
    where: Facility,
    results: list[dict[str, Any]],
    values: dict[str, float],
    male: bool,
    kind: tuple[str, str],
) -> dict[str, Any]:
    code, judgement = _metabolic(values, male)
    return {
        "resourceType": "DiagnosticReport",
        "id": report_id,
        "status": "final",
        "category": [
            concept(cs.DIAGNOSTIC_SERVICE, "LAB", "Laboratory"),
            concept(cs.RECORD_CATEGORY, kind[0], kind[1]),
        ],
        "code": concept(cs.RECORD_CATEGORY, kind[0], kind[1]),
        "subject": citizen.ref(),
        "effectiveDateTime": at(day, 9),
        "issued": at(day, 17),
        "performer": [where.ref()],
        "result": [ref("Observation", r["id"]) for r in results],
        "conclusion": f"メタボリックシンドローム判定: {judgement}",
        "conclusionCode": [concept(cs.METABOLIC_JUDGEMENT, code, judgement)],
    }


def _metabolic(values: dict[str, float], male: bool) -> tuple[str, str]:
    """The 特定健診 judgement: a large waist (85 cm men, 90 cm women) or BMI 25, plus how many
    of blood pressure, lipids and glucose are over the line."""
    if values["waist"] < (85 if male else 90) and values["bmi"] < 25:
        return METABOLIC[2]
    risks = sum(
        (
            values["sbp"] >= 130 or values["dbp"] >= 85,
            values["tg"] >= 150 or values["hdl"] < 40,
            values["glucose"] >= 110 or values["hba1c"] >= 6.0,
        )
    )
    return METABOLIC[0] if risks >= 2 else METABOLIC[1] if risks == 1 else METABOLIC[2]
