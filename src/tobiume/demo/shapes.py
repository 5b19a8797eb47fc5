"""Small builders of FHIR datatypes shared by the generator's modules."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from tobiume.demo.names import FAMILY, given_names
from tobiume.demo.systems import EN_REPRESENTATION

JST = timezone(timedelta(hours=9))


def ref(res_type: str, res_id: str, display: str | None = None) -> dict[str, Any]:
    reference: dict[str, Any] = {"reference": f"{res_type}/{res_id}"}
    if display:
        reference["display"] = display
    return reference


def coding(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    value = {"system": system, "code": code}
    if display:
        value["display"] = display
    return value


def concept(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    """A CodeableConcept of one coding, its display also the text."""
    value: dict[str, Any] = {"coding": [coding(system, code, display)]}
    if display:
        value["text"] = display
    return value


def at(day: date, hour: int, minute: int = 0) -> str:
    """A dateTime in Japan time on `day`."""
    return datetime.combine(day, time(hour, minute), JST).isoformat()


def quantity(value: float, unit: str, decimals: int) -> dict[str, Any]:
    number: float | int = round(value, decimals) if decimals else round(value)
    body: dict[str, Any] = {"value": number, "unit": unit}
    if unit:
        body["system"] = "http://unitsofmeasure.org"
        body["code"] = unit
    return body


@dataclass(frozen=True)
class Person:
    """An invented person: family and given name in kanji and katakana."""

    family: str
    family_kana: str
    given: str
    given_kana: str
    gender: str

    @property
    def text(self) -> str:
        return f"{self.family} {self.given}"

    @property
    def kana(self) -> str:
        return f"{self.family_kana} {self.given_kana}"

    def names(self) -> list[dict[str, Any]]:
        """JP Core's two HumanNames: kanji (IDE) and katakana (SYL). The kana name's use is
        `usual`: JP Core's kana sort (`_sort=jp-kana-sort`, JP_Patient_KanaSort_SP) reads the
        text of the SYL name of that use."""
        return [
            {
                "extension": [{"url": EN_REPRESENTATION, "valueCode": "IDE"}],
                "use": "official",
                "text": self.text,
                "family": self.family,
                "given": [self.given],
            },
            {
                "extension": [{"url": EN_REPRESENTATION, "valueCode": "SYL"}],
                "use": "usual",
                "text": self.kana,
                "family": self.family_kana,
                "given": [self.given_kana],
            },
        ]


def person(rng: random.Random, gender: str, birth_year: int) -> Person:
    family, family_kana = rng.choice(FAMILY)
    given, given_kana = rng.choice(given_names(gender, birth_year))
    return Person(family, family_kana, given, given_kana, gender)


def phone(rng: random.Random, area: str = "093") -> str:
    return f"{area}-{rng.randint(200, 999)}-{rng.randint(0, 9999):04d}"
