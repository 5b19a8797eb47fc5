"""Parsing a search query string (https://hl7.org/fhir/R4/search.html#syntax).

A parameter is `name[:modifier]=value[,value...]`: commas OR values (`\\,` escapes a comma),
repeating a parameter ANDs it. Result parameters (`_count`, `_total`, ...) are separated out.
Parameters this server does not know are ignored, unless the client sent
`Prefer: handling=strict` or the search decides a conditional write (then they are an error:
criteria silently ignored would match too much, https://hl7.org/fhir/R4/http.html#ccreate).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tobiume.errors import BadRequest
from tobiume.fhir.searchparams import SearchParam, registry

RESULT_PARAMETERS = frozenset(
    {
        "_count",
        "_sort",
        "_total",
        "_summary",
        "_elements",
        "_include",
        "_revinclude",
        "_contained",
        "_containedType",
        "_format",
        "_pretty",
        "_cursor",
    }
)


@dataclass(frozen=True, slots=True)
class Criterion:
    """One parameter occurrence: the definition, the modifier, and its OR-ed values."""

    param: SearchParam | None
    name: str
    modifier: str | None
    values: tuple[str, ...]
    base_url: str | None = None
    """This server's FHIR base: a reference to an absolute URL under it is a local one."""


@dataclass(slots=True)
class SearchQuery:
    """A parsed search on one resource type."""

    res_type: str
    criteria: list[Criterion] = field(default_factory=list)
    count: int = 20
    cursor: int | None = None
    total: str | None = None
    ignored: list[str] = field(default_factory=list)


def split_values(raw: str) -> tuple[str, ...]:
    """Split on commas not escaped by a backslash, and unescape `\\,` `\\$` `\\|` `\\\\`."""
    values: list[str] = []
    current: list[str] = []
    chars = iter(raw)
    for ch in chars:
        if ch == "\\":
            nxt = next(chars, "")
            current.append(nxt if nxt in ",$|\\" else "\\" + nxt)
        elif ch == ",":
            values.append("".join(current))
            current = []
        else:
            current.append(ch)
    values.append("".join(current))
    return tuple(values)


def parse_query(
    res_type: str,
    pairs: list[tuple[str, str]],
    *,
    default_count: int,
    max_count: int,
    strict: bool = False,
    base_url: str | None = None,
) -> SearchQuery:
    """Turn query pairs into criteria for `res_type`; unknown parameters per `strict`."""
    query = SearchQuery(res_type=res_type, count=default_count)
    params = registry().for_type(res_type)
    for key, raw in pairs:
        if key in RESULT_PARAMETERS:
            _result_parameter(query, key, raw, max_count)
            continue
        name, _, modifier = key.partition(":")
        definition = params.get(name)
        if definition is not None and not definition.expression:
            definition = None  # e.g. _query, _content: nothing is indexed for them
        if definition is None and name not in ("_id", "_lastUpdated"):
            if strict:
                raise BadRequest(f"Unknown search parameter {key!r} for {res_type}")
            query.ignored.append(key)
            continue
        values = split_values(raw)
        query.criteria.append(Criterion(definition, name, modifier or None, values, base_url))
    return query


def _result_parameter(query: SearchQuery, key: str, raw: str, max_count: int) -> None:
    if key == "_count":
        try:
            count = int(raw)
        except ValueError as exc:
            raise BadRequest(f"_count must be a whole number, not {raw!r}") from exc
        if count < 0:
            raise BadRequest("_count must not be negative")
        query.count = min(count, max_count)
    elif key == "_cursor":
        try:
            query.cursor = int(raw)
        except ValueError as exc:
            raise BadRequest("This page link is not valid; start the search again") from exc
    elif key == "_total":
        if raw not in ("none", "estimate", "accurate"):
            raise BadRequest("_total must be none, estimate or accurate")
        query.total = raw
