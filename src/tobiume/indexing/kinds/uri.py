"""Uri rows (https://hl7.org/fhir/R4/search.html#uri): the uri (url, canonical, oid, uuid) as
written; `:above` / `:below` compare prefixes at search time."""

from __future__ import annotations

from collections.abc import Sequence

from tobiume.fhir.fhirpath import Value
from tobiume.indexing.rows import RowSink


def index(code: str, values: Sequence[Value], rows: RowSink, /) -> None:
    for value, _ in values:
        if type(value) is str and value:
            rows.uri(code, value)
