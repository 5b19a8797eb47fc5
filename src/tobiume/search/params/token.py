"""Token search (https://hl7.org/fhir/R4/search.html#token): `[system]|[code]`, `|code`,
`system|` and `code`, matched against `idx_token` through an EXISTS on the resource."""

from __future__ import annotations

from sqlalchemy import and_, exists, or_
from sqlalchemy.sql.elements import ColumnElement

from tobiume.errors import BadRequest
from tobiume.search.query import Criterion
from tobiume.storage.tables import idx_token, resource


class TokenCompiler:
    def clause(self, res_type: str, criterion: Criterion) -> ColumnElement[bool]:
        if criterion.modifier is not None:
            raise BadRequest(
                f"The modifier :{criterion.modifier} is not supported on {criterion.name}"
            )
        alternatives = [_value_clause(value) for value in criterion.values]
        return exists().where(
            idx_token.c.res_pk == resource.c.pk,
            idx_token.c.res_type == res_type,
            idx_token.c.param == criterion.name,
            or_(*alternatives),
        )


def _value_clause(value: str) -> ColumnElement[bool]:
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
