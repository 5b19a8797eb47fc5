"""Index rows: what one resource contributes to each search index table, one dataclass per
SearchParameter type (https://hl7.org/fhir/R4/search.html#ptypes). They carry no resource key;
storage adds it (`indexing.values`, `storage.writes`). Equal rows are equal values, so a set
removes duplicates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple


@dataclass(frozen=True, slots=True)
class StringRow:
    """https://hl7.org/fhir/R4/search.html#string: `value_norm` is `normalize.fold(value)`
    (cut to `MAX_NORM_LENGTH`), `value_exact` the string as written, for `:exact`."""

    param: str
    value_norm: str
    value_exact: str


@dataclass(frozen=True, slots=True)
class TokenRow:
    """https://hl7.org/fhir/R4/search.html#token: a Coding's system and code, an Identifier's
    system and value, a ContactPoint's value, a code or boolean as a bare code.

    `text_norm` is the folded text `:text` searches (a Coding's display, a CodeableConcept's
    text, an Identifier's type text); `type_system` and `type_code` an Identifier's type coding,
    for `:of-type`."""

    param: str
    system: str | None
    code: str | None
    text_norm: str | None = None
    type_system: str | None = None
    type_code: str | None = None


@dataclass(frozen=True, slots=True)
class ReferenceRow:
    """https://hl7.org/fhir/R4/search.html#reference: type and id of a literal reference,
    and the url when the reference was absolute or not a `Type/id` at all."""

    param: str
    target_type: str | None
    target_id: str | None
    url: str | None


@dataclass(frozen=True, slots=True)
class DateRow:
    """https://hl7.org/fhir/R4/search.html#date: the inclusive range the value covers, in
    microseconds since the Unix epoch, UTC (`indexing.dates`)."""

    param: str
    low: int
    high: int


@dataclass(frozen=True, slots=True)
class QuantityRow:
    """https://hl7.org/fhir/R4/search.html#quantity."""

    param: str
    value: float
    system: str | None
    code: str | None
    unit: str | None


@dataclass(frozen=True, slots=True)
class NumberRow:
    """https://hl7.org/fhir/R4/search.html#number."""

    param: str
    value: float


@dataclass(frozen=True, slots=True)
class UriRow:
    """https://hl7.org/fhir/R4/search.html#uri."""

    param: str
    value: str


class CompositeRow(NamedTuple):
    """https://hl7.org/fhir/R4/search.html#composite: the values of one element's components,
    each in the slot of its type (`storage.tables.idx_composite`, whose columns these fields
    are, in order; None where unused). A tuple rather than a frozen dataclass: an Observation
    makes several on every write, and a tuple of 17 is built and hashed many times faster."""

    param: str
    system1: str | None = None
    code1: str | None = None
    system2: str | None = None
    code2: str | None = None
    quantity: float | None = None
    quantity_system: str | None = None
    quantity_code: str | None = None
    quantity_unit: str | None = None
    low: int | None = None
    high: int | None = None
    text_norm: str | None = None
    number1: float | None = None
    number2: float | None = None
    target_type: str | None = None
    target_id: str | None = None
    url: str | None = None

    def values(self) -> tuple[object, ...]:
        """The row in `idx_composite`'s column order."""
        return tuple(self)


@dataclass(slots=True)
class IndexRows:
    """Every index row of one resource, by table."""

    strings: list[StringRow] = field(default_factory=list)
    tokens: list[TokenRow] = field(default_factory=list)
    references: list[ReferenceRow] = field(default_factory=list)
    dates: list[DateRow] = field(default_factory=list)
    quantities: list[QuantityRow] = field(default_factory=list)
    numbers: list[NumberRow] = field(default_factory=list)
    uris: list[UriRow] = field(default_factory=list)
    composites: list[CompositeRow] = field(default_factory=list)

    def count(self) -> int:
        """How many rows in all (not `__len__`: an empty IndexRows is still a result)."""
        return (
            len(self.strings)
            + len(self.tokens)
            + len(self.references)
            + len(self.dates)
            + len(self.quantities)
            + len(self.numbers)
            + len(self.uris)
            + len(self.composites)
        )


class RowSink:
    """Collects one resource's rows; a row equal to one already collected is dropped before it
    is built (a name repeated in two HumanNames, a value reached by two union branches)."""

    __slots__ = ("_seen", "rows")

    def __init__(self) -> None:
        self.rows = IndexRows()
        self._seen: set[object] = set()

    def string(self, param: str, value_norm: str, value_exact: str) -> None:
        key = ("s", param, value_norm, value_exact)
        if key not in self._seen:
            self._seen.add(key)
            self.rows.strings.append(StringRow(param, value_norm, value_exact))

    def token(
        self,
        param: str,
        system: str | None,
        code: str | None,
        text_norm: str | None = None,
        type_system: str | None = None,
        type_code: str | None = None,
    ) -> None:
        key = ("t", param, system, code, text_norm, type_system, type_code)
        if key not in self._seen:
            self._seen.add(key)
            self.rows.tokens.append(
                TokenRow(param, system, code, text_norm, type_system, type_code)
            )

    def reference(
        self, param: str, target_type: str | None, target_id: str | None, url: str | None
    ) -> None:
        key = ("r", param, target_type, target_id, url)
        if key not in self._seen:
            self._seen.add(key)
            self.rows.references.append(ReferenceRow(param, target_type, target_id, url))

    def date(self, param: str, low: int, high: int) -> None:
        key = ("d", param, low, high)
        if key not in self._seen:
            self._seen.add(key)
            self.rows.dates.append(DateRow(param, low, high))

    def quantity(
        self, param: str, value: float, system: str | None, code: str | None, unit: str | None
    ) -> None:
        key = ("q", param, value, system, code, unit)
        if key not in self._seen:
            self._seen.add(key)
            self.rows.quantities.append(QuantityRow(param, value, system, code, unit))

    def number(self, param: str, value: float) -> None:
        key = ("n", param, value)
        if key not in self._seen:
            self._seen.add(key)
            self.rows.numbers.append(NumberRow(param, value))

    def uri(self, param: str, value: str) -> None:
        key = ("u", param, value)
        if key not in self._seen:
            self._seen.add(key)
            self.rows.uris.append(UriRow(param, value))

    def composite(self, row: CompositeRow) -> None:
        if row not in self._seen:
            self._seen.add(row)
            self.rows.composites.append(row)
