"""Token search (https://hl7.org/fhir/R4/search.html#token): `[system]|[code]`, `|code`,
`system|` and `code`, matched against `idx_token` (`base.with_rows`)."""

from __future__ import annotations

from sqlalchemy import and_, or_
from sqlalchemy.sql.elements import ColumnElement

from tobiume.errors import BadRequest
from tobiume.search.params.base import check_modifier, with_rows
from tobiume.search.query import Criterion
from tobiume.storage.tables import idx_token


class TokenCompiler:
    table = idx_token

    def clause(self, res_type: str, criterion: Criterion) -> ColumnElement[bool]:
        """`:not` matches the resources that have no such token, those without the parameter
        at all included (https://hl7.org/fhir/R4/search.html#token)."""
        check_modifier(criterion, "not")
        alternatives = [token_clause(value) for value in criterion.values]
        matching = with_rows(idx_token, res_type, criterion.name, or_(*alternatives))
        return ~matching if criterion.modifier == "not" else matching


def token_clause(value: str) -> ColumnElement[bool]:
    """One `[system]|[code]` value against `idx_token` rows."""
    system, bar, code = value.partition("|")
    if not bar:
        return idx_token.c.code == value
    if system and code:
        return and_(idx_token.c.system == system, idx_token.c.code == code)
    if code:
        return and_(idx_token.c.system.is_(None), idx_token.c.code == code)
    if system:
        return idx_token.c.system == system
    raise BadRequest("A token search value needs a system or a code")
