"""String folding as JP Core's string-search guide asks (https://hl7.org/fhir/R4/search.html#string)."""

from __future__ import annotations

import pytest

from tobiume.indexing.normalize import fold


@pytest.mark.parametrize("text", ["ヤマダ", "やまだ", "ﾔﾏﾀﾞ", "ヤマタ", "やまた", "ヤ　マ　ダ"])
def test_kana_width_and_dakuten_fold_together(text: str) -> None:
    assert fold(text) == "やまた"


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("たばた", "たはた"),
        ("パン", "はん"),
        ("ﾊﾟﾝ", "ばん"),
        ("ヴ", "う"),
        ("か゛", "か"),
        ("ジョーンズ", "ｼﾞｮｰﾝｽﾞ"),
        ("Ｙａｍａｄａ", "yamada"),
        ("José", "jose"),
        ("Straße", "STRASSE"),
    ],
)
def test_equivalent_spellings(left: str, right: str) -> None:
    assert fold(left) == fold(right)


def test_spaces_and_punctuation_are_dropped() -> None:
    assert fold("Yamada Taro") == "yamadataro"
    assert fold("山田　太郎") == "山田太郎"
    assert fold("ヤマダ・タロウ") == "やまたたろう"
    assert fold("O'Brien-Smith, Jr.") == "obriensmithjr"
    assert fold("（株）東京") == "株東京"


def test_what_is_kept() -> None:
    assert fold("山田") == "山田"  # kanji unchanged
    assert fold("ジョーンズ") == "しょーんす"  # the long vowel mark is part of the name
    assert fold("ジョ") != fold("ジヨ")  # small kana stay small
    assert fold("〒100-0001") == "〒1000001"  # symbols are not punctuation


def test_result_is_composed() -> None:
    assert fold("Ａ\u0301") == "a"
    assert fold("") == ""
