"""String folding for search (https://hl7.org/fhir/R4/search.html#string: "a field matches a
string query if the value of the field equals or starts with the supplied parameter value,
after both have been normalized by case and accent"), as JP Core's string-search guide asks for
Japanese (JP Core implementation guide, "検索パラメータ" / string search: 全角半角、大文字小文字、
濁点半濁点、カタカナひらがな、空白の違いを区別しない).

`fold` applies, in order:

1. Unicode NFKC: full-width and half-width forms become one (`ﾔﾏﾀﾞ` -> `ヤマダ`, `Ａ` -> `A`);
2. case folding (`str.casefold`);
3. NFD, then dropping the dakuten and handakuten (U+3099, U+309A; the spacing forms U+309B,
   U+309C) and the Latin combining accents (U+0300..U+036F, as HAPI FHIR does), so `たばた`
   finds `たはた` and `José` finds `Jose`;
4. katakana to hiragana (U+30A1..U+30F6 minus 0x60);
5. dropping whitespace (including U+3000) and punctuation (Unicode categories P*, which
   include the middle dot `・`); the long vowel mark `ー` is a letter of the name and stays;
6. NFC.

Steps 3-5 are one `str.translate` with a table filled lazily per code point.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

_DROPPED_MARKS = frozenset({0x3099, 0x309A, 0x309B, 0x309C})
_KATAKANA = range(0x30A1, 0x30F7)
_COMBINING_ACCENTS = range(0x0300, 0x0370)


class _FoldTable(dict[int, int | None]):
    """Code point -> replacement (None: drop); each code point classified once, on first use."""

    def __missing__(self, code: int) -> int | None:
        char = chr(code)
        result: int | None = code
        if (
            code in _DROPPED_MARKS
            or code in _COMBINING_ACCENTS
            or char.isspace()
            or unicodedata.category(char).startswith("P")
        ):
            result = None
        elif code in _KATAKANA:
            result = code - 0x60
        self[code] = result
        return result


_TABLE = _FoldTable()


_CACHED_LENGTH = 256


def fold(text: str) -> str:
    """The form strings are indexed and searched in; `fold("ﾔﾏﾀﾞ ﾀﾛｳ") == "やまたたろう"`.
    Names and codes repeat across resources, so short strings are folded once (cached)."""
    return _fold_cached(text) if len(text) <= _CACHED_LENGTH else _fold(text)


@lru_cache(maxsize=65_536)
def _fold_cached(text: str) -> str:
    return _fold(text)


def _fold(text: str) -> str:
    if text.isascii():
        return text.lower().translate(_TABLE)
    folded = unicodedata.normalize("NFKC", text).casefold()
    folded = unicodedata.normalize("NFD", folded).translate(_TABLE)
    return unicodedata.normalize("NFC", folded)
