"""The scope gate at the router: may this token perform this interaction on this type at all?
(https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html#scopes-for-requesting-clinical-data)

The router names the permission of each interaction as SMART's table does (create `c`; read,
vread and instance history `r`; update, update-as-create and patch `u`; delete `d`; type,
compartment and system search and type and system history `s`). A conditional interaction also
searches, so it needs `s` beside its own permission. A refusal is 403 with an OperationOutcome
(https://hl7.org/fhir/R4/http.html#general: the requester is known, the interaction is not
theirs); which resources a granted interaction reaches is the access predicate's to say
(`access.scoped`).

System-level search and history across every type need a grant on `*`; a search names its
types with `_type` to need only theirs. Batch and transaction Bundles need nothing themselves:
SMART 2.0 checks the requests inside them, which pass through here one by one (a transaction
checks every entry before it runs any, `interactions.bundle`). An `$operation` will need what
it does, named by its own module (as Medplum's operations name theirs); none is implemented
yet, so each is 404 whatever the scopes.
"""

from __future__ import annotations

from tobiume.auth.scopes import WILDCARD
from tobiume.errors import Forbidden
from tobiume.interactions.context import Context

_NAMES = {"c": "create", "r": "read", "u": "update", "d": "delete", "s": "search"}


def require(ctx: Context, permission: str, res_type: str = WILDCARD) -> None:
    """Pass if the requester's scopes grant `permission` on `res_type`, else 403."""
    principal = ctx.principal
    if principal is None or principal.scopes.allows(permission, res_type):
        return
    what = "every type" if res_type == WILDCARD else res_type
    raise Forbidden(
        f"The access token's scopes do not allow {_NAMES[permission]} on {what} "
        f"(it needs a scope such as system/{res_type}.{permission})"
    )
