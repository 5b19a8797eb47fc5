"""String rows (https://hl7.org/fhir/R4/search.html#string): every string under the value.

A HumanName contributes family, each given, prefix, suffix and text; an Address each line,
city, district, state, postalCode, country and text; each its own row, so that a search matches
the start of any part (`name=やまだ` finds family `山田`'s kana `ヤマダ` in its own HumanName: JP
Core records the kanji (IDE) and kana (SYL) names as separate HumanNames, and both are indexed).
"""

from __future__ import annotations

from collections.abc import Sequence

from tobiume.fhir.fhirpath import Value
from tobiume.indexing.normalize import fold
from tobiume.indexing.rows import RowSink

MAX_NORM_LENGTH = 200
"""`value_norm` is cut here (as HAPI FHIR does) so it stays indexable by a B-tree; a search value
must be folded and cut the same way."""

_PARTS = frozenset(
    {
        "family",
        "given",
        "prefix",
        "suffix",
        "line",
        "city",
        "district",
        "state",
        "postalCode",
        "country",
        "text",
    }
)


def _add(code: str, text: str, rows: RowSink) -> None:
    norm = fold(text)[:MAX_NORM_LENGTH]
    if norm:
        rows.string(code, norm, text)


def index(code: str, values: Sequence[Value], rows: RowSink, /) -> None:
    for value, _ in values:
        if type(value) is str:
            _add(code, value, rows)
        elif type(value) is dict:
            for part, found in value.items():
                if part not in _PARTS:
                    continue
                if type(found) is str:
                    _add(code, found, rows)
                elif type(found) is list:
                    for item in found:
                        if type(item) is str:
                            _add(code, item, rows)
