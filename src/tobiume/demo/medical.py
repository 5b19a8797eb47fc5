"""A citizen's medical record: the diseases they live with, their visits and admissions, what
they take, what their blood shows and what they are allergic to.

Everything hangs together as a clinician would expect: chronic diseases are followed at the
home clinic every few months with the laboratory items that disease needs (a diabetic's HbA1c
is high, a CKD patient's eGFR low and computed from creatinine by the Japanese equation), the
drugs of each disease are prescribed at the last visit, and an admission (pneumonia, hip
fracture, heart failure, stroke, urinary infection) has its inpatient Encounter, diagnosis,
admission laboratory results and inpatient drugs. JP Core shapes: Condition
(https://jpfhir.jp/fhir/core/), MedicationRequest with YJ codes and MERIT-9 units, laboratory
Observations with JLAC10 codes and UCUM units.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from typing import Any

from tobiume.demo import systems as cs
from tobiume.demo.citizens import Citizen
from tobiume.demo.codes import ACUTE, ALLERGIES, DRUGS, LABS, Disease, Lab
from tobiume.demo.facilities import Directory, Facility, Staff
from tobiume.demo.shapes import at, coding, concept, quantity, ref

FORMS = {"TAB": "錠", "CAP": "カプセル", "HON": "本", "MAI": "枚", "KO": "個"}


class Medical:
    """Builds one citizen's medical resources, numbering them as it goes."""

    def __init__(self, citizen: Citizen, directory: Directory) -> None:
        self.c = citizen
        self.directory = directory
        self.out: list[dict[str, Any]] = []
        self.counts: dict[str, int] = {}
        self.conditions: dict[str, str] = {}
        """Chronic disease key -> the id of its Condition."""
        self.creatinine: float | None = None
        """This citizen's usual creatinine, drawn at the first measurement."""
        self.measured_creatinine: float | None = None
        """The creatinine of the visit being written, which its eGFR is computed from."""

    def next_id(self, kind: str) -> str:
        self.counts[kind] = self.counts.get(kind, 0) + 1
        return self.c.rid(kind, self.counts[kind])

    def build(self) -> list[dict[str, Any]]:
        rng = self.c.rng
        self.conditions = {d.key: self._chronic(d) for d in self.c.diseases}
        self._allergies()
        if self.c.diseases:
            visits = sorted(
                self.c.as_of - timedelta(days=rng.randint(1, 365)) for _ in range(rng.randint(2, 6))
            )
            last = ""
            for day in visits:
                last = self._visit(self.c.clinic, day, [d for d in self.c.diseases if d.labs])
            for disease in self.c.diseases:
                for n, key in enumerate(disease.drugs):
                    if n == 0 or rng.random() < 0.4:
                        self._prescription(
                            key,
                            visits[-1],
                            last,
                            self.c.clinic,
                            "active",
                            self.conditions[disease.key],
                        )
        elif rng.random() < 0.3:
            self._visit(self.c.clinic, self.c.as_of - timedelta(days=rng.randint(1, 365)), [])
        if rng.random() < 0.25:
            self._visit(self.c.hospital, self.c.as_of - timedelta(days=rng.randint(1, 365)), [])
        if rng.random() < (0.04, 0.08, 0.18)[0 if self.c.age < 65 else 1 if self.c.age < 75 else 2]:
            self._admission()
        return self.out

    def _doctor(self, facility: Facility) -> Staff:
        return self.c.rng.choice(self.directory.staff[facility.id])

    def _chronic(self, disease: Disease) -> str:
        rng = self.c.rng
        onset = self.c.as_of - timedelta(days=rng.randint(200, 15 * 365))
        res_id = self.next_id("cond")
        self.out.append(
            {
                "resourceType": "Condition",
                "id": res_id,
                "meta": {"profile": [cs.JP_CONDITION]},
                "clinicalStatus": concept(cs.CONDITION_CLINICAL, "active", "Active"),
                "verificationStatus": concept(cs.CONDITION_VERIFICATION, "confirmed", "Confirmed"),
                "category": [
                    concept(cs.CONDITION_CATEGORY, "problem-list-item", "Problem List Item")
                ],
                "code": concept(cs.ICD10, disease.icd10, disease.name),
                "subject": self.c.ref(),
                "onsetDateTime": onset.isoformat(),
                "recordedDate": max(onset, self.c.registered - timedelta(days=400)).isoformat(),
                "recorder": self._doctor(self.c.clinic).ref(),
            }
        )
        return res_id

    def _allergies(self) -> None:
        rng = self.c.rng
        count = 0 if rng.random() < 0.82 else 1 if rng.random() < 0.8 else 2
        for text, category, criticality, reaction in rng.sample(ALLERGIES, count):
            self.out.append(
                {
                    "resourceType": "AllergyIntolerance",
                    "id": self.next_id("alg"),
                    "clinicalStatus": concept(cs.ALLERGY_CLINICAL, "active", "Active"),
                    "verificationStatus": concept(
                        cs.ALLERGY_VERIFICATION, "confirmed", "Confirmed"
                    ),
                    "type": "allergy",
                    "category": [category],
                    "criticality": criticality,
                    "code": {"text": text},
                    "patient": self.c.ref(),
                    "recordedDate": (
                        self.c.registered - timedelta(days=rng.randint(0, 2000))
                    ).isoformat(),
                    "reaction": [{"manifestation": [{"text": reaction}]}],
                }
            )

    def _encounter(
        self, facility: Facility, cls: str, start: str, end: str | None, **extra: Any
    ) -> str:
        res_id = self.next_id("enc")
        displays = {"AMB": "ambulatory", "IMP": "inpatient encounter", "EMER": "emergency"}
        body: dict[str, Any] = {
            "resourceType": "Encounter",
            "id": res_id,
            "status": "finished" if end else "in-progress",
            "class": coding(cs.ACT_CODE, cls, displays[cls]),
            "subject": self.c.ref(),
            "participant": [{"individual": self._doctor(facility).ref()}],
            "period": {"start": start, **({"end": end} if end else {})},
            "serviceProvider": facility.ref(),
            **extra,
        }
        self.out.append(body)
        return res_id

    def _visit(self, facility: Facility, day: date, followed: list[Disease]) -> str:
        hour = self.c.rng.randint(9, 16)
        enc = self._encounter(facility, "AMB", at(day, hour), at(day, hour, 20))
        seen: set[str] = set()
        for disease in followed:
            for key in disease.labs:
                if key not in seen:
                    seen.add(key)
                    self._lab(LABS[key], day, hour, enc, facility)
        return enc

    def _lab(
        self, lab: Lab, day: date, hour: int, encounter: str, facility: Facility, acute: str = ""
    ) -> None:
        value = self._value(lab.key, acute)
        codings = [coding(cs.JLAC10, lab.jlac10, lab.name)]
        if lab.loinc:
            codings.append(coding(cs.LOINC, lab.loinc))
        body: dict[str, Any] = {
            "resourceType": "Observation",
            "id": self.next_id("lab"),
            "meta": {"profile": [cs.JP_LAB]},
            "status": "final",
            "category": [concept(cs.OBSERVATION_CATEGORY, "laboratory", "Laboratory")],
            "code": {"coding": codings, "text": lab.name},
            "subject": self.c.ref(),
            "encounter": ref("Encounter", encounter),
            "effectiveDateTime": at(day, hour),
            "issued": at(day, min(hour + 2, 23)),
            "performer": [facility.ref()],
            "valueQuantity": quantity(value, lab.unit, lab.decimals),
        }
        flag = _flag(value, lab.low, lab.high)
        if flag:
            body["interpretation"] = [
                concept(cs.INTERPRETATION, flag, "High" if flag == "H" else "Low")
            ]
        limits: dict[str, Any] = {}
        if lab.low is not None:
            limits["low"] = quantity(lab.low, lab.unit, lab.decimals)
        if lab.high is not None:
            limits["high"] = quantity(lab.high, lab.unit, lab.decimals)
        body["referenceRange"] = [limits]
        self.out.append(body)

    def _value(self, key: str, acute: str) -> float:
        g = self.c.rng.gauss
        c = self.c
        male = c.person.gender == "male"
        if key == "hba1c":
            return _clamp(g(7.3, 0.8) if c.has("diabetes") else g(5.6, 0.3), 4.5, 12.0)
        if key == "glucose":
            return _clamp(g(145, 25) if c.has("diabetes") else g(95, 9), 70, 300)
        if key == "ldl":
            return _clamp(g(112, 20) if c.has("dyslipidemia") else g(125, 28), 50, 240)
        if key == "creatinine":
            self.measured_creatinine = self._creatinine()
            return self.measured_creatinine
        if key == "egfr":
            creatinine = self.measured_creatinine or self._creatinine()
            egfr = 194 * creatinine**-1.094 * c.age**-0.287 * (1 if male else 0.739)
            return _clamp(egfr, 5, 120)
        if key == "potassium":
            return _clamp(g(4.6 if c.has("ckd") else 4.2, 0.35), 3.0, 6.2)
        if key == "hemoglobin":
            base = 13.8 if male else 12.4
            return _clamp(g(base - (2.0 if acute == "hip_fracture" else 0), 1.1), 7.0, 17.5)
        if key == "wbc":
            return _clamp(g(12.5, 3.0) if acute else g(6.0, 1.4), 2.0, 25.0)
        if key == "crp":
            return _clamp(g(8.0, 4.0) if acute else abs(g(0.08, 0.06)), 0.01, 25.0)
        raise KeyError(key)

    def _creatinine(self) -> float:
        """The same citizen's creatinine at every visit, with small noise: CKD raises it."""
        if self.creatinine is None:
            male = self.c.person.gender == "male"
            base = (0.9 if male else 0.68) * (1.8 if self.c.has("ckd") else 1.0)
            self.creatinine = _clamp(self.c.rng.gauss(base, base * 0.12), 0.4, 6.0)
        return round(_clamp(self.creatinine * self.c.rng.gauss(1.0, 0.04), 0.4, 6.5), 2)

    def _prescription(
        self, key: str, day: date, encounter: str, facility: Facility, status: str, reason: str
    ) -> None:
        drug = DRUGS[key]
        unit = FORMS[drug.form]
        self.out.append(
            {
                "resourceType": "MedicationRequest",
                "id": self.next_id("med"),
                "meta": {"profile": [cs.JP_MEDICATION_REQUEST]},
                "status": status,
                "intent": "order",
                "medicationCodeableConcept": {
                    "coding": [coding(cs.YJ, drug.yj, drug.name)],
                    "text": drug.name,
                },
                "subject": self.c.ref(),
                "encounter": ref("Encounter", encounter),
                "authoredOn": at(day, 11),
                "requester": self._doctor(facility).ref(),
                "reasonReference": [ref("Condition", reason)],
                "dosageInstruction": [
                    {
                        "text": drug.dose,
                        "timing": {
                            "repeat": {"frequency": drug.per_day, "period": 1, "periodUnit": "d"}
                        },
                        "doseAndRate": [
                            {
                                "doseQuantity": {
                                    "value": 1,
                                    "unit": unit,
                                    "system": cs.MERIT9_UNIT,
                                    "code": drug.form,
                                }
                            }
                        ],
                    }
                ],
                "dispenseRequest": {
                    "quantity": {
                        "value": drug.per_day * 28,
                        "unit": unit,
                        "system": cs.MERIT9_UNIT,
                        "code": drug.form,
                    },
                    "expectedSupplyDuration": {
                        "value": 28,
                        "unit": "日",
                        "system": cs.UCUM,
                        "code": "d",
                    },
                },
            }
        )

    def _admission(self) -> None:
        rng = self.c.rng
        c = self.c
        choices = ["pneumonia", "uti", "hip_fracture", "cerebral_infarction"]
        if c.has("heart_failure"):
            choices.append("hf_exacerbation")
        if c.has("osteoporosis"):
            choices.append("hip_fracture")
        acute = ACUTE[rng.choice(choices)]
        current = rng.random() < 0.06
        start = c.as_of - timedelta(days=rng.randint(0, 6) if current else rng.randint(20, 730))
        stay = rng.randint(5, 40)
        end_day = start + timedelta(days=stay)
        emergency = rng.random() < 0.6
        hour = rng.randint(0, 23) if emergency else 10
        condition = self.next_id("cond")
        hospitalization: dict[str, Any] = {
            "admitSource": concept(
                cs.ADMIT_SOURCE,
                "emd" if emergency else "gp",
                "From accident/emergency department"
                if emergency
                else "General Practitioner referral",
            ),
        }
        if not current:
            home = rng.random() < 0.7
            hospitalization["dischargeDisposition"] = concept(
                cs.DISCHARGE_DISPOSITION,
                "home" if home else "snf",
                "Home" if home else "Skilled nursing facility",
            )
        enc = self._encounter(
            c.hospital,
            "IMP",
            at(start, hour),
            None if current else at(end_day, 11),
            hospitalization=hospitalization,
            reasonReference=[ref("Condition", condition, acute.name)],
            priority=concept(
                cs.ACT_PRIORITY, "EM" if emergency else "R", "emergency" if emergency else "routine"
            ),
        )
        self.out.append(
            {
                "resourceType": "Condition",
                "id": condition,
                "meta": {"profile": [cs.JP_CONDITION]},
                "clinicalStatus": concept(
                    cs.CONDITION_CLINICAL,
                    "active" if current else "resolved",
                    "Active" if current else "Resolved",
                ),
                "verificationStatus": concept(cs.CONDITION_VERIFICATION, "confirmed", "Confirmed"),
                "category": [
                    concept(cs.CONDITION_CATEGORY, "encounter-diagnosis", "Encounter Diagnosis")
                ],
                "code": concept(cs.ICD10, acute.icd10, acute.name),
                "subject": c.ref(),
                "encounter": ref("Encounter", enc),
                "onsetDateTime": start.isoformat(),
                **({} if current else {"abatementDateTime": end_day.isoformat()}),
                "recordedDate": start.isoformat(),
                "recorder": self._doctor(c.hospital).ref(),
            }
        )
        for key in acute.labs:
            self._lab(LABS[key], start, min(hour + 1, 23), enc, c.hospital, acute.key)
        for key in acute.drugs:
            self._prescription(
                key, start, enc, c.hospital, "active" if current else "completed", condition
            )


def _clamp(value: float, low: float, high: float) -> float:
    return min(max(value, low), high) if not math.isnan(value) else low


def _flag(value: float, low: float | None, high: float | None) -> str | None:
    if high is not None and value > high:
        return "H"
    if low is not None and value < low:
        return "L"
    return None
