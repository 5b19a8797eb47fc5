"""Token rows (https://hl7.org/fhir/R4/search.html#token): system and code.

CodeableConcept: one row per coding; Coding: system and code; Identifier: system and value;
ContactPoint: its value alone (its `system` is phone/email/..., not a code system); code, id,
string, uri and boolean values: the bare value (`true`/`false`), no system.

For `:text` ("the text associated with the code/value: CodeableConcept.text, Coding.display, or
Identifier.type.text") a row also carries that text folded as string search folds it
(`indexing.normalize.fold`): a Coding's row its display, an Identifier's row its type's text,
and a CodeableConcept's text a row of its own without system or code. For `:of-type` an
Identifier's row carries its type coding, one row per coding of `Identifier.type`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tobiume.fhir.fhirpath import Value
from tobiume.indexing.kinds.string import MAX_NORM_LENGTH
from tobiume.indexing.normalize import fold
from tobiume.indexing.rows import RowSink

# ContactPoint.system (https://hl7.org/fhir/R4/valueset-contact-point-system.html).
_CONTACT_SYSTEMS = frozenset({"phone", "fax", "email", "pager", "url", "sms", "other"})


def _text(value: Any) -> str | None:
    return value if type(value) is str and value else None


def _folded(value: Any) -> str | None:
    """The text as `:text` searches it, None when there is none (or nothing is left)."""
    text = _text(value)
    return (fold(text)[:MAX_NORM_LENGTH] or None) if text is not None else None


def _coding(code: str, coding: Any, rows: RowSink) -> None:
    if type(coding) is dict:
        system, value = _text(coding.get("system")), _text(coding.get("code"))
        display = _folded(coding.get("display"))
        if system is not None or value is not None or display is not None:
            rows.token(code, system, value, display)


def _identifier(code: str, identifier: dict[str, Any], value: str, rows: RowSink) -> None:
    system = _text(identifier.get("system"))
    kind = identifier.get("type")
    if type(kind) is not dict:
        rows.token(code, system, value)
        return
    text = _folded(kind.get("text"))
    types = [
        (_text(c.get("system")), _text(c.get("code")))
        for c in kind.get("coding") or ()
        if type(c) is dict and _text(c.get("code")) is not None
    ]
    for type_system, type_code in types or [(None, None)]:
        rows.token(code, system, value, text, type_system, type_code)


def _structure(code: str, value: dict[str, Any], fhir_type: str | None, rows: RowSink) -> None:
    codings = value.get("coding")
    # A CodeableConcept may hold only its text; no other type a token indexes has `text`.
    if fhir_type == "CodeableConcept" or type(codings) is list or "text" in value:
        for coding in codings or ():
            _coding(code, coding, rows)
        text = _folded(value.get("text"))
        if text is not None:
            rows.token(code, None, None, text)
    elif fhir_type == "Coding":
        _coding(code, value, rows)
    elif "value" in value:  # Identifier, ContactPoint
        text = _text(value["value"])
        if text is None:
            return
        system = _text(value.get("system"))
        if fhir_type == "ContactPoint" or system in _CONTACT_SYSTEMS:
            rows.token(code, None, text)
        else:
            _identifier(code, value, text, rows)
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
