"""The scope gate as an access predicate: which stored resources a token's SMART scopes reach
(https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html#scopes-for-requesting-clinical-data).

Reading (`visible`) is reached by every grant with `r` or `s`; a write (`writable`) by the
grants with that write's permission. A grant reaches the resources of its type (all for `*`);
a `patient/` grant only those in its patient's compartment (`resource.patient_id`, which a
Patient holds for itself: `fhir.compartment.patient_owner`); a grant with a constraint
(`Observation.rs?category=laboratory`) only those its criteria match, compiled by the search
compiler, as Medplum writes its access policies as FHIR search criteria. Several grants are
OR-ed. A constraint this server cannot compile (an unknown parameter, a result parameter such
as `_count`) reaches nothing: failing closed is the only safe reading of a rule it does not
understand.

Whether the interaction itself is allowed (search needs `s`, read `r`) is the router's check
(`interactions.scope_gate`); this predicate narrows the rows. A token with an unconstrained
`*` grant that reads sees every row, and its predicate is SQL TRUE, which keeps the fast paths
(prepared reads by id, kept counts) that the open policy has.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from functools import lru_cache

from sqlalchemy import and_, false, or_, true
from sqlalchemy.sql.elements import ColumnElement, True_

from tobiume.auth.principal import Principal
from tobiume.auth.scopes import READ, SEARCH, WILDCARD, Grant, ScopeSet
from tobiume.errors import BadRequest
from tobiume.search.compile import criteria_clause
from tobiume.search.query import RESULT_PARAMETERS, parse_query
from tobiume.storage.tables import resource

log = logging.getLogger("tobiume")


class ScopedAccess:
    """The access policy of one set of grants (and the patient of its `patient/` grants)."""

    __slots__ = ("_base_url", "_everything", "_patient", "_scopes", "_visible", "_writable")

    def __init__(self, scopes: ScopeSet, patient: str | None, base_url: str | None) -> None:
        self._scopes = scopes
        self._patient = patient
        self._base_url = base_url
        readable = [g for g in scopes.grants if READ in g.permissions or SEARCH in g.permissions]
        self._visible = self._union(readable)
        self._everything = isinstance(self._visible, True_)
        self._writable: dict[tuple[str, str], ColumnElement[bool]] = {}

    def visible(self) -> ColumnElement[bool]:
        return self._visible

    def sees_everything(self) -> bool:
        return self._everything

    def requires_registration(self) -> bool:
        return False

    def known(self) -> ColumnElement[bool]:
        return true()

    def writable(self, permission: str, res_type: str) -> ColumnElement[bool]:
        key = (permission, res_type)
        found = self._writable.get(key)
        if found is None:
            found = self._writable[key] = self._union(self._scopes.grants_for(*key))
        return found

    def _union(self, grants: Iterable[Grant]) -> ColumnElement[bool]:
        clauses = []
        for grant in grants:
            clause = self._grant_clause(grant)
            if isinstance(clause, True_):
                return true()
            clauses.append(clause)
        if not clauses:
            return false()
        return or_(*clauses) if len(clauses) > 1 else clauses[0]

    def _grant_clause(self, grant: Grant) -> ColumnElement[bool]:
        parts: list[ColumnElement[bool]] = []
        if not grant.is_wildcard:
            parts.append(resource.c.res_type == grant.res_type)
        if grant.context == "patient":
            if self._patient is None:
                return false()
            parts.append(resource.c.patient_id == self._patient)
        if grant.constraint:
            parts.append(_constraint(grant.res_type, grant.constraint, self._base_url))
        return and_(*parts) if parts else true()


@lru_cache(maxsize=512)
def _constraint(
    res_type: str, pairs: tuple[tuple[str, str], ...], base_url: str | None
) -> ColumnElement[bool]:
    """A grant's constraint as a predicate over `resource`; FALSE if it cannot be compiled."""
    if any(k in RESULT_PARAMETERS or k.startswith(("_include", "_revinclude")) for k, _ in pairs):
        log.warning("Scope constraint %r names a result parameter: it grants nothing", pairs)
        return false()
    try:
        query = parse_query(
            "" if res_type == WILDCARD else res_type,
            list(pairs),
            default_count=1,
            max_count=1,
            strict=True,
            base_url=base_url,
        )
        if not query.criteria:
            return false()
        return criteria_clause(query)
    except BadRequest as exc:
        log.warning("Scope constraint %r cannot be compiled (%s): it grants nothing", pairs, exc)
        return false()


@lru_cache(maxsize=1024)
def _policy(scopes: ScopeSet, patient: str | None, base_url: str | None) -> ScopedAccess:
    return ScopedAccess(scopes, patient, base_url)


def scoped_access(principal: Principal, base_url: str | None) -> ScopedAccess:
    """The policy of `principal`'s scopes, built once for all the tokens that share them (the
    same predicate object also lets the search compiler reuse what it built with it)."""
    return _policy(principal.scopes, principal.patient, base_url)
