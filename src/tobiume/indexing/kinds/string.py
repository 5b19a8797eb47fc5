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


REPRESENTATION = "http://hl7.org/fhir/StructureDefinition/iso21090-EN-representation"
PHONETIC = "phonetic"
"""JP Core: `phonetic` searches the kana representation (SYL) of a name; where a resource has
no name marked SYL, all its names are phonetic, as in R4."""


def _is_kana(value: object) -> bool:
    if type(value) is not dict:
        return False
    return any(
        type(ext) is dict and ext.get("url") == REPRESENTATION and ext.get("valueCode") == "SYL"
        for ext in value.get("extension") or ()
    )


def index(code: str, values: Sequence[Value], rows: RowSink, /) -> None:
    if code == PHONETIC and any(_is_kana(value) for value, _ in values):
        values = [item for item in values if _is_kana(item[0])]
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
