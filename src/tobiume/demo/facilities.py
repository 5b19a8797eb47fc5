"""The directory of the synthetic city: every participating facility and its staff, by kind and
ward (their FHIR resources are built by `directory`).

The directory depends on the seed only, never on the number of citizens, so a city of 100
citizens is the first 100 of a city of 30,000. Facility counts follow each ward's population.
Names are invented: a place of the ward, a plant or landscape word and the kind of facility
(小倉はまゆう病院). Codes are shaped as the real ones: 医療機関コード 40 (福岡県) + score
table (1 medical, 4 pharmacy) + 7 digits ending in a check digit; 介護事業所番号 40 + 8 digits.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from tobiume.demo.city import AREA_CODE, PREFECTURE_NO, WARDS, Ward, districts
from tobiume.demo.directory import resources
from tobiume.demo.shapes import Person, person, phone, ref

PLACES: dict[str, tuple[str, str]] = {
    "moji": ("門司", "モジ"),
    "kokurakita": ("小倉", "コクラ"),
    "kokuraminami": ("小倉南", "コクラミナミ"),
    "wakamatsu": ("若松", "ワカマツ"),
    "yahatahigashi": ("八幡", "ヤハタ"),
    "yahatanishi": ("八幡西", "ヤハタニシ"),
    "tobata": ("戸畑", "トバタ"),
}
WORDS: tuple[tuple[str, str], ...] = (
    ("はまゆう", "ハマユウ"),
    ("つわぶき", "ツワブキ"),
    ("くすのき", "クスノキ"),
    ("やまもも", "ヤマモモ"),
    ("しいのき", "シイノキ"),
    ("あさなぎ", "アサナギ"),
    ("ゆうなぎ", "ユウナギ"),
    ("すずかけ", "スズカケ"),
    ("はなみずき", "ハナミズキ"),
    ("こぶし", "コブシ"),
    ("りんどう", "リンドウ"),
    ("なでしこ", "ナデシコ"),
    ("あじさい", "アジサイ"),
    ("ききょう", "キキョウ"),
    ("もくれん", "モクレン"),
    ("若葉", "ワカバ"),
    ("青空", "アオゾラ"),
    ("陽だまり", "ヒダマリ"),
    ("潮風", "シオカゼ"),
    ("帆柱", "ホバシラ"),
    ("花尾", "ハナオ"),
    ("高塔", "タカトウ"),
    ("白萩", "シラハギ"),
    ("木蓮", "モクレン"),
    ("椿", "ツバキ"),
    ("銀杏", "イチョウ"),
    ("楓", "カエデ"),
)
SUFFIXES: dict[str, tuple[tuple[str, str], ...]] = {
    "hospital": (("病院", "ビョウイン"), ("総合病院", "ソウゴウビョウイン")),
    "clinic": (
        ("内科クリニック", "ナイカクリニック"),
        ("内科医院", "ナイカイイン"),
        ("整形外科", "セイケイゲカ"),
        ("ファミリークリニック", "ファミリークリニック"),
    ),
    "pharmacy": (("薬局", "ヤッキョク"),),
    "home-nursing": (("訪問看護ステーション", "ホウモンカンゴステーション"),),
    "care-service:15": (("デイサービスセンター", "デイサービスセンター"),),
    "care-service:11": (("ヘルパーステーション", "ヘルパーステーション"),),
    "care-service:16": (("デイケアセンター", "デイケアセンター"),),
    "care-management": (("居宅介護支援事業所", "キョタクカイゴシエンジギョウショ"),),
}
PREFIXES = {
    "hospital": "hosp",
    "clinic": "clin",
    "pharmacy": "phar",
    "home-nursing": "vnst",
    "care-service": "csvc",
    "care-management": "cmgt",
    "support-center": "hsc",
}
PER_THOUSAND = {
    # facilities per thousand residents of the ward, and the least a ward has
    "hospital": (1 / 60, 1),
    "clinic": (1 / 20, 3),
    "pharmacy": (1 / 30, 2),
    "home-nursing": (1 / 50, 2),
    "care-service": (1 / 20, 3),
    "care-management": (1 / 35, 2),
}
STAFF = {
    "hospital": ("physician", 3),
    "clinic": ("physician", 1),
    "home-nursing": ("nurse", 2),
    "care-management": ("care-manager", 3),
}
CITY_ID = "kitakyushu-city"


@dataclass(frozen=True)
class Facility:
    id: str
    kind: str
    name: str
    kana: str
    ward: Ward
    town: str
    line: str
    """The street address in the town: 魚町2丁目3-14."""
    code: str
    phone: str
    fax: str
    service: str = ""
    """For a care-service: its 介護サービス種類 code (15 通所介護, 11 訪問介護, 16 通所リハ)."""
    district: int = 0
    """For a support-center: which of its ward's districts it serves."""

    def ref(self) -> dict[str, Any]:
        return ref("Organization", self.id, self.name)


@dataclass(frozen=True)
class Staff:
    role_id: str
    practitioner_id: str
    profession: str
    person: Person
    facility: Facility

    def ref(self) -> dict[str, Any]:
        return ref("PractitionerRole", self.role_id, self.person.text)


