"""String search (https://hl7.org/fhir/R4/search.html#string), with JP Core's folding.

By default a value matches a stored string that starts with it after both are folded
(`indexing.normalize.fold`: NFKC, case, dakuten and handakuten, katakana to hiragana, spaces
and punctuation), so `name=ヤマダ`, `name=やまだ` and `name=ﾔﾏﾀﾞ` find 山田's kana name and
`name=たはた` finds たばた. `:contains` matches the folded value anywhere, `:exact` compares the
string as written, without folding (case, width and kana kind all count).
"""

from __future__ import annotations

from sqlalchemy import or_
from sqlalchemy.sql.elements import ColumnElement

from tobiume.errors import BadRequest
from tobiume.indexing.kinds.string import MAX_NORM_LENGTH
from tobiume.indexing.normalize import fold
from tobiume.search.params.base import check_modifier, with_rows
from tobiume.search.params.prefix import starts_with
from tobiume.search.query import Criterion
from tobiume.storage.tables import idx_string


class StringCompiler:
    table = idx_string

    def clause(self, res_type: str, criterion: Criterion) -> ColumnElement[bool]:
        check_modifier(criterion, "exact", "contains")
        alternatives = [_value_clause(value, criterion.modifier) for value in criterion.values]
        return with_rows(idx_string, res_type, criterion.name, or_(*alternatives))


def _value_clause(value: str, modifier: str | None) -> ColumnElement[bool]:
    if modifier == "exact":
        return idx_string.c.value_exact == value
    if modifier == "contains":
        return idx_string.c.value_norm.contains(_folded(value), autoescape=True)
    return prefix_clause(idx_string.c.value_norm, value)


def prefix_clause(column: ColumnElement[str | None], value: str) -> ColumnElement[bool]:
    """A folded `column` that starts with `value` folded the same way: string search's default
    match, which token `:text` and a composite's string component share (`prefix`)."""
    return starts_with(column, _folded(value))


def _folded(value: str) -> str:
    folded = fold(value)[:MAX_NORM_LENGTH]
    if not folded:
        raise BadRequest(f"The search value {value!r} has nothing left to match once folded")
    return folded
