"""Number rows (https://hl7.org/fhir/R4/search.html#number): integer and decimal values.

A Range (`RiskAssessment.prediction.probability[x]`) has no single number: no row.
"""

from __future__ import annotations

from collections.abc import Sequence

from tobiume.fhir.fhirpath import Value
from tobiume.indexing.rows import RowSink


def index(code: str, values: Sequence[Value], rows: RowSink, /) -> None:
    for value, _ in values:
        if type(value) is int or type(value) is float:
            rows.number(code, float(value))
