"""Page links of a search (https://hl7.org/fhir/R4/search.html#count,
https://hl7.org/fhir/R4/http.html#paging): `next` and `previous` as keysets, not offsets.

A page link's `_cursor` holds the sort values and key of the row the page starts after (or,
going back, before), so it stays right while others write: a resource created or deleted
elsewhere shifts no row from one page to another. It never expires, since it names a place
in the order rather than a stored result set. It also holds a fingerprint of the search it
belongs to (type, compartment, criteria, sort), and a cursor pasted onto another search is a
400, as is one that does not decode: the server could only guess where such a page starts.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from tobiume.errors import BadRequest
from tobiume.search.sort import SortKey

NOT_CRITERIA = frozenset(
    {"_count", "_cursor", "_total", "_summary", "_elements", "_format", "_pretty"}
)
"""Query parameters that change how a page is shown, not where it is: free to change."""

_FOREIGN = "This page link belongs to another search; follow the links of the search you are paging"
_BROKEN = "This page link is not valid; start the search again"


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where a page starts: strictly after (`backward`: before) these sort values and key."""

    backward: bool
    values: tuple[Any, ...]
    pk: int


def fingerprint(res_type: str, patient: str | None, pairs: Iterable[tuple[str, str]]) -> str:
    """A short digest of what a search matches and in which order."""
    kept = sorted((k, v) for k, v in pairs if k not in NOT_CRITERIA)
    digest = hashlib.blake2b(orjson.dumps([res_type, patient, kept]), digest_size=6)
    return base64.urlsafe_b64encode(digest.digest()).decode()


def encode(search: str, cursor: Cursor) -> str:
    values = [v.isoformat() if isinstance(v, datetime) else v for v in cursor.values]
    payload = [search, "p" if cursor.backward else "n", cursor.pk, *values]
    return base64.urlsafe_b64encode(orjson.dumps(payload)).decode().rstrip("=")


def decode(search: str, keys: Sequence[SortKey], text: str) -> Cursor:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        owner, direction, pk, *values = orjson.loads(raw)
        if direction not in ("n", "p") or not isinstance(pk, int) or len(values) != len(keys):
            raise ValueError("not a cursor")
        restored = tuple(
            datetime.fromisoformat(v) if k.name == "_lastUpdated" and v is not None else v
            for k, v in zip(keys, values, strict=True)
        )
    except (ValueError, TypeError, orjson.JSONDecodeError) as exc:
        raise BadRequest(_BROKEN) from exc
    if owner != search:
        raise BadRequest(_FOREIGN)
    return Cursor(direction == "p", restored, pk)
