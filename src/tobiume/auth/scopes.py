"""SMART clinical-data scopes, v2 and v1
(https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html#scopes-for-requesting-clinical-data).

A scope is `context/Type.permissions[?constraint]`: the context is `patient` (the token's
patient only), `user` or `system`; the type is a resource type or `*`; the permissions are an
in-order subset of `cruds`; the constraint is a search query string (`category=laboratory`)
that narrows the resources the scope reaches. SMART 1.0's `.read`, `.write` and `.*` are read as
`.rs`, `.cud` and `.cruds`, as the specification asks of a server that advertises
`permission-v1`.

Anything else in the `scope` string is ignored, not refused: `openid`, `fhirUser`,
`launch/patient` and the like carry no access, and a clinical scope this server cannot read
(an unknown type, `.dus` out of order, an empty constraint) grants nothing, which the
specification allows ("MAY be ignored"). A `patient/` scope in a token without a `patient`
claim grants nothing either: its reach is that patient's compartment.

Interactions and the permission each needs (the specification's table):
`c` create; `r` read, vread and instance history; `u` update (also update-as-create) and patch;
`d` delete; `s` type search, compartment search, type and system history, system search.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import parse_qsl

from tobiume.fhir.resource_types import is_resource_type

CREATE = "c"
READ = "r"
UPDATE = "u"
DELETE = "d"
SEARCH = "s"
PERMISSIONS = "cruds"
CONTEXTS = ("patient", "user", "system")
WILDCARD = "*"

_V1 = {"read": "rs", "write": "cud", "*": "cruds"}
_SCOPE = re.compile(
    r"(?P<context>patient|user|system)/(?P<type>\*|[A-Z][A-Za-z]+)"
    r"\.(?P<permissions>read|write|\*|[cruds]+)(?:\?(?P<constraint>.*))?",
    re.DOTALL,
)


@dataclass(frozen=True, slots=True)
class Grant:
    """One clinical scope as granted: who it speaks for, which type, what it may do, and the
    search criteria (as query pairs) a resource must meet for the grant to reach it."""

    context: str
    res_type: str
    permissions: frozenset[str]
    constraint: tuple[tuple[str, str], ...] = ()

    def covers(self, permission: str, res_type: str) -> bool:
        return permission in self.permissions and self.res_type in (WILDCARD, res_type)

    @property
    def is_wildcard(self) -> bool:
        return self.res_type == WILDCARD


@dataclass(frozen=True, slots=True)
class ScopeSet:
    """The clinical grants of one token, in the order the `scope` claim listed them."""

    grants: tuple[Grant, ...] = ()

    def allows(self, permission: str, res_type: str) -> bool:
        """May the token perform an interaction needing `permission` on `res_type` at all?

        A constrained or `patient/` grant passes here; what it reaches is narrowed per resource
        by the access predicate (`access.scoped`)."""
        return any(g.covers(permission, res_type) for g in self.grants)

    def grants_for(self, permission: str, res_type: str) -> tuple[Grant, ...]:
        return tuple(g for g in self.grants if g.covers(permission, res_type))


def parse_scope(text: str) -> Grant | None:
    """One scope, or None when it is not a clinical scope this server understands."""
    match = _SCOPE.fullmatch(text)
    if match is None:
        return None
    res_type = match["type"]
    if res_type != WILDCARD and not is_resource_type(res_type):
        return None
    written = match["permissions"]
    constraint_text = match["constraint"]
    if written in _V1:
        if constraint_text is not None:
            return None  # constraints are SMART 2.0's; a v1 scope with one is not either
        permissions = _V1[written]
    elif _in_order(written):
        permissions = written
    else:
        return None
    constraint: tuple[tuple[str, str], ...] = ()
    if constraint_text is not None:
        constraint = tuple(parse_qsl(constraint_text, keep_blank_values=True))
        if not constraint:
            return None
    return Grant(match["context"], res_type, frozenset(permissions), constraint)


def _in_order(permissions: str) -> bool:
    """`rs` and `cud` are valid, `dus` and `rr` are not: an in-order subset of `cruds`."""
    return permissions == "".join(p for p in PERMISSIONS if p in permissions)


@lru_cache(maxsize=4096)
def parse_scopes(text: str, *, has_patient: bool) -> ScopeSet:
    """The grants in a space-separated `scope` string (RFC 6749 section 3.3); `patient/` grants
    only when the token names its patient."""
    grants = []
    for item in text.split():
        grant = parse_scope(item)
        if grant is not None and (grant.context != "patient" or has_patient):
            grants.append(grant)
    return ScopeSet(tuple(dict.fromkeys(grants)))
