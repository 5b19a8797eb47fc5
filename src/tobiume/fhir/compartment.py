"""The Patient compartment (https://hl7.org/fhir/R4/compartmentdefinition-patient.html,
https://hl7.org/fhir/R4/compartmentdefinition.html) and the one patient who owns a resource.

Every patient-data row carries `patient_id`, the compartment owner, so that access checks and
sharding key on it (DESIGN.md, "Storage" and "Scale"). A resource is in the compartment of each
patient that one of its compartment parameters references; the owner is the first of those, in
the definition's parameter order (`subject` before `performer` on an Observation), except where
`_PREFERRED` names a better first choice. A Patient owns itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any, Protocol

from tobiume.fhir.resource_types import COMPARTMENT_FILE, load_data


class ReferenceLike(Protocol):
    """What the owner is read from: `indexing.rows.ReferenceRow` (a protocol, so that `fhir`
    does not import the layer above it)."""

    @property
    def param(self) -> str: ...
    @property
    def target_type(self) -> str | None: ...
    @property
    def target_id(self) -> str | None: ...
    @property
    def url(self) -> str | None: ...


OWN_ID = "{def}"
"""A compartment parameter meaning "the resource itself" (R5 writes it for Patient)."""

# Where the definition's first parameter is not the patient the data is about: a Coverage
# belongs to its beneficiary, not to the policy holder who pays for it.
_PREFERRED: Mapping[str, tuple[str, ...]] = {"Coverage": ("beneficiary",)}


def _load() -> Mapping[str, tuple[str, ...]]:
    definition = load_data(COMPARTMENT_FILE)
    params: dict[str, tuple[str, ...]] = {}
    for entry in definition["resource"]:
        codes = tuple(entry.get("param") or ())
        if codes:
            preferred = _PREFERRED.get(entry["code"], ())
            params[entry["code"]] = preferred + tuple(c for c in codes if c not in preferred)
    return MappingProxyType(params)


PATIENT_COMPARTMENT: Mapping[str, tuple[str, ...]] = _load()
"""Resource type -> the search parameters that place it in a Patient's compartment, in the
order the owner is looked for. Types absent here are never in a Patient compartment."""


def patient_owner(
    resource: Mapping[str, Any], refs: Sequence[ReferenceLike], base_url: str | None = None
) -> str | None:
    """The id of the Patient whose compartment `resource` belongs to, or None.

    `refs` are the resource's reference index rows (`indexing.extract`). Only a reference that
    names a Patient by type counts (`subject` may also be a Group or a Device). A reference is
    to this server when it is relative, or absolute under `base_url`; a Patient on another
    server with the same id is not ours, so it never makes an owner.
    """
    res_type = resource.get("resourceType")
    if res_type == "Patient":
        own = resource.get("id")
        return own if isinstance(own, str) else None
    codes = PATIENT_COMPARTMENT.get(res_type) if isinstance(res_type, str) else None
    if not codes:
        return None
    patients: dict[str, str] = {}
    prefix = base_url.rstrip("/") + "/" if base_url else None
    for row in refs:
        if row.target_type != "Patient" or row.target_id is None or row.param in patients:
            continue
        if row.url is None or (prefix is not None and row.url.startswith(prefix)):
            patients[row.param] = row.target_id
    for code in codes:
        if code == OWN_ID:
            own = resource.get("id")
            return own if isinstance(own, str) else None
        if code in patients:
            return patients[code]
    return None
