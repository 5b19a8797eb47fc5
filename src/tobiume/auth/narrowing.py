"""Which of the scopes a client asks for it gets: each requested clinical scope meets the
scopes the client was registered with, and the token carries what the two have in common
(RFC 6749 section 3.3: the server may grant less than asked and says what it granted;
SMART App Launch, "Scopes for requesting clinical data").

`system/*.rs` registered and `system/Observation.cruds` asked gives `system/Observation.rs`;
a constraint on either side (`?category=laboratory`) stays on the result, since both must hold.
Scopes this server does not understand as clinical scopes are not granted. Results are written
in SMART v2 syntax, so a v1 `.read` asked for comes back as `.rs`.
"""

from __future__ import annotations

from urllib.parse import urlencode

from tobiume.auth.scopes import PERMISSIONS, WILDCARD, Grant, parse_scope


def _meet(asked: Grant, registered: Grant) -> Grant | None:
    if asked.context != registered.context:
        return None
    if registered.res_type == WILDCARD:
        res_type = asked.res_type
    elif asked.res_type in (WILDCARD, registered.res_type):
        res_type = registered.res_type
    else:
        return None
    permissions = asked.permissions & registered.permissions
    if not permissions:
        return None
    constraint = tuple(dict.fromkeys(registered.constraint + asked.constraint))
    return Grant(asked.context, res_type, frozenset(permissions), constraint)


def render(grant: Grant) -> str:
    """A grant as a SMART v2 scope."""
    permissions = "".join(p for p in PERMISSIONS if p in grant.permissions)
    scope = f"{grant.context}/{grant.res_type}.{permissions}"
    return f"{scope}?{urlencode(grant.constraint)}" if grant.constraint else scope


def narrow(asked: str, registered: str) -> str:
    """The scopes to grant, space-separated; empty when nothing asked for may be granted."""
    allowed = [g for g in map(parse_scope, registered.split()) if g is not None]
    granted: list[str] = []
    for item in asked.split():
        wanted = parse_scope(item)
        if wanted is None:
            continue
        for grant in allowed:
            met = _meet(wanted, grant)
            if met is not None:
                granted.append(render(met))
    return " ".join(dict.fromkeys(granted))
