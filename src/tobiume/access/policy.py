"""The access predicate hook: every query of patient data is narrowed by it, in SQL.

DESIGN.md ("Access: three gates, one predicate") compiles scope, role policy and consent into one
SQL predicate over the `resource` table. Every read, search and history path asks it, and every
write asks whether the resource it changes is within reach, so a gate changes one place, not
every query (after Polar's `get_readable_statement` and Medplum's per-request repository).
Requests over HTTP carry the policy of their token's scopes (`access.scoped`); the server's own
work (import, the demo city) runs with `OpenAccess`.
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

    def writable(self, permission: str, res_type: str) -> ColumnElement[bool]:
        """A predicate over `resource` admitting the rows of `res_type` the requester may
        change with `permission` (`c`, `u` or `d`): checked on the current version before a
        write and on the new one after it, in the write's transaction. SQL TRUE needs no
        check."""
        ...

    def known(self) -> ColumnElement[bool]:
        """A predicate over `resource` admitting the rows whose existence the requester may
        learn: what the role policy and the consent let them see, whatever the token's scopes
        (a token may write what it may not read). A write to a row outside it answers as a
        write to a missing one."""
        ...

    def requires_registration(self) -> bool:
        """True when a citizen's clinical data may be written only once they are registered
        (`access.gates`); the server's own work does not ask."""
        ...


class OpenAccess:
    """Admits everything: the policy of the server's own work (import, the demo city), never of
    a request over HTTP."""

    def visible(self) -> ColumnElement[bool]:
        return true()

    def sees_everything(self) -> bool:
        return True

    def writable(self, permission: str, res_type: str) -> ColumnElement[bool]:
        return true()

    def requires_registration(self) -> bool:
        return False

    def known(self) -> ColumnElement[bool]:
        return true()
