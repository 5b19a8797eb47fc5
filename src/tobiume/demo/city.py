"""The seven wards of 北九州市, their towns and postal-code areas, and the 日常生活圏域 (districts)
each 地域包括支援センター serves.

Ward and town names are the city's real place names (public geography); weights follow the
wards' populations, rounded (thousands). Block numbers and the last four digits of postal codes
are invented.
"""

from __future__ import annotations

from dataclasses import dataclass

PREFECTURE = "福岡県"
CITY = "北九州市"
AREA_CODE = "093"
PREFECTURE_NO = "40"


@dataclass(frozen=True)
class Ward:
    code: str
    """A short ASCII code used in generated ids (`moji`, `kokurakita`, ...)."""
    name: str
    kana: str
    population: int
    """In thousands; the weight a citizen lives here with."""
    postal_prefix: str
    towns: tuple[str, ...]
    districts: int
    """How many 日常生活圏域 the towns are split into, one 地域包括支援センター each."""

    @property
    def city(self) -> str:
        """`Address.city` as JP Core writes a designated city's ward: 北九州市小倉北区."""
        return CITY + self.name


WARDS: tuple[Ward, ...] = (
    Ward(
        "moji",
        "門司区",
        "モジク",
        88,
        "800",
        ("大里本町", "栄町", "港町", "柳町", "東本町", "大積", "恒見町", "吉志"),
        2,
    ),
    Ward(
        "kokurakita",
        "小倉北区",
        "コクラキタク",
        180,
        "803",
        (
            "魚町",
            "京町",
            "紺屋町",
            "大手町",
            "砂津",
            "黒原",
            "中井",
            "片野",
            "三萩野",
            "足立",
            "田町",
            "赤坂",
            "日明",
            "高峰",
        ),
        3,
    ),
    Ward(
        "kokuraminami",
        "小倉南区",
        "コクラミナミク",
        205,
        "802",
        ("守恒", "徳力", "葛原", "下曽根", "湯川", "長尾", "志井", "横代", "北方", "沼"),
        3,
    ),
    Ward(
        "wakamatsu",
        "若松区",
        "ワカマツク",
        78,
        "808",
        ("本町", "藤ノ木", "小石本村町", "高須", "二島", "東二島", "青葉台", "畠田"),
        2,
    ),
    Ward(
        "yahatahigashi",
        "八幡東区",
        "ヤハタヒガシク",
        63,
        "805",
        ("中央", "尾倉", "祇園", "荒生田", "大蔵", "高見", "枝光", "東田"),
        2,
    ),
    Ward(
        "yahatanishi",
        "八幡西区",
        "ヤハタニシク",
        245,
        "806",
        (
            "黒崎",
            "折尾",
            "陣原",
            "引野",
            "則松",
            "永犬丸",
            "本城",
            "三ケ森",
            "八枝",
            "穴生",
            "相生町",
        ),
        4,
    ),
    Ward(
        "tobata",
        "戸畑区",
        "トバタク",
        56,
        "804",
        ("中本町", "新池", "天神", "浅生", "牧山", "菅原", "沢見", "一枝"),
        2,
    ),
)

DISTRICT_NAMES = ("東部", "西部", "中部", "北部")


def districts(ward: Ward) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The ward's 日常生活圏域: (name, towns), the towns dealt out in turn."""
    return tuple(
        (f"{ward.name}{DISTRICT_NAMES[i]}圏域", ward.towns[i :: ward.districts])
        for i in range(ward.districts)
    )


def district_of(ward: Ward, town: str) -> int:
    """Which of the ward's districts serves `town`."""
    return ward.towns.index(town) % ward.districts


def postal_code(ward: Ward, town: str) -> str:
    return f"{ward.postal_prefix}-{(ward.towns.index(town) * 37 + 11) % 100:02d}{len(town)}1"
