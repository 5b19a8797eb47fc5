"""Reference rows (https://hl7.org/fhir/R4/search.html#reference).

* `Patient/123`, `Patient/123/_history/2`: type and id;
* `https://host/fhir/Patient/123`: type and id, and the url kept (another server's Patient/123
  is not ours; the search decides what an absolute url matches);
* any other reference string (urn:uuid, urn:oid, a canonical): the url alone;
* `#id` (a contained resource): no row; contained resources are not indexed apart;
* canonical and uri values (`relatedArtifact.resource`, `ConceptMap.source[x]`): the url without
  its `|version` (https://hl7.org/fhir/R4/references.html#canonical);
* a Reference's `identifier` (a logical reference) becomes a token row of `{code}:identifier`,
  which the `:identifier` modifier searches (https://hl7.org/fhir/R4/search.html#reference).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tobiume.fhir.fhirpath import Value
from tobiume.fhir.resource_types import reference_target
from tobiume.indexing.rows import RowSink


def _literal(code: str, ref: str, rows: RowSink) -> None:
    if ref.startswith("#"):
        return
    target = reference_target(ref)
    if target is None:
        rows.reference(code, None, None, ref)
    else:
        url = ref if target.absolute else None
        rows.reference(code, target.res_type, target.res_id, url)


def _identifier(code: str, identifier: Any, rows: RowSink) -> None:
    if type(identifier) is dict:
        value = identifier.get("value")
        if type(value) is str and value:
            system = identifier.get("system")
            rows.token(f"{code}:identifier", system if type(system) is str else None, value)


def index(code: str, values: Sequence[Value], rows: RowSink, /) -> None:
    for value, _ in values:
        if type(value) is dict:
            ref = value.get("reference")
            if type(ref) is str and ref:
                _literal(code, ref, rows)
            if "identifier" in value:
                _identifier(code, value["identifier"], rows)
        elif type(value) is str and value:
            rows.reference(code, None, None, value.partition("|")[0])