@dataclass
class Directory:
    """The facilities by kind and ward, their staff, and the directory's FHIR resources."""

    city: Facility
    facilities: dict[str, list[Facility]] = field(default_factory=dict)
    by_ward: dict[tuple[str, str], list[Facility]] = field(default_factory=dict)
    staff: dict[str, list[Staff]] = field(default_factory=dict)
    centres: dict[tuple[str, int], Facility] = field(default_factory=dict)
    resources: list[dict[str, Any]] = field(default_factory=list)

    def local(self, kind: str, ward: Ward) -> list[Facility]:
        return self.by_ward[(kind, ward.code)]

    def add(self, facility: Facility) -> None:
        self.facilities.setdefault(facility.kind, []).append(facility)
        self.by_ward.setdefault((facility.kind, facility.ward.code), []).append(facility)


def build(seed: int) -> Directory:
    """The city's directory for `seed`: facilities, staff and their resources."""
    rng = random.Random(f"tobiume-demo:{seed}:directory")
    city = Facility(
        CITY_ID,
        "municipality",
        "北九州市",
        "キタキュウシュウシ",
        WARDS[1],
        "大手町",
        "大手町1-1",
        "407100",
        f"{AREA_CODE}-582-0000",
        f"{AREA_CODE}-582-0001",
    )
    directory = Directory(city)
    names = _Names(rng)
    counters: dict[str, int] = {}
    for ward_no, ward in enumerate(WARDS, start=1):
        for kind, (rate, least) in PER_THOUSAND.items():
            for n in range(max(least, round(ward.population * rate))):
                counters[kind] = counters.get(kind, 0) + 1
                service = ("15", "11", "16")[n % 3] if kind == "care-service" else ""
                name, kana = names.next(kind, service, ward)
                number = counters[kind]
                directory.add(
                    Facility(
                        f"{PREFIXES[kind]}-{number:03d}",
                        kind,
                        name,
                        kana,
                        ward,
                        *_place(rng, ward),
                        _code(kind, ward_no, number),
                        phone(rng),
                        phone(rng),
                        service,
                    )
                )
        for district, (district_name, towns) in enumerate(districts(ward)):
            counters["support-center"] = counters.get("support-center", 0) + 1
            number = counters["support-center"]
            centre = Facility(
                f"hsc-{number:03d}",
                "support-center",
                f"{district_name}地域包括支援センター",
                f"{ward.kana}{('トウブ', 'セイブ', 'チュウブ', 'ホクブ')[district]}"
                "チイキホウカツシエンセンター",
                ward,
                towns[0],
                _line(rng, towns[0]),
                _code("support-center", ward_no, number),
                phone(rng),
                phone(rng),
                district=district,
            )
            directory.add(centre)
            directory.centres[(ward.code, district)] = centre
    _hire(directory, rng)
    directory.resources = list(resources(directory))
    return directory


def _place(rng: random.Random, ward: Ward) -> tuple[str, str]:
    town = rng.choice(ward.towns)
    return town, _line(rng, town)


def _line(rng: random.Random, town: str) -> str:
    return f"{town}{rng.randint(1, 4)}丁目{rng.randint(1, 20)}-{rng.randint(1, 30)}"


class _Names:
    """Unique facility names, drawn in a fixed order from place x word x suffix."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def next(self, kind: str, service: str, ward: Ward) -> tuple[str, str]:
        suffixes = SUFFIXES[f"{kind}:{service}" if service else kind]
        place, place_kana = PLACES[ward.code]
        while True:
            word, word_kana = self.rng.choice(WORDS)
            suffix, suffix_kana = self.rng.choice(suffixes)
            name = f"{place}{word}{suffix}"
            if name not in self.used:
                self.used.add(name)
                return name, f"{place_kana}{word_kana}{suffix_kana}"


def _code(kind: str, ward_no: int, number: int) -> str:
    if kind in ("hospital", "clinic", "pharmacy"):
        body = f"{ward_no:02d}{number:04d}"
        table = "4" if kind == "pharmacy" else "1"
        return f"{PREFECTURE_NO}{table}{body}{_check_digit(body)}"
    return f"{PREFECTURE_NO}7{ward_no}{number:06d}"


def _check_digit(digits: str) -> int:
    """Modulus 10, weights 2 and 1 from the right, as 医療機関コード's check digit."""
    total = 0
    for i, char in enumerate(reversed(digits)):
        product = int(char) * (2 if i % 2 == 0 else 1)
        total += product // 10 + product % 10
    return (10 - total % 10) % 10


def _hire(directory: Directory, rng: random.Random) -> None:
    count = 0
    for kind, facilities in directory.facilities.items():
        for facility in facilities:
            if kind == "support-center":
                plan = [("care-manager", 1), ("public-health-nurse", 1)]
            elif kind in STAFF:
                plan = [STAFF[kind]]
            else:
                continue
            for profession, n in plan:
                for _ in range(n):
                    count += 1
                    gender = "female" if rng.random() < 0.7 else "male"
                    who = person(rng, gender, rng.randint(1960, 1998))
                    directory.staff.setdefault(facility.id, []).append(
                        Staff(f"role-{count:04d}", f"prac-{count:04d}", profession, who, facility)
                    )
