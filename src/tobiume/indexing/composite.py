"""Composite search parameters (https://hl7.org/fhir/R4/search.html#composite): which
components a composite has, the slot of `idx_composite` each fills, and its rows.

"The search ... matches resources where the components match within the same element": the
parameter's expression selects the elements (an `Observation.component`, a `Group.characteristic`,
the Observation itself), each component's expression is evaluated on one element at a time, and
the element becomes one row per combination of its components' values (a CodeableConcept of two
codings with one Quantity: two rows). Each component's values come from the indexer of its own
type (`indexing.kinds`), so a Range, a Money or a partial date is read exactly as the plain
parameter reads it.

Why one table with a column per slot rather than the components' rows in their own tables with a
group number: a search is then one index lookup on the first component (`ix_idx_composite_match`:
the code) with the second checked on the same row, no join between two index tables on
(resource, group); and no other search pays for a group column. A component fills the next free
slot of its type (`SLOTS`): every R4 composite fits (at most two tokens, two numbers, one of any
other type); one that did not would be reported unsupported, never half-indexed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from itertools import product
from typing import Any

from tobiume.fhir.fhirpath import Compiled, Value, compile
from tobiume.fhir.searchparams import SearchParam, registry
from tobiume.indexing.kinds import INDEXERS, Indexer
from tobiume.indexing.rows import CompositeRow, IndexRows, RowSink

SLOTS: Mapping[str, tuple[tuple[str, ...], ...]] = {
    "token": (("system1", "code1"), ("system2", "code2")),
    "quantity": (("quantity", "quantity_system", "quantity_code", "quantity_unit"),),
    "date": (("low", "high"),),
    "string": (("text_norm",),),
    "number": (("number1",), ("number2",)),
    "reference": (("target_type", "target_id", "url"),),
}
"""Per component type, the `CompositeRow` fields of each of its slots, in slot order."""

_ERRATA: Mapping[str, tuple[str, ...]] = {
    # R4 gives DocumentReference's `relationship` the components' expressions swapped (the
    # reference `relatesto` reads `code`, the token `relation` reads `target`), so that as
    # published it never indexes anything; corrected in R4B.
    "http://hl7.org/fhir/SearchParameter/DocumentReference-relationship": ("target", "code"),
}


@dataclass(frozen=True, slots=True)
class Component:
    """One component of a composite: its type, its slot's fields, its expression (relative to
    the element the composite's expression selects)."""

    type: str
    fields: tuple[str, ...]
    expression: str


@cache
def components(param: SearchParam) -> tuple[Component, ...] | None:
    """The components of composite `param` with their slots; None when a component's definition
    is unknown, of a type without an indexer, or there is no free slot for it."""
    expressions = _ERRATA.get(param.url) or tuple(expr for _, expr in param.components)
    used: dict[str, int] = {}
    found: list[Component] = []
    for (url, _), expression in zip(param.components, expressions, strict=True):
        definition = registry().by_url(url)
        if definition is None or definition.type not in INDEXERS:
            return None
        slots = SLOTS.get(definition.type, ())
        position = used.get(definition.type, 0)
        if position >= len(slots):
            return None
        used[definition.type] = position + 1
        found.append(Component(definition.type, slots[position], expression))
    return tuple(found) if len(found) >= 2 else None


def _slot_values(rows: IndexRows, kind: str) -> list[tuple[Any, ...]]:
    """What one component contributed, as the values of its slot's fields."""
    if kind == "token":
        return [(r.system, r.code) for r in rows.tokens if r.code is not None]
    if kind == "quantity":
        return [(r.value, r.system, r.code, r.unit) for r in rows.quantities]
    if kind == "date":
        return [(r.low, r.high) for r in rows.dates]
    if kind == "string":
        return [(r.value_norm,) for r in rows.strings]
    if kind == "number":
        return [(r.value,) for r in rows.numbers]
    return [(r.target_type, r.target_id, r.url) for r in rows.references]


@dataclass(frozen=True, slots=True)
class _Compiled:
    component: Component
    expression: Compiled
    indexer: Indexer
    positions: tuple[int, ...]
    """Where the slot's fields are in a `CompositeRow`."""


class CompositeIndexer:
    """Rows of one composite parameter on one resource type."""

    __slots__ = ("_code", "_parts")

    def __init__(self, code: str, parts: Sequence[Component], resource_type: str) -> None:
        self._code = code
        self._parts = tuple(
            _Compiled(
                part,
                compile(part.expression, resource_type),
                INDEXERS[part.type],
                tuple(CompositeRow._fields.index(name) for name in part.fields),
            )
            for part in parts
        )

    def __call__(self, elements: Sequence[Value], body: dict[str, Any], rows: RowSink) -> None:
        for element in elements:
            self._element(element, body, rows)

    def _element(self, element: Value, body: dict[str, Any], rows: RowSink) -> None:
        # Select every component first: most elements lack one (an Observation has one value
        # type of the four `code-value-*` read), and selecting is far cheaper than indexing.
        selected: list[list[Value]] = []
        for part in self._parts:
            found = part.expression.on([element], body)
            if not found:
                return
            selected.append(found)
        per_part: list[list[tuple[Any, ...]]] = []
        for part, found in zip(self._parts, selected, strict=True):
            sink = RowSink()
            part.indexer(self._code, found, sink)
            values = _slot_values(sink.rows, part.component.type)
            if not values:
                return
            per_part.append(values)
        width = len(CompositeRow._fields)
        for combination in product(*per_part):
            row: list[Any] = [None] * width
            row[0] = self._code
            for part, slot in zip(self._parts, combination, strict=True):
                for position, value in zip(part.positions, slot, strict=True):
                    row[position] = value
            rows.composite(CompositeRow._make(row))
