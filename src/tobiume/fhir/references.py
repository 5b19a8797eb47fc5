"""Reference strings (https://hl7.org/fhir/R4/references.html#literal).

A literal reference is relative (`Patient/1`, `Patient/1/_history/2`), absolute (a URL; when it
starts with this server's base it is treated as relative), a `urn:uuid:`/`urn:oid:` placeholder
resolved inside a transaction Bundle, a conditional reference (`Patient?identifier=...`,
https://hl7.org/fhir/R4/http.html#trules), or a contained reference (`#id`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ID_PATTERN = re.compile(r"[A-Za-z0-9\-.]{1,64}")
_RELATIVE = re.compile(
    r"(?P<type>[A-Z][A-Za-z]+)/(?P<id>[A-Za-z0-9\-.]{1,64})(?:/_history/(?P<version>[A-Za-z0-9\-.]{1,64}))?"
)


@dataclass(frozen=True, slots=True)
class LocalReference:
    """A reference to a resource on this server."""

    res_type: str
    res_id: str
    version: str | None = None

    @property
    def relative(self) -> str:
        return f"{self.res_type}/{self.res_id}"


def is_valid_id(value: str) -> bool:
    return ID_PATTERN.fullmatch(value) is not None


def parse_local(reference: str, base_url: str | None = None) -> LocalReference | None:
    """`Type/id[/_history/v]`, relative or under `base_url`; None for anything else."""
    if base_url and reference.startswith(base_url.rstrip("/") + "/"):
        reference = reference[len(base_url.rstrip("/")) + 1 :]
    match = _RELATIVE.fullmatch(reference)
    if match is None:
        return None
    return LocalReference(match["type"], match["id"], match["version"])


def split_conditional(reference: str) -> tuple[str, str] | None:
    """`Type?query` -> (Type, query); None if the reference is not conditional."""
    res_type, sep, query = reference.partition("?")
    if not sep or not res_type or "/" in res_type or not res_type[:1].isupper():
        return None
    return res_type, query
