"""Token search (https://hl7.org/fhir/R4/search.html#token): `[system]|[code]`, `|code`,
`system|` and `code`, matched against `idx_token`.

The match is `resource.pk IN (SELECT res_pk FROM idx_token WHERE ...)`, not a correlated
EXISTS: SQLite runs an EXISTS once per resource of the type (a scan), while the IN list is read
from the value index first; PostgreSQL plans both as the same semi-join.
"""

from __future__ import annotations

from sqlalchemy import and_, or_, select
from sqlalchemy.sql.elements import ColumnElement

from tobiume.errors import BadRequest
from tobiume.search.query import Criterion
from tobiume.storage.tables import idx_token, resource


class TokenCompiler:
    table = idx_token

    def clause(self, res_type: str, criterion: Criterion) -> ColumnElement[bool]:
        """`:not` matches the resources that have no such token, those without the parameter
        at all included (https://hl7.org/fhir/R4/search.html#token)."""
        if criterion.modifier not in (None, "not"):
            raise BadRequest(
                f"The modifier :{criterion.modifier} is not supported on {criterion.name}"
            )
        alternatives = [token_clause(value) for value in criterion.values]
        matching = resource.c.pk.in_(
            select(idx_token.c.res_pk).where(
                idx_token.c.res_type == res_type,
                idx_token.c.param == criterion.name,
                or_(*alternatives),
            )
        )
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
