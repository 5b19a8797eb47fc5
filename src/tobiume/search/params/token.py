"""Token search (https://hl7.org/fhir/R4/search.html#token): `[system]|[code]`, `|code`,
`system|` and `code`, matched against `idx_token` (`base.with_rows`).

Modifiers: `:not` (no such token); `:text`, the text associated with the code or value
(CodeableConcept.text, Coding.display, Identifier.type.text) matched as string search matches,
folded and from its start (`string.prefix_clause`); `:of-type` on an identifier,
`type-system|type-code|value`. `:in`, `:not-in`, `:above` and `:below` need a terminology
server (value set expansion, code system subsumption), which this server does not have: they are
refused with a 400, never answered as if they were a plain search.
"""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import and_, or_
from sqlalchemy.sql.elements import ColumnElement

from tobiume.errors import BadRequest
from tobiume.search.params.base import check_modifier, with_rows
from tobiume.search.params.string import prefix_clause
from tobiume.search.query import Criterion
from tobiume.storage.tables import idx_token

TERMINOLOGY_MODIFIERS = frozenset({"in", "not-in", "above", "below"})


class TokenColumns(NamedTuple):
    """Where a token's system and code are stored (`idx_token`, or a slot of `idx_composite`)."""

    system: ColumnElement[str | None]
    code: ColumnElement[str | None]


TOKEN = TokenColumns(idx_token.c.system, idx_token.c.code)


class TokenCompiler:
    table = idx_token

    def clause(self, res_type: str, criterion: Criterion) -> ColumnElement[bool]:
        """`:not` matches the resources that have no such token, those without the parameter
        at all included (https://hl7.org/fhir/R4/search.html#token)."""
        if criterion.modifier in TERMINOLOGY_MODIFIERS:
            raise BadRequest(
                f"{criterion.name}:{criterion.modifier} needs a terminology service "
                "(value sets, code system hierarchies), which this server does not offer"
            )
        check_modifier(criterion, "not", "text", "of-type")
        if criterion.modifier == "text":
            alternatives = [prefix_clause(idx_token.c.text_norm, v) for v in criterion.values]
        elif criterion.modifier == "of-type":
            alternatives = [_of_type_clause(criterion.name, v) for v in criterion.values]
        else:
            alternatives = [token_clause(value) for value in criterion.values]
        matching = with_rows(idx_token, res_type, criterion.name, or_(*alternatives))
        return ~matching if criterion.modifier == "not" else matching


def token_clause(value: str, columns: TokenColumns = TOKEN) -> ColumnElement[bool]:
    """One `[system]|[code]` value against token `columns`."""
    system, bar, code = value.partition("|")
    if not bar:
        return columns.code == value
    if system and code:
        return and_(columns.system == system, columns.code == code)
    if code:
        return and_(columns.system.is_(None), columns.code == code)
    if system:
        return columns.system == system
    raise BadRequest("A token search value needs a system or a code")


def _of_type_clause(name: str, value: str) -> ColumnElement[bool]:
    """`type-system|type-code|value`: an Identifier whose type has that coding and whose value
    is `value` (https://hl7.org/fhir/R4/search.html#token, `:of-type`); all three are needed."""
    type_system, _, rest = value.partition("|")
    type_code, bar, identifier = rest.partition("|")
    if not (type_system and type_code and bar and identifier):
        raise BadRequest(f"{name}:of-type takes type-system|type-code|value, not {value!r}")
    return and_(
        idx_token.c.type_system == type_system,
        idx_token.c.type_code == type_code,
        idx_token.c.code == identifier,
    )
