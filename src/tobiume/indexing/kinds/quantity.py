"""Quantity rows (https://hl7.org/fhir/R4/search.html#quantity): value, system, code, unit.

Quantity and its profiles (Age, Duration, Count, Distance, SimpleQuantity): as they are; Money:
its currency as the code of `urn:iso:std:iso:4217`; Range: its low and high as two rows (so a
search finds a range by either end); SampledData: no row (its origin is not an observed value).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tobiume.fhir.fhirpath import Value
from tobiume.indexing.rows import RowSink

CURRENCY_SYSTEM = "urn:iso:std:iso:4217"


def _text(value: Any) -> str | None:
    return value if type(value) is str and value else None


def _number(value: Any) -> float | None:
    return float(value) if type(value) is int or type(value) is float else None


def _quantity(code: str, quantity: Any, rows: RowSink) -> None:
    if type(quantity) is not dict:
        return
    number = _number(quantity.get("value"))
    if number is not None:
        rows.quantity(
            code,
            number,
            _text(quantity.get("system")),
            _text(quantity.get("code")),
            _text(quantity.get("unit")),
        )


def index(code: str, values: Sequence[Value], rows: RowSink, /) -> None:
    for value, fhir_type in values:
        if type(value) is not dict or fhir_type == "SampledData":
            continue
        if fhir_type == "Range" or (fhir_type is None and ("low" in value or "high" in value)):
            _quantity(code, value.get("low"), rows)
            _quantity(code, value.get("high"), rows)
        elif fhir_type == "Money" or (fhir_type is None and "currency" in value):
            number, currency = _number(value.get("value")), _text(value.get("currency"))
            if number is not None:
                system = CURRENCY_SYSTEM if currency else None
                rows.quantity(code, number, system, currency, None)
        else:
            _quantity(code, value, rows)
