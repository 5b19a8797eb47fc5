"""Reference search (https://hl7.org/fhir/R4/search.html#reference).

A value is an id (`subject=123`: that id, whatever the type), `Type/id`, or an absolute URL: one
under this server's base is `Type/id` here, any other matches the stored URL alone. `:Type`
(`subject:Patient=123`) names the target type of a bare id; `:identifier` searches the
Reference's logical identifier (`system|value`), indexed as a token of `{name}:identifier`.
"""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import and_, or_
from sqlalchemy.sql.elements import ColumnElement

from tobiume.errors import BadRequest
from tobiume.fhir.resource_types import RESOURCE_TYPES, reference_target
from tobiume.search.local import local_reference
from tobiume.search.params.base import with_rows
from tobiume.search.params.token import token_clause
from tobiume.search.query import Criterion
from tobiume.storage.tables import idx_reference, idx_token


class ReferenceColumns(NamedTuple):
    """Where a reference is stored (`idx_reference`, or the reference slot of `idx_composite`)."""

    target_type: ColumnElement[str | None]
    target_id: ColumnElement[str | None]
    url: ColumnElement[str | None]


REFERENCE = ReferenceColumns(
    idx_reference.c.target_type, idx_reference.c.target_id, idx_reference.c.url
)


class ReferenceCompiler:
    table = idx_reference

    def clause(self, res_type: str, criterion: Criterion) -> ColumnElement[bool]:
        modifier = criterion.modifier
        if modifier == "identifier":
            return with_rows(
                idx_token,
                res_type,
                f"{criterion.name}:identifier",
                or_(*(token_clause(value) for value in criterion.values)),
            )
        if modifier is not None and modifier not in RESOURCE_TYPES:
            raise BadRequest(f"The modifier :{modifier} is not supported on {criterion.name}")
        targets = criterion.param.target if criterion.param is not None else ()
        if modifier is not None and targets and modifier not in targets:
            raise BadRequest(f"{criterion.name} never refers to a {modifier}")
        alternatives = [
            reference_clause(value, modifier, criterion.base_url, targets=targets)
            for value in criterion.values
        ]
        return with_rows(idx_reference, res_type, criterion.name, or_(*alternatives))


def reference_clause(
    value: str,
    type_: str | None,
    base_url: str | None,
    columns: ReferenceColumns = REFERENCE,
    targets: tuple[str, ...] = (),
) -> ColumnElement[bool]:
    """One reference value (`type_`: the `:Type` modifier) against reference `columns`.

    A bare id with no `:Type` may point at any of the parameter's `targets`: naming them keeps
    the lookup on the leading columns of the match index (type, then id) instead of reading
    every reference of the parameter."""
    if not value:
        raise BadRequest("A reference search value must not be empty")
    local = value
    if base_url and value.startswith(base_url.rstrip("/") + "/"):
        local = value[len(base_url.rstrip("/")) + 1 :]
    target = reference_target(local)
    if target is not None and target.absolute:
        return columns.url == value  # another server's resource: only its URL matches
    if target is not None:
        if type_ is not None and type_ != target.res_type:
            raise BadRequest(f"{value!r} is not a {type_}")
        return and_(
            columns.target_type == target.res_type,
            columns.target_id == target.res_id,
            local_reference(base_url, columns.url),
        )
    if "/" in value or ":" in value:
        return columns.url == value  # urn:uuid:..., a canonical
    types = (type_,) if type_ is not None else targets
    if types:
        return and_(
            columns.target_type.in_(types),
            columns.target_id == value,
            local_reference(base_url, columns.url),
        )
    return and_(columns.target_id == value, local_reference(base_url, columns.url))
