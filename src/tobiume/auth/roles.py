"""The roles of the network's participants (DESIGN.md, "What it is"), and the scopes
`tobiume token` grants each when not told.

The defaults are the most a role's scopes would ever reach; the role policy and the citizen's
consent (DESIGN.md, "Access: three gates, one predicate") narrow them further as those gates
land. A token for a person (`--practitioner`) speaks as `user/`, one for a system as
`system/`, one for a citizen as `patient/` (their own compartment).
"""

from __future__ import annotations

ROLES: frozenset[str] = frozenset(
    {
        "hospital",
        "clinic",
        "pharmacy",
        "home-nursing",  # 訪問看護ステーション
        "care-manager",  # 居宅介護支援事業所
        "care-provider",  # 介護サービス事業所
        "community-support-center",  # 地域包括支援センター
        "municipality",  # the city's systems that send care and checkup data
        "auditor",
        "admin",
        "citizen",
    }
)


def default_scope(role: str, *, person: bool) -> str:
    """The `scope` a token for `role` gets unless one is asked for.

    admin: everything (`system/*.cruds`). citizen: read and search their own record
    (`patient/*.rs`). auditor: read and search the access log (`AuditEvent.rs`). Every care
    participant (hospitals to the municipality) reads and writes clinical data (`*.cruds`):
    they contribute records as well as read them, and which of them they may see is the role
    policy's and the consent's to say, not the scope's."""
    if role == "citizen":
        return "patient/*.rs"
    context = "user" if person else "system"
    if role == "auditor":
        return f"{context}/AuditEvent.rs"
    return f"{context}/*.cruds"
