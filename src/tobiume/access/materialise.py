"""The rows the access gates join, rewritten with the resource they come from (DESIGN.md,
"Access": "Consent resources are materialised into a grants table on write, so the check is a
join, not a scan").

A Consent gives `registration` and `consent_rule` rows, an active CareTeam `care_relation`
rows, an Organization `served_ward` rows (`storage.tables` describes each). Every write of
one of these types (create, update, delete, a status change) deletes the rows of the resource's
previous version and inserts the new version's, on the write's own connection and transaction,
so the next request already sees them; a tombstone keeps none.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

import orjson
from sqlalchemy import delete, insert, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from tobiume.access.consent_rules import is_registration, registrar, rules
from tobiume.access.relations import care_team_members, served_wards
from tobiume.storage.tables import (
    care_relation,
    consent_rule,
    registration,
    resource,
    served_ward,
)
from tobiume.storage.version import NewVersion

DERIVING_TYPES: Final = frozenset({"Consent", "CareTeam", "Organization"})
"""The resource types whose writes change what the gates join."""


async def rewrite(
    conn: AsyncConnection,
    pk: int,
    res_type: str,
    body: Mapping[str, Any] | None,
    patient_id: str | None,
    *,
    fresh: bool = False,
) -> None:
    """Replace the derived rows of resource `pk` with those of its new version `body` (None
    for a tombstone). `fresh`: the resource is new, so there are no rows to delete."""
    if res_type not in DERIVING_TYPES:
        return
    if res_type == "Consent":
        if not fresh:
            await conn.execute(delete(registration).where(registration.c.consent_pk == pk))
            await conn.execute(delete(consent_rule).where(consent_rule.c.consent_pk == pk))
        if body is not None and patient_id is not None and is_registration(body):
            await conn.execute(
                insert(registration).values(
                    consent_pk=pk, patient_id=patient_id, registrar=registrar(body)
                )
            )
            rows = [_rule_row(pk, patient_id, rule) for rule in rules(body)]
            if rows:
                await conn.execute(insert(consent_rule), rows)
    elif res_type == "CareTeam":
        if not fresh:
            await conn.execute(delete(care_relation).where(care_relation.c.source_pk == pk))
        if body is not None and patient_id is not None:
            members = care_team_members(body)
            if members:
                await conn.execute(
                    insert(care_relation),
                    [
                        {"source_pk": pk, "patient_id": patient_id, "org": m.org, "member": m.user}
                        for m in members
                    ],
                )
    else:
        if not fresh:
            await conn.execute(delete(served_ward).where(served_ward.c.source_pk == pk))
        if body is not None:
            org = f"Organization/{body.get('id')}"
            wards = served_wards(body)
            if wards:
                await conn.execute(
                    insert(served_ward),
                    [{"source_pk": pk, "org": org, "ward_norm": w} for w in wards],
                )


async def rewrite_stored(conn: AsyncConnection, stored: Sequence[NewVersion]) -> None:
    """`rewrite` for new resources just stored by `storage.bulk`, which says which it stored
    but not their keys: those are looked up, for the types that derive rows only."""
    wanted = {(v.res_type, v.res_id): v for v in stored if v.res_type in DERIVING_TYPES}
    if not wanted:
        return
    keys = await conn.execute(
        select(resource.c.pk, resource.c.res_type, resource.c.res_id).where(
            tuple_(resource.c.res_type, resource.c.res_id).in_(list(wanted))
        )
    )
    for pk, res_type, res_id in keys.all():
        new = wanted[(res_type, res_id)]
        body = orjson.loads(new.body) if new.body is not None else None
        await rewrite(conn, pk, res_type, body, new.patient_id, fresh=True)


def _rule_row(pk: int, patient_id: str, rule: Any) -> dict[str, Any]:
    return {
        "consent_pk": pk,
        "patient_id": patient_id,
        "depth": rule.depth,
        "permit": rule.permit,
        "data_class": rule.data_class,
        "res_type": rule.res_type,
        "actor_org": rule.actor_org,
        "actor_role": rule.actor_role,
        "actor_user": rule.actor_user,
        "purpose": rule.purpose,
        "start_us": rule.start,
        "end_us": rule.end,
    }
