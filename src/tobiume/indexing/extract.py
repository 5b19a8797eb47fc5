"""Computing a resource's search index rows at write time
(https://hl7.org/fhir/R4/search.html#ptypes, https://hl7.org/fhir/R4/searchparameter.html).

For every SearchParameter of the resource's type, the parameter's FHIRPath expression selects
values and the indexer for the parameter's type turns them into rows; a composite parameter's
expression selects elements, and `indexing.composite` indexes each element's components
together. Not indexed here: `_id` and `_lastUpdated` (columns of the `resource` table), `_text`
and `_content` (no expression; full-text search is not offered) and `special` ones
(`Location.near`).

The plan per resource type (which parameters, their expressions compiled for that type, their
indexers) is built once and cached, so extraction parses nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from tobiume.fhir.fhirpath import Compiled, Value, compile
from tobiume.fhir.fhirpath_runtime import Eval, root_focus
from tobiume.fhir.resource_types import is_resource_type
from tobiume.fhir.searchparams import SearchParam, registry
from tobiume.indexing.composite import CompositeIndexer, components
from tobiume.indexing.kinds import INDEXERS
from tobiume.indexing.rows import IndexRows, RowSink

SKIPPED_CODES = frozenset({"_id", "_lastUpdated", "_text", "_content"})
SKIPPED_TYPES = frozenset({"special"})

Apply = Callable[[Sequence[Value], dict[str, Any], RowSink], None]
"""Turns what an expression selected from a resource (the resource given too) into rows."""


@dataclass(frozen=True, slots=True)
class Step:
    """One parameter to index: its code, its expression for this type, what makes its rows."""

    code: str
    expression: Compiled
    evaluate: Eval
    apply: Apply


def _apply(code: str, param: SearchParam, resource_type: str) -> Apply | None:
    """The row maker of `param` on `resource_type`; None for a composite this server cannot
    index (`composite.components`)."""
    if param.type == "composite":
        parts = components(param)
        return CompositeIndexer(code, parts, resource_type) if parts is not None else None
    indexer = INDEXERS.get(param.type)
    if indexer is None:
        raise ValueError(f"No indexer for search parameter type {param.type!r} ({code})")
    return lambda values, body, rows: indexer(code, values, rows)


@cache
def plan(resource_type: str) -> tuple[Step, ...]:
    """The parameters indexed for `resource_type`, compiled; those that can select nothing
    on this type (a multi-base expression without a branch for it) are left out."""
    steps: list[Step] = []
    for code, param in sorted(registry().for_type(resource_type).items()):
        if code in SKIPPED_CODES or param.type in SKIPPED_TYPES or not param.expression:
            continue
        apply = _apply(code, param, resource_type)
        compiled = compile(param.expression, resource_type)
        if apply is not None and not compiled.always_empty:
            steps.append(Step(code, compiled, compiled.evaluate, apply))
    return tuple(steps)


def extract(resource: Mapping[str, Any]) -> IndexRows:
    """Every index row of `resource`, without duplicates; ValueError for an unknown type."""
    res_type = resource.get("resourceType")
    if type(res_type) is not str or not is_resource_type(res_type):
        raise ValueError(f"Not an R4 resource type: {res_type!r}")
    body = resource if type(resource) is dict else dict(resource)
    sink = RowSink()
    focus = root_focus(body)
    for step in plan(res_type):
        values = step.evaluate(focus, body)
        if values:
            step.apply(values, body, sink)
    return sink.rows
