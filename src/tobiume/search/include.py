"""`_include` and `_revinclude` (https://hl7.org/fhir/R4/search.html#include): the resources a
page's matches refer to, and those that refer to them, each through the access predicate like
the matches themselves. `Type:param[:target]` names one reference parameter, `Type:*` all of
them; `:iterate` applies a spec again to what the previous round included, until nothing new
comes (at most `MAX_ROUNDS` rounds).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.sql.elements import ColumnElement

from tobiume.errors import BadRequest
from tobiume.fhir.resource_types import RESOURCE_TYPES
from tobiume.fhir.searchparams import registry
from tobiume.search.lists import one_of
from tobiume.search.local import local_reference
from tobiume.storage.tables import idx_reference, resource

MAX_ROUNDS = 4
MAX_INCLUDED = 1000
"""Resources one page may include, so that `_include=*` on a hub cannot fetch the database."""


@dataclass(frozen=True, slots=True)
class Include:
    source: str
    """The type whose references are followed (for `_revinclude`, the type that refers)."""
    param: str | None
    """The reference parameter, None for `*`."""
    target: str | None
    iterate: bool = False
    reverse: bool = False


def parse_include(key: str, value: str) -> Include:
    """`_include[:iterate]=Type:param[:target]` or `Type:*`."""
    name, _, modifier = key.partition(":")
    if modifier not in ("", "iterate", "recurse"):
        raise BadRequest(f"{key}: the modifier :{modifier} is not supported")
    parts = value.split(":")
    if len(parts) not in (2, 3) or parts[0] not in RESOURCE_TYPES:
        raise BadRequest(f"{name}={value!r}: expected Type:parameter[:targetType] or Type:*")
    source, param = parts[0], parts[1]
    target = parts[2] if len(parts) == 3 else None
    if target is not None and target not in RESOURCE_TYPES:
        raise BadRequest(f"{name}={value!r}: {target!r} is not a resource type")
    if param == "*":
        return Include(source, None, target, bool(modifier), name == "_revinclude")
    definition = registry().get(source, param)
    if definition is None or definition.type != "reference":
        raise BadRequest(f"{name}={value!r}: {param!r} is not a reference parameter of {source}")
    if target is not None and definition.target and target not in definition.target:
        raise BadRequest(f"{name}={value!r}: {source}.{param} never refers to a {target}")
    return Include(source, param, target, bool(modifier), name == "_revinclude")


Row = tuple[int, str, str, str]
"""(pk, type, id, body) of a resource in the answer."""


@dataclass(frozen=True, slots=True)
class Bound:
    """A statement of fixed shape and the values this page binds to it: the shape is built
    once per spec (`functools.lru_cache`), so a page pays for neither building it nor for
    SQLAlchemy's cache key of a new object (`compiled.fetch_rows`)."""

    statement: Select[Any]
    params: dict[str, Any]


def statement(
    spec: Include,
    found: Sequence[Row],
    visible: ColumnElement[bool],
    base_url: str | None,
    dialect: str,
) -> Bound | None:
    """The live, visible resources `spec` adds to `found`; None when it cannot add any."""
    if spec.reverse:
        by_type: dict[str, list[str]] = {}
        for _, res_type, res_id, _ in found:
            if spec.target is None or spec.target == res_type:
                by_type.setdefault(res_type, []).append(res_id)
        if not by_type:
            return None
        types = tuple(sorted(by_type))
        params = {f"ids_{i}": by_type[t] for i, t in enumerate(types)}
        return Bound(_revincluded(spec, types, visible, base_url, dialect), params)
    sources = [pk for pk, res_type, _, _ in found if res_type == spec.source]
    if not sources:
        return None
    return Bound(_included(spec, visible, base_url, dialect), {"sources": sources})


@lru_cache(maxsize=256)
def _included(
    spec: Include, visible: ColumnElement[bool], base_url: str | None, dialect: str
) -> Select[Any]:
    """What the references of the resources `:sources` point at."""
    refs = select(idx_reference.c.target_type, idx_reference.c.target_id).where(
        one_of(idx_reference.c.res_pk, "sources", dialect),
        idx_reference.c.target_id.is_not(None),
        local_reference(base_url),
    )
    if spec.param is not None:
        refs = refs.where(idx_reference.c.param == spec.param)
    if spec.target is not None:
        refs = refs.where(idx_reference.c.target_type == spec.target)
    targets = refs.subquery()
    return (
        select(resource.c.pk, resource.c.res_type, resource.c.res_id, resource.c.body)
        .join(
            targets,
            and_(
                resource.c.res_type == targets.c.target_type,
                resource.c.res_id == targets.c.target_id,
            ),
        )
        .where(resource.c.deleted.is_(False), visible)
        .distinct()
        .limit(MAX_INCLUDED)
    )


@lru_cache(maxsize=256)
def _revincluded(
    spec: Include,
    types: tuple[str, ...],
    visible: ColumnElement[bool],
    base_url: str | None,
    dialect: str,
) -> Select[Any]:
    """What refers to the resources `:ids_{i}` of `types[i]`."""
    alternatives = [
        and_(
            idx_reference.c.target_type == res_type,
            one_of(idx_reference.c.target_id, f"ids_{i}", dialect),
        )
        for i, res_type in enumerate(types)
    ]
    referring = select(idx_reference.c.res_pk).where(
        idx_reference.c.res_type == spec.source,
        or_(*alternatives),
        local_reference(base_url),
    )
    if spec.param is not None:
        referring = referring.where(idx_reference.c.param == spec.param)
    return (
        select(resource.c.pk, resource.c.res_type, resource.c.res_id, resource.c.body)
        .where(
            resource.c.pk.in_(referring),
            resource.c.deleted.is_(False),
            visible,
        )
        .limit(MAX_INCLUDED)
    )
