"""Index rows per SearchParameter type (https://hl7.org/fhir/R4/search.html#ptypes), one
module per type behind one protocol: to index a new type, add a module and a line in `INDEXERS`.

An indexer gets the items a parameter's expression selected from a resource (`fhirpath.Value`:
JSON value and, where the expression told it, FHIR type) and appends rows. The JSON shape
decides the data type where the expression did not (`coding` means CodeableConcept, `start` or
`end` means Period, ...), so no structure definitions are needed at run time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from tobiume.fhir.fhirpath import Value
from tobiume.indexing.kinds import date, number, quantity, reference, string, token, uri
from tobiume.indexing.rows import RowSink


class Indexer(Protocol):
    """Appends the rows of parameter `code` for `values` to `rows`."""

    def __call__(self, code: str, values: Sequence[Value], rows: RowSink, /) -> None: ...


INDEXERS: Mapping[str, Indexer] = {
    "string": string.index,
    "token": token.index,
    "reference": reference.index,
    "date": date.index,
    "quantity": quantity.index,
    "number": number.index,
    "uri": uri.index,
}
