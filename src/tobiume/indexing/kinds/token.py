"""Token rows (https://hl7.org/fhir/R4/search.html#token): system and code.

CodeableConcept: one row per coding; Coding: system and code; Identifier: system and value;
ContactPoint: its value alone (its `system` is phone/email/..., not a code system); code, id,
string, uri and boolean values: the bare value (`true`/`false`), no system.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tobiume.fhir.fhirpath import Value
from tobiume.indexing.rows import RowSink

# ContactPoint.system (https://hl7.org/fhir/R4/valueset-contact-point-system.html).
_CONTACT_SYSTEMS = frozenset({"phone", "fax", "email", "pager", "url", "sms", "other"})


def _text(value: Any) -> str | None:
    return value if type(value) is str and value else None


def _coding(code: str, coding: Any, rows: RowSink) -> None:
    if type(coding) is dict:
        system, value = _text(coding.get("system")), _text(coding.get("code"))
        if system is not None or value is not None:
            rows.token(code, system, value)


def _structure(code: str, value: dict[str, Any], fhir_type: str | None, rows: RowSink) -> None:
    codings = value.get("coding")
    if fhir_type == "CodeableConcept" or type(codings) is list:
        for coding in codings or ():
            _coding(code, coding, rows)
    elif fhir_type == "Coding":
        _coding(code, value, rows)
    elif "value" in value:  # Identifier, ContactPoint
        text = _text(value["value"])
        if text is not None:
            system = _text(value.get("system"))
            if fhir_type == "ContactPoint" or system in _CONTACT_SYSTEMS:
                system = None
            rows.token(code, system, text)
    else:
        _coding(code, value, rows)


def index(code: str, values: Sequence[Value], rows: RowSink, /) -> None:
    for value, fhir_type in values:
        kind = type(value)
        if kind is str:
            if value:
                rows.token(code, None, value)
        elif kind is bool:
            rows.token(code, None, "true" if value else "false")
        elif kind is dict:
            _structure(code, value, fhir_type, rows)
        elif kind is int:
            rows.token(code, None, str(value))
