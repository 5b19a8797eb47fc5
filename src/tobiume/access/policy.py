"""The access predicate hook: every query of patient data is narrowed by it, in SQL.

DESIGN.md ("Access: three gates, one predicate") compiles scope, role policy and consent into one
SQL predicate over the `resource` table. Until the identity and consent issues land, the server
runs with `OpenAccess`, which admits every resource; the point of this module now is that every
read, search and history path already asks it, so those issues change one place, not every query
(after Polar's `get_readable_statement` and Medplum's per-request repository).
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import true
from sqlalchemy.sql.elements import ColumnElement


class AccessPolicy(Protocol):
    """Decides which stored resources a requester may see and change."""

    def visible(self) -> ColumnElement[bool]:
        """A predicate over `storage.tables.resource` admitting the rows the requester may see."""
        ...

    def sees_everything(self) -> bool:
        """True when `visible()` admits every row, so that a count kept for all resources
        (`storage.counts`) is the requester's count too."""
        ...


class OpenAccess:
    """Admits everything: the policy of a server without identity (local development, tests)."""

    def visible(self) -> ColumnElement[bool]:
        return true()

    def sees_everything(self) -> bool:
        return True
