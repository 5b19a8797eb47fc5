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
from tobiume.fhir.summary import SUMMARY_MODES, parse_elements
from tobiume.search import cursor
from tobiume.search.cursor import Cursor
from tobiume.search.include import Include, parse_include
from tobiume.search.sort import SortKey, parse_sort

RESULT_PARAMETERS = frozenset(
    {
        "_count",
        "_sort",
        "_total",
        "_summary",
        "_elements",
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
    chain: Link | None = None
    """`subject:Patient.name=x`: the reference's target must match `chain` (name = subject)."""
    has: Link | None = None
    """`_has:Observation:patient:code=x`: some resource of `has.res_type` whose reference
    `param` points here matches `has.criterion` (name = _has)."""


@dataclass(frozen=True, slots=True)
class Link:
    """The other end of a chained or reverse-chained parameter."""

    res_type: str
    criterion: Criterion


MAX_CHAIN = 4
"""Levels of chaining and `_has` nesting a criterion may have."""


@dataclass(slots=True)
class SearchQuery:
    """A parsed search on one resource type."""

    res_type: str
    criteria: list[Criterion] = field(default_factory=list)
    count: int = 20
    cursor: Cursor | None = None
    """Where the page starts (`search.cursor`)."""
    fingerprint: str = ""
    """What the search matches and in which order, which its page links must carry."""
    sort: tuple[SortKey, ...] = ()
    total: str | None = None
    ignored: list[str] = field(default_factory=list)
    includes: list[Include] = field(default_factory=list)
    summary: str | None = None
    elements: tuple[str, ...] | None = None
    patient: str | None = None
    """Search only this Patient's compartment."""
    base_url: str | None = None


def split_values(raw: str, *, keep_escapes: bool = False) -> tuple[str, ...]:
    """Split on commas not escaped by a backslash, and unescape `\\,` `\\$` `\\|` `\\\\`.

    A composite parameter's values keep their escapes (`keep_escapes`): `split_components` must
    still tell a separating `$` from an escaped `\\$` (https://hl7.org/fhir/R4/search.html#escaping).
    """
    return _split(raw, ",", unescape=not keep_escapes)


def split_components(value: str) -> tuple[str, ...]:
    """A composite value (kept escaped by `split_values`) split on unescaped `$` into its
    components, each unescaped (https://hl7.org/fhir/R4/search.html#composite)."""
    return _split(value, "$", unescape=True)


def _split(raw: str, separator: str, *, unescape: bool) -> tuple[str, ...]:
    values: list[str] = []
    current: list[str] = []
    chars = iter(raw)
    for ch in chars:
        if ch == "\\":
            nxt = next(chars, "")
            current.append(nxt if unescape and nxt in ",$|\\" else "\\" + nxt)
        elif ch == separator:
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
    patient: str | None = None,
) -> SearchQuery:
    """Turn query pairs into criteria for `res_type`; unknown parameters per `strict`."""
    query = SearchQuery(res_type, count=default_count, base_url=base_url, patient=patient)
    query.fingerprint = cursor.fingerprint(res_type, patient, pairs)
    given_cursor: str | None = None
    for key, raw in pairs:
        if key.partition(":")[0] in ("_include", "_revinclude"):
            query.includes.extend(_includes(res_type, key, raw))
            continue
        if key == "_cursor":
            given_cursor = raw
            continue
        if key in RESULT_PARAMETERS:
            _result_parameter(query, key, raw, max_count)
            continue
        criterion = _criterion(res_type, key, raw, base_url, 0)
        if criterion is None:
            if strict:
                raise BadRequest(f"Unknown search parameter {key!r} for {res_type}")
            query.ignored.append(key)
            continue
        query.criteria.append(criterion)
    if given_cursor is not None:
        query.cursor = cursor.decode(query.fingerprint, query.sort, given_cursor)
    return query


def _criterion(
    res_type: str, key: str, raw: str, base_url: str | None, depth: int
) -> Criterion | None:
    """The criterion `key=values` on `res_type`, or None when `key` names no parameter of it.

    Chains (https://hl7.org/fhir/R4/search.html#chaining) and `_has`
    (https://hl7.org/fhir/R4/search.html#has) nest: a link whose far end names no parameter is
    a 400, never ignored, since a broken link would match far too much."""
    if depth > MAX_CHAIN:
        raise BadRequest(f"Chains and _has nest at most {MAX_CHAIN} levels")
    if key.startswith("_has:"):
        return _has(res_type, key, raw, base_url, depth)
    head, dot, rest = key.partition(".")
    name, _, modifier = head.partition(":")
    definition = registry().for_type(res_type).get(name)
    if definition is not None and not definition.expression:
        definition = None  # e.g. _query, _content: nothing is indexed for them
    composite = definition is not None and definition.type == "composite"
    values = split_values(raw, keep_escapes=composite and not dot)
    if not dot:
        if definition is None and name not in ("_id", "_lastUpdated"):
            return None
        return Criterion(definition, name, modifier or None, values, base_url)
    if definition is None or definition.type != "reference":
        raise BadRequest(f"{name!r} is not a reference parameter of {res_type}: it cannot chain")
    target = modifier or (definition.target[0] if len(definition.target) == 1 else None)
    if target is None:
        raise BadRequest(f"{name} may refer to several types; name one, as {name}:Patient.{rest}")
    if definition.target and target not in definition.target:
        raise BadRequest(f"{name} never refers to a {target}")
    inner = _criterion(target, rest, raw, base_url, depth + 1)
    if inner is None:
        raise BadRequest(f"Unknown search parameter {rest!r} for {target} in {key!r}")
    return Criterion(definition, name, None, values, base_url, chain=Link(target, inner))


def _has(res_type: str, key: str, raw: str, base_url: str | None, depth: int) -> Criterion:
    parts = key.split(":", 3)
    if len(parts) < 4 or not all(parts[1:]):
        raise BadRequest(f"{key!r}: _has takes _has:Type:reference:parameter")
    _, source, ref_name, rest = parts
    reference = registry().for_type(source).get(ref_name)
    if reference is None or reference.type != "reference" or not reference.expression:
        raise BadRequest(f"{key!r}: {ref_name!r} is not a reference parameter of {source!r}")
    if reference.target and res_type not in reference.target:
        raise BadRequest(f"{key!r}: {source}.{ref_name} never refers to a {res_type}")
    inner = _criterion(source, rest, raw, base_url, depth + 1)
    if inner is None:
        raise BadRequest(f"Unknown search parameter {rest!r} for {source} in {key!r}")
    return Criterion(reference, "_has", None, split_values(raw), base_url, has=Link(source, inner))


def _includes(res_type: str, key: str, raw: str) -> list[Include]:
    specs = [parse_include(key, value) for value in split_values(raw)]
    for spec in specs:
        if not spec.iterate and not spec.reverse and spec.source != res_type:
            raise BadRequest(
                f"_include={spec.source}:...: a search on {res_type} includes from {res_type}"
            )
    return specs


def _result_parameter(query: SearchQuery, key: str, raw: str, max_count: int) -> None:
    if key == "_count":
        try:
            count = int(raw)
        except ValueError as exc:
            raise BadRequest(f"_count must be a whole number, not {raw!r}") from exc
        if count < 0:
            raise BadRequest("_count must not be negative")
        query.count = min(count, max_count)
    elif key == "_sort":
        query.sort = parse_sort(query.res_type, raw)
    elif key == "_summary":
        if raw not in SUMMARY_MODES:
            raise BadRequest(f"_summary must be one of {', '.join(SUMMARY_MODES)}")
        query.summary = raw
    elif key == "_elements":
        query.elements = parse_elements(raw)
    elif key == "_total":
        if raw not in ("none", "estimate", "accurate"):
            raise BadRequest("_total must be none, estimate or accurate")
        query.total = raw
