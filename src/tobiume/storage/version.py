"""What one write stores: the version and its index values (shared by `storage.writes` and its
two dialect paths)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table

IndexValues = Mapping[Table, Sequence[tuple[Any, ...]]]
"""Per index table, the rows to store, each a tuple in `tables.value_columns(table)` order."""


@dataclass(frozen=True, slots=True)
class NewVersion:
    """A version to store: the body already carries `meta.versionId` and `meta.lastUpdated`."""

    res_type: str
    res_id: str
    version: int
    last_updated: datetime
    body: str | None
    patient_id: str | None
    method: str
    deleted: bool = False
    data_class: str | None = None
    """`access.classes.data_class` of the body (a tombstone keeps its resource's)."""
    owner_org: str | None = None
    """The organisation that contributed the resource (`Organization/ID`); None for the
    server's own work (import, the demo city)."""
