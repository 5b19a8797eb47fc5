"""Building Bundles (https://hl7.org/fhir/R4/bundle.html) around stored resource JSON.

Resources are stored as the JSON text clients get back, so a Bundle is assembled by splicing
that text into the envelope instead of parsing and re-serialising every resource.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tobiume.fhir.json import dumps


@dataclass(frozen=True, slots=True)
class Entry:
    """A Bundle entry: its elements, plus the resource as JSON text (or a dict) if any."""

    fields: dict[str, Any]
    resource: str | dict[str, Any] | None = None


def _entry_text(entry: Entry) -> str:
    rest = dumps(entry.fields)
    if entry.resource is None:
        return rest
    resource = entry.resource if isinstance(entry.resource, str) else dumps(entry.resource)
    if rest == "{}":
        return '{"resource":' + resource + "}"
    return '{"resource":' + resource + "," + rest[1:]


def bundle_text(envelope: dict[str, Any], entries: Sequence[Entry]) -> str:
    """The Bundle as JSON text: `envelope` holds type, total, link...; `entries` go last (none:
    no `entry` at all, since a JSON array is never empty, https://hl7.org/fhir/R4/json.html)."""
    head = dumps({"resourceType": "Bundle", **envelope})
    if not entries:
        return head
    body = ",".join(_entry_text(e) for e in entries)
    return head[:-1] + ',"entry":[' + body + "]}"
