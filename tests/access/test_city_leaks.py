"""Generated leak tests: the synthetic city, every role, every path a FHIR client has.

A small city (`CITIZENS` citizens of seed `SEED`, chosen because it holds every consent shape
the generator makes: withdrawn, deny-clinic, named-facilities, no-checkup, emergency-only, and
care teams around citizens of most of them) is imported once per backend, as `tobiume import`
loads it (no contributor). Then, for concrete requesters of every role taken from the city's
own directory and care teams, what the server answers with the default role table is compared
with what `tests.access.city_oracle` decides from docs/access.md and the resources alone:

* read (200 against 404, a hidden resource's 404 body the same as a missing one's), vread,
  instance, type and system history;
* every type searched whole with `_total=accurate` and `_summary=count`; small pages (sorted
  and not), each full but the last; `_id` by type, across types and by `POST _search`;
  `_type` system search; `patient=` and the Patient compartment, also of a hidden Patient;
* `_include` (also `*`), `_revinclude`, `:iterate`; chains through the Patient; `_has`, nested;
* conditional create (`If-None-Exist`, and a transaction's `ifNoneExist`) whose criteria match
  only hidden resources: it must create; conditional update likewise; a delete (by id or
  conditional) or a conditional patch of hidden resources changes nothing and answers as one
  of missing resources.

Each requester's test collects every disagreement and fails once with all of them, each line
naming the requester, the path, what the oracle expected and what the server answered. The
suite samples (a dozen citizens per requester, one record per class of each) so that it stays
within a minute per backend.
"""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote

import httpx
import pytest

from tests.access.city_oracle import (
    CARE,
    CHECKUP,
    ROLE_TABLE,
    City,
    Requester,
    Resource,
    citizen_of,
    codings,
    compartment_citizens,
    data_class,
    fold,
    is_summary,
    key,
    references_at,
)
from tests.conftest import Backend, default_policy, serve
from tests.helpers import FHIR_JSON, empty_tables
from tests.tokens import auth
from tobiume.demo import facilities
from tobiume.demo.citizens import draw
from tobiume.demo.generate import AS_OF, city
from tobiume.demo.output import write_ndjson
from tobiume.importer import import_paths

CITIZENS = 40
SEED = 189
SHAPES = ("withdrawn", "deny-clinic", "named-facilities", "no-checkup", "emergency-only")
"""The consent shapes the generator makes besides permit-all (src/tobiume/demo/citizens.py)."""
PAGE = 1000
"""TOBIUME_MAX_COUNT's default: the largest page, so that most searches take one request."""
JLAC10 = "urn:oid:1.2.392.200119.4.504"
HBA1C = "3D046000001920402"
RECORD_CATEGORY = "http://tobiume.example/fhir/CodeSystem/record-category"
PATIENT_SEARCH = {
    "AllergyIntolerance": "patient",
    "CarePlan": "subject",
    "CareTeam": "subject",
    "Condition": "subject",
    "Consent": "patient",
    "Coverage": "beneficiary",
    "DiagnosticReport": "subject",
    "Encounter": "subject",
    "MedicationRequest": "subject",
    "Observation": "subject",
}
"""The element each type's `patient` search parameter reads (R4 search parameters)."""


@dataclass
class Loaded:
    """The city on one backend, its oracle, and the requesters drawn from it."""

    backend: Backend
    city: City
    shapes: dict[str, list[str]]
    """Consent shape -> the citizens who have it (permit-all included)."""
    requesters: dict[str, Requester]
    versions: dict[str, str]
    """`Type/id` -> its version id as stored."""
    created: list[str] = field(default_factory=list)
    """What the conditional creates wrote (`Type/id`)."""


def _shapes() -> dict[str, list[str]]:
    """Each citizen's consent shape, as the generator drew it."""
    directory = facilities.build(SEED)
    shapes: dict[str, list[str]] = {}
    for number in range(1, CITIZENS + 1):
        citizen = draw(directory, SEED, number, AS_OF)
        shapes.setdefault(citizen.consent_shape, []).append(citizen.id)
    return shapes


def _consent(world: City, citizen: str) -> Resource:
    """The citizen's registration Consent (the city gives each one)."""
    return next(c for c in world.of("Consent") if citizen_of(c) == citizen)


def _actors(provision: Mapping[str, Any]) -> list[str]:
    """The references a provision names as its actors."""
    return [a["reference"]["reference"] for a in provision.get("actor", [])]


def _team_members(world: City, role_code: str) -> list[tuple[str, dict[str, Any]]]:
    """(citizen, participant) for every CareTeam participant of a care-team-role code."""
    return [
        (str(citizen_of(team)), participant)
        for team in world.of("CareTeam")
        for participant in team["participant"]
        if any(c.get("code") == role_code for c in codings(participant.get("role")))
    ]


def _requesters(world: City, shapes: Mapping[str, list[str]]) -> dict[str, Requester]:
    """Concrete requesters of every role, chosen so that each consent shape meets someone it
    permits and someone it refuses."""
    named = shapes["named-facilities"][0]
    named_actors = _actors(_consent(world, named)["provision"])
    hospital_named = next(a for a in named_actors if a.startswith("Organization/hosp-"))
    clinic_named = next(a for a in named_actors if a.startswith("Organization/clin-"))
    every_named = {
        a for c in shapes["named-facilities"] for a in _actors(_consent(world, c)["provision"])
    }
    hospital_other = next(
        key(o)
        for o in world.of("Organization")
        if o["id"].startswith("hosp-") and key(o) not in every_named
    )
    denying = _consent(world, shapes["deny-clinic"][0])["provision"]["provision"][0]
    clinic_excluded = _actors(denying)[0]
    pharmacy = next(key(o) for o in world.of("Organization") if o["id"].startswith("phar-"))
    nurse = next(p for _, p in _team_members(world, "home-nursing"))
    station = nurse["onBehalfOf"]["reference"]
    withdrawn = shapes["withdrawn"][0]
    services = [
        p["member"]["reference"] for c, p in _team_members(world, "care-service") if c == withdrawn
    ]
    every_service = [p["member"]["reference"] for _, p in _team_members(world, "care-service")]
    provider = max(services, key=every_service.count)
    centre = next(
        p["member"]["reference"]
        for c, p in _team_members(world, "community-support-center")
        if c == named
    )
    permit_all = set(shapes["permit-all"])
    manager = next(p for c, p in _team_members(world, "care-manager") if c in permit_all)
    centre_manager = next(
        p
        for c, p in _team_members(world, "care-manager")
        if c in permit_all and p["onBehalfOf"]["reference"].startswith("Organization/hsc-")
    )
    emergency = shapes["emergency-only"][0]
    in_teams = {p["member"]["reference"] for _, p in _team_members(world, "care-manager")}
    colleague = next(
        key(r)
        for r in world.of("PractitionerRole")
        if r["organization"]["reference"] == manager["onBehalfOf"]["reference"]
        and key(r) not in in_teams
    )
    return {
        r.label: r
        for r in (
            Requester("hospital-named", "hospital", hospital_named),
            Requester("hospital-other", "hospital", hospital_other),
            Requester("hospital-etreat", "hospital", hospital_other, purpose="ETREAT"),
            Requester("clinic-named-etreat", "clinic", clinic_named, purpose="ETREAT"),
            Requester("clinic-excluded", "clinic", clinic_excluded),
            Requester("pharmacy", "pharmacy", pharmacy),
            Requester("home-nursing", "home-nursing", station),
            Requester("care-provider", "care-provider", provider),
            Requester("support-centre", "community-support-center", centre),
            Requester(
                "care-manager",
                "care-manager",
                manager["onBehalfOf"]["reference"],
                practitioner_role=manager["member"]["reference"],
            ),
            Requester(
                "care-manager-centre",
                "care-manager",
                centre_manager["onBehalfOf"]["reference"],
                practitioner_role=centre_manager["member"]["reference"],
            ),
            Requester("municipality", "municipality", "Organization/kitakyushu-city"),
            Requester("auditor", "auditor", "Organization/audit-office"),
            Requester("admin", "admin", "Organization/kitakyushu-city"),
            Requester(
                "citizen-emergency",
                "citizen",
                "Organization/citizen-app",
                patient=emergency,
                patient_scope=True,
            ),
            Requester(
                "citizen-withdrawn",
                "citizen",
                "Organization/citizen-app",
                patient=withdrawn,
                patient_scope=True,
            ),
            Requester(
                "hospital-etreat-stale",
                "hospital",
                hospital_other,
                purpose="ETREAT",
                issued_seconds_ago=3700,
            ),
            Requester(
                "care-manager-colleague",
                "care-manager",
                manager["onBehalfOf"]["reference"],
                practitioner_role=colleague,
            ),
        )
    }


LABELS = (
    "hospital-named",
    "hospital-other",
    "hospital-etreat",
    "clinic-named-etreat",
    "clinic-excluded",
    "pharmacy",
    "home-nursing",
    "care-provider",
    "support-centre",
    "care-manager",
    "care-manager-centre",
    "municipality",
    "auditor",
    "admin",
    "citizen-emergency",
    "citizen-withdrawn",
)
"""The requesters asked by every path (built from the city by `_requesters`)."""
NARROW_LABELS = ("hospital-etreat-stale", "care-manager-colleague")
"""Requesters who differ from one of `LABELS` in one claim only, asked by fewer paths: an
ETREAT token issued more than TOBIUME_EMERGENCY_ACCESS_SECONDS ago, and a care manager of the
same office who is on nobody's care team."""


def headers_for(requester: Requester) -> dict[str, str]:
    """A fresh token for the requester (fresh, so an ETREAT one breaks the glass)."""
    claims: dict[str, Any] = {}
    if requester.practitioner_role is not None:
        claims["fhirUser"] = requester.practitioner_role
    if requester.purpose is not None:
        claims["purpose_of_use"] = requester.purpose
    if requester.patient is not None:
        claims["patient"] = requester.patient
    if requester.issued_seconds_ago:
        claims["iat"] = int(time.time()) - requester.issued_seconds_ago
    scope = "patient/*.rs" if requester.patient_scope else "system/*.cruds"
    return auth(requester.role, org=requester.organization, scope=scope, **claims)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def leak_backend(request: pytest.FixtureRequest) -> Backend:
    """The session's backend for this module's parametrisation (sync, as `chosen_backend`)."""
    name = "pg_backend" if request.param == "postgresql" else "sqlite_backend"
    chosen: Backend = request.getfixturevalue(name)
    return chosen


@pytest.fixture(scope="module")
async def loaded(leak_backend: Backend, tmp_path_factory: pytest.TempPathFactory) -> Loaded:
    """The city imported once per backend (as `tobiume import` does: no contributor), shared
    by the module's tests, which only read it but for the conditional creates."""
    async with leak_backend.database.engine.begin() as conn:
        await empty_tables(conn)
    resources = list(city(CITIZENS, SEED, AS_OF))
    out = tmp_path_factory.mktemp("leak-city")
    write_ndjson(resources, out)
    report = await import_paths(leak_backend.settings, [Path(out)], show=False, jobs=1)
    assert report.failures == []
    assert report.resources == len(resources)
    world = City(resources)
    shapes = _shapes()
    versions: dict[str, str] = {}
    async with serve(leak_backend.settings) as admin:
        for entry in await _all_entries(admin, f"_history?_count={PAGE}"):
            if "resource" in entry:
                body = entry["resource"]
                versions.setdefault(key(body), body["meta"]["versionId"])
    assert set(versions) == set(world.resources)
    return Loaded(leak_backend, world, shapes, _requesters(world, shapes), versions)


async def _all_entries(http: httpx.AsyncClient, path: str) -> list[dict[str, Any]]:
    """Every entry of a search or history, following `next` links."""
    entries: list[dict[str, Any]] = []
    url: str | None = path
    pages = 0
    while url is not None:
        response = await http.get(url)
        assert response.status_code == 200, (path, response.text)
        body = response.json()
        entries.extend(body.get("entry", []))
        url = next(
            (link["url"] for link in body.get("link", []) if link["relation"] == "next"), None
        )
        pages += 1
        assert pages < 50, path
    return entries


def test_the_city_holds_every_consent_shape() -> None:
    """The suite's premise: each shape the generator makes is in the city, the no-checkup one
    with checkups to hide; care teams give every relationship a requester, the support centre
    serves citizens by ward besides, and a summary role meets a prescription no longer current
    (which the summary leaves out)."""
    shapes = _shapes()
    assert set(SHAPES) <= set(shapes), shapes
    world = City(city(CITIZENS, SEED, AS_OF))
    requesters = _requesters(world, shapes)
    centre = requesters["support-centre"]
    by_team = world.team_organizations
    assert any(
        world.related(centre, citizen) and centre.organization not in by_team.get(citizen, set())
        for citizen in (p["id"] for p in world.of("Patient"))
    ), "the support centre serves no citizen by ward (Organization served-ward extension)"
    summary_roles = [
        r
        for r in requesters.values()
        if r.role in ("care-provider", "community-support-center", "care-manager")
    ]
    assert any(
        m["status"] != "active" and world.related(r, str(citizen_of(m)))
        for m in world.of("MedicationRequest")
        for r in summary_roles
    )
    assert any(
        data_class(r) == CHECKUP and citizen_of(r) in shapes["no-checkup"]
        for r in world.resources.values()
    )
    assert any(citizen_of(t) in shapes["permit-all"] for t in world.of("CareTeam"))
    for shape in ("withdrawn", "named-facilities", "emergency-only"):
        assert any(citizen_of(t) in shapes[shape] for t in world.of("CareTeam")), shape
    assert tuple(requesters) == LABELS + NARROW_LABELS
    roles = {r.role for r in requesters.values()}
    assert roles == {
        "hospital",
        "clinic",
        "pharmacy",
        "home-nursing",
        "care-provider",
        "community-support-center",
        "care-manager",
        "municipality",
        "auditor",
        "admin",
        "citizen",
    }


# --- comparing ---------------------------------------------------------------------------------


def _show(keys: Iterable[str], limit: int = 6) -> str:
    """A set of keys, sorted and cut short, for a problem line."""
    listed = sorted(keys)
    more = f" … (+{len(listed) - limit})" if len(listed) > limit else ""
    return "{" + ", ".join(listed[:limit]) + more + "}"


def _next_link(body: Mapping[str, Any]) -> str | None:
    return next((link["url"] for link in body.get("link", []) if link["relation"] == "next"), None)


@dataclass
class Probe:
    """One requester's server and the oracle's view of it, collecting every disagreement (so a
    failure lists them all, not the first)."""

    http: httpx.AsyncClient
    requester: Requester
    loaded: Loaded
    problems: list[str] = field(default_factory=list)
    _missing: dict[str, tuple[int, str]] = field(default_factory=dict)
    _gate: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(8))

    @property
    def city(self) -> City:
        return self.loaded.city

    def visible(self, found: str) -> bool:
        return self.city.visible(self.requester, self.city.resources[found])

    def shown(self, keys: Iterable[str]) -> set[str]:
        return {k for k in keys if k in self.city.resources and self.visible(k)}

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        """One request, at most eight at a time (the checks run concurrently)."""
        async with self._gate:
            return await self.http.request(kwargs.pop("method", "GET"), path, **kwargs)

    def expect(self, path: str, what: str, expected: object, got: object) -> None:
        if expected != got:
            who = self.requester
            person = f" {who.practitioner_role}" if who.practitioner_role else ""
            purpose = f" purpose {who.purpose}" if who.purpose else ""
            self.problems.append(
                f"{who.label} ({who.role} {who.organization}{person}{purpose}): {path}: "
                f"{what}: expected {expected}, got {got}"
            )

    def expect_keys(self, path: str, what: str, expected: set[str], got: set[str]) -> None:
        if expected != got:
            self.expect(
                path,
                what,
                f"{len(expected)}",
                f"{len(got)}; missing {_show(expected - got)}, unexpected {_show(got - expected)}",
            )

    async def pages(self, path: str, **kwargs: Any) -> list[dict[str, Any]] | None:
        """Every page of a search or history, following `next`; None (and a problem) when one
        fails."""
        bodies: list[dict[str, Any]] = []
        url: str | None = path
        while url is not None:
            response = await self.get(url, **kwargs)
            kwargs = {}
            if response.status_code != 200:
                self.expect(path, "status", 200, f"{response.status_code} {response.text[:300]}")
                return None
            bodies.append(response.json())
            url = _next_link(bodies[-1])
            if len(bodies) > 40:
                self.expect(path, "pages", "at most 40", "more")
                return None
        return bodies

    async def search(
        self,
        path: str,
        expected: set[str],
        included: set[str] | None = None,
        **kwargs: Any,
    ) -> None:
        """A search's matches (and what it includes besides) against the oracle's."""
        bodies = await self.pages(path, **kwargs)
        if bodies is None:
            return
        entries = [e for body in bodies for e in body.get("entry", [])]
        matches = {key(e["resource"]) for e in entries if e["search"]["mode"] == "match"}
        self.expect_keys(path, "matches", expected, matches)
        if included is not None:
            got = {key(e["resource"]) for e in entries if e["search"]["mode"] == "include"}
            self.expect_keys(path, "included", included - matches, got - matches)
        if "_total=accurate" in path:
            self.expect(path, "total", len(expected), bodies[0].get("total"))

    async def total(self, path: str, expected: int) -> None:
        """`_summary=count`: the count the oracle expects."""
        response = await self.get(path)
        if response.status_code != 200:
            self.expect(path, "status", 200, response.status_code)
            return
        self.expect(path, "total", expected, response.json().get("total"))

    async def missing(self, path: str, absent_id: str) -> tuple[int, str]:
        """The answer for a resource that was never written (its id replaced by `<id>`)."""
        if path not in self._missing:
            response = await self.get(path)
            self._missing[path] = (response.status_code, response.text.replace(absent_id, "<id>"))
        return self._missing[path]

    async def hidden_or_shown(self, path_of: Callable[[str], str], found: str) -> None:
        """Read, vread or instance history of one resource: 200 with it where the oracle shows
        it, else exactly what a resource that was never written gets."""
        path = path_of(found)
        response = await self.get(path)
        if self.visible(found):
            if response.status_code != 200:
                self.expect(path, "status", 200, f"{response.status_code}")
                return
            body = response.json()
            got = (
                key(body)
                if body.get("resourceType") != "Bundle"
                else ",".join(key(e["resource"]) for e in body.get("entry", []))
            )
            self.expect(path, "answer", found, got)
            return
        res_type, hidden_id = found.split("/")
        absent_id = f"nobody-{res_type.lower()}"
        status, text = await self.missing(path_of(f"{res_type}/{absent_id}"), absent_id)
        self.expect(
            path,
            "a hidden resource answers as a missing one",
            f"{status} {text}",
            f"{response.status_code} {response.text.replace(hidden_id, '<id>')}",
        )


def _sample_citizens(loaded: Loaded, requester: Requester) -> list[str]:
    """Every citizen of an uncommon shape, two the requester's role ties it to (by care team or
    ward; none for the roles the consent alone ties), one without records and one permit-all
    citizen: a dozen at most."""
    world = loaded.city
    chosen = [c for shape in SHAPES for c in loaded.shapes[shape]]
    patients = [str(p["id"]) for p in world.of("Patient")]
    mine = (
        []
        if ROLE_TABLE[requester.role].relation in ("consent", "none")
        else [c for c in patients if c not in chosen and world.related(requester, c)]
    )
    bare = [
        c
        for c in loaded.shapes["permit-all"]
        if not any(citizen_of(r) == c for r in world.of("Observation"))
    ]
    picked = [*chosen, *mine[:2], *bare[:1], loaded.shapes["permit-all"][0]]
    return list(dict.fromkeys(picked))


def _sample_keys(loaded: Loaded, citizens: list[str]) -> list[str]:
    """For each citizen: their Patient, their Consent and one record of each class (the
    summary apart), the records the conditional writes made, and a few of the directory. (Every
    type is searched whole besides, so a type's own rule is checked there.)"""
    wanted = set(citizens)
    seen: set[tuple[str | None, str, str, bool]] = set()
    keys: list[str] = []
    for found, resource in sorted(loaded.city.resources.items()):
        citizen = citizen_of(resource)
        if citizen not in wanted:
            continue
        res_type = resource["resourceType"]
        group = (
            citizen,
            res_type if res_type in ("Patient", "Consent") else "record",
            data_class(resource),
            is_summary(resource),
        )
        if group not in seen or found in loaded.created:
            seen.add(group)
            keys.append(found)
    directory = (
        "Organization/kitakyushu-city",
        "PractitionerRole/role-0001",
        "HealthcareService/hosp-001-liaison",
    )
    return [*keys, *(k for k in directory if k in loaded.city.resources)]


async def _check_reads(probe: Probe, keys: list[str]) -> None:
    """read of each sampled resource; vread and instance history of one visible and one hidden
    resource of each class, and of what the conditional writes made."""
    versions = probe.loaded.versions
    world = probe.city

    def read(k: str) -> str:
        return k

    def vread(k: str) -> str:
        return f"{k}/_history/{versions.get(k, '1')}"

    def history(k: str) -> str:
        return f"{k}/_history"

    groups: dict[tuple[str, bool], str] = {}
    for found in keys:
        groups.setdefault((data_class(world.resources[found]), probe.visible(found)), found)
    fewer = set(groups.values()) | (set(probe.loaded.created) & set(keys))
    await asyncio.gather(
        *(probe.hidden_or_shown(read, k) for k in keys),
        *(probe.hidden_or_shown(path_of, k) for k in fewer for path_of in (vread, history)),
    )


async def _check_type_searches(probe: Probe) -> None:
    """Every type searched whole (all pages) with `_total=accurate`, and `_summary=count`; three
    types walked in small pages (sorted or not), each full but the last: nothing is filtered
    after the page is cut."""
    checks: list[Awaitable[None]] = []
    for res_type in probe.city.types():
        expected = probe.city.visible_keys(probe.requester, res_type)
        checks.append(probe.search(f"{res_type}?_count={PAGE}&_total=accurate", expected))
        checks.append(probe.total(f"{res_type}?_summary=count", len(expected)))
    await asyncio.gather(
        *checks,
        _check_paging(probe, "Observation?_elements=status", 97),
        _check_paging(probe, "Encounter?_sort=-date", 23),
        _check_paging(probe, "Patient?_sort=birthdate", 7),
    )


async def _check_paging(probe: Probe, query: str, size: int) -> None:
    """Small pages: their union is what the oracle shows, and no page but the last is short."""
    res_type = query.split("?")[0]
    path = f"{query}&_count={size}&_total=accurate"
    bodies = await probe.pages(path)
    if bodies is None:
        return
    expected = probe.city.visible_keys(probe.requester, res_type)
    got = {key(e["resource"]) for body in bodies for e in body.get("entry", [])}
    probe.expect_keys(path, "matches over every page", expected, got)
    probe.expect(path, "total", len(expected), bodies[0].get("total"))
    sizes = [len(body.get("entry", [])) for body in bodies]
    probe.expect(path, "short pages before the last", [], [n for n in sizes[:-1] if n != size])


async def _check_by_id(probe: Probe, keys: list[str]) -> None:
    """`_id` with a mix of visible and hidden ids, by type and across types (system search),
    and `POST _search` with the same for three types."""
    by_type: dict[str, list[str]] = {}
    for found in keys:
        by_type.setdefault(found.split("/")[0], []).append(found.split("/")[1])
    checks: list[Awaitable[None]] = []
    for res_type, ids in by_type.items():
        expected = probe.shown(f"{res_type}/{i}" for i in ids)
        checks.append(
            probe.search(f"{res_type}?_id={','.join(ids)}&_count={PAGE}&_total=accurate", expected)
        )
        if res_type in ("Patient", "Observation", "Consent"):
            checks.append(
                probe.search(
                    f"{res_type}/_search",
                    expected,
                    method="POST",
                    data={"_id": ",".join(ids), "_count": str(PAGE)},
                )
            )
    citizen_types = ("Patient", "Consent", "CareTeam", "Coverage")
    expected = set().union(*(probe.city.visible_keys(probe.requester, t) for t in citizen_types))
    checks.append(probe.search(f"?_type={','.join(citizen_types)}&_count={PAGE}", expected))
    few = [k for k in keys if k.startswith(("Patient/", "Consent/", "Observation/"))]
    across = set(dict.fromkeys(k.split("/")[1] for k in few))
    checks.append(
        probe.search(
            f"?_id={','.join(sorted(across))}&_count={PAGE}",
            probe.shown(k for k in probe.city.resources if k.split("/")[1] in across),
        )
    )
    await asyncio.gather(*checks)


async def _check_by_patient(probe: Probe, citizens: list[str]) -> None:
    """`patient=` (four types per citizen, in turn, so that every type is asked), the
    Observations' `_summary=count`, and the Patient compartment (`Patient/{id}/{type}`), for
    each sampled citizen; a hidden citizen's compartment answers as a missing citizen's."""
    world = probe.city
    checks: list[Awaitable[None]] = []
    types = sorted(PATIENT_SEARCH)
    for n, citizen in enumerate(citizens):
        turn = {"Observation", *(types[(n * 3 + j) % len(types)] for j in range(3))}
        for res_type in sorted(turn):
            element = PATIENT_SEARCH[res_type]
            expected = probe.shown(
                key(r)
                for r in world.of(res_type)
                if f"Patient/{citizen}" in references_at(r, element)
            )
            checks.append(probe.search(f"{res_type}?patient={citizen}&_count={PAGE}", expected))
            if res_type == "Observation":
                checks.append(
                    probe.total(f"{res_type}?patient={citizen}&_summary=count", len(expected))
                )
        for res_type in ("Observation", types[n % len(types)]):
            compartment = probe.shown(
                key(r) for r in world.of(res_type) if citizen in compartment_citizens(r)
            )
            checks.append(probe.search(f"Patient/{citizen}/{res_type}?_count={PAGE}", compartment))
        if not probe.visible(f"Patient/{citizen}"):
            checks.append(_compartment_of_hidden(probe, citizen))
    await asyncio.gather(*checks)


async def _compartment_of_hidden(probe: Probe, citizen: str) -> None:
    """The compartment of a Patient the requester cannot see: the status a missing Patient's
    gets, and only what the requester may see of it (what it contributed, if anything)."""
    path = f"Patient/{citizen}/Observation?_total=accurate"
    hidden = await probe.get(path)
    missing = await probe.get("Patient/nobody-patient/Observation?_total=accurate")
    shown = probe.shown(
        key(r) for r in probe.city.of("Observation") if citizen in compartment_citizens(r)
    )
    probe.expect(
        path,
        "the compartment of a hidden Patient: status as a missing one's, and total",
        (missing.status_code, len(shown)),
        (hidden.status_code, hidden.json().get("total")),
    )


def _targets(world: City, sources: set[str], element: str) -> set[str]:
    """What `_include` brings for these resources: those their element refers to."""
    return {
        ref
        for found in sources
        for ref in references_at(world.resources[found], element)
        if ref in world.resources
    }


def _referrers(world: City, res_type: str, element: str, targets: set[str]) -> set[str]:
    """What `_revinclude` brings: the resources of a type whose element refers to a target."""
    return {key(r) for r in world.of(res_type) if set(references_at(r, element)) & targets}


INCLUDES: Final = {
    "MedicationRequest": (
        ("MedicationRequest:encounter", "encounter"),
        ("MedicationRequest:subject", "subject"),
        ("MedicationRequest:requester", "requester"),
    ),
    "CarePlan": (
        ("CarePlan:condition", "addresses"),
        ("CarePlan:care-team", "careTeam"),
        ("CarePlan:subject", "subject"),
    ),
    "DiagnosticReport": (
        ("DiagnosticReport:*", "result"),
        ("DiagnosticReport:*", "subject"),
        ("DiagnosticReport:*", "performer"),
    ),
    "Observation": (
        ("Observation:*", "subject"),
        ("Observation:*", "encounter"),
        ("Observation:*", "performer"),
    ),
    "CareTeam": (("CareTeam:participant", "participant.member"),),
    "Consent": (
        ("Consent:patient", "patient"),
        ("Consent:consentor", "performer"),
        ("Consent:actor", "provision.actor.reference"),
        ("Consent:organization", "organization"),
    ),
    "Coverage": (("Coverage:beneficiary", "beneficiary"), ("Coverage:payor", "payor")),
}
"""`_include`s over whole types (`*`: every reference search parameter, which for these types
of the city are the elements listed)."""
REVINCLUDES: Final = {
    "Patient": (
        ("Consent:patient", "Consent", "patient"),
        ("CareTeam:subject", "CareTeam", "subject"),
        ("Coverage:beneficiary", "Coverage", "beneficiary"),
        ("AllergyIntolerance:patient", "AllergyIntolerance", "patient"),
    ),
    "Encounter": (("MedicationRequest:encounter", "MedicationRequest", "encounter"),),
    "Condition": (("CarePlan:condition", "CarePlan", "addresses"),),
}


async def _check_includes(probe: Probe) -> None:
    """`_include` (also `*`) and `_revinclude` over whole types, and `:iterate` from what was
    included: nothing hidden comes in by a reference, in either direction."""
    world = probe.city
    requester = probe.requester
    checks: list[Awaitable[None]] = []
    for res_type, params in INCLUDES.items():
        matches = world.visible_keys(requester, res_type)
        included = set().union(*(probe.shown(_targets(world, matches, e)) for _, e in params))
        query = "&".join(dict.fromkeys(f"_include={p}" for p, _ in params))
        checks.append(
            probe.search(f"{res_type}?{query}&_count={PAGE}&_total=accurate", matches, included)
        )
    for res_type, rev in REVINCLUDES.items():
        matches = world.visible_keys(requester, res_type)
        included = set().union(*(probe.shown(_referrers(world, t, e, matches)) for _, t, e in rev))
        query = "&".join(f"_revinclude={p}" for p, _, _ in rev)
        checks.append(probe.search(f"{res_type}?{query}&_count={PAGE}", matches, included))
    # MedicationRequest -> its Encounter -> the Observations of that Encounter, and the
    # Encounter's service provider: an iterate must start only from what was shown.
    matches = world.visible_keys(requester, "MedicationRequest")
    encounters = probe.shown(_targets(world, matches, "encounter"))
    included = (
        encounters
        | probe.shown(_referrers(world, "Observation", "encounter", encounters))
        | probe.shown(_targets(world, encounters, "serviceProvider"))
    )
    checks.append(
        probe.search(
            "MedicationRequest?_include=MedicationRequest:encounter"
            "&_revinclude:iterate=Observation:encounter"
            f"&_include:iterate=Encounter:service-provider&_count={PAGE}",
            matches,
            included,
        )
    )
    await asyncio.gather(*checks)


def _family_names(patient: Resource) -> list[str]:
    return [n["family"] for n in patient.get("name", []) if "family" in n]


def _hba1c(resource: Resource) -> bool:
    return any(
        c.get("system") == JLAC10 and c.get("code") == HBA1C for c in codings(resource["code"])
    )


def _specific_checkup(resource: Resource) -> bool:
    return any(
        c.get("system") == RECORD_CATEGORY and c.get("code") == "specific-health-checkup"
        for c in codings(resource.get("category"))
    )


async def _check_chains_and_has(probe: Probe, citizens: list[str]) -> None:
    """Chains through the Patient and an Encounter, `_has` (also nested) from the Patient and
    from a Condition: neither may reach through a resource the requester cannot see."""
    world = probe.city
    checks: list[Awaitable[None]] = []
    families = list(
        dict.fromkeys(_family_names(world.resources[f"Patient/{c}"])[0] for c in citizens)
    )[:4]
    for family in families:
        patients = probe.shown(
            key(p)
            for p in world.of("Patient")
            if any(fold(f).startswith(fold(family)) for f in _family_names(p))
        )
        for res_type, element in (
            ("Observation", "subject"),
            ("CarePlan", "subject"),
            ("Consent", "patient"),
        ):
            expected = probe.shown(
                key(r) for r in world.of(res_type) if set(references_at(r, element)) & patients
            )
            checks.append(
                probe.search(
                    f"{res_type}?{element}:Patient.family={quote(family)}&_count={PAGE}", expected
                )
            )
    ward = world.resources[f"Patient/{citizens[0]}"]["address"][0]["city"]
    in_ward = probe.shown(key(p) for p in world.of("Patient") if p["address"][0]["city"] == ward)
    expected = probe.shown(
        key(r) for r in world.of("MedicationRequest") if set(references_at(r, "subject")) & in_ward
    )
    checks.append(
        probe.search(
            f"MedicationRequest?subject:Patient.address-city={quote(ward)}&_count={PAGE}", expected
        )
    )

    # a chain and a `_has` through an Encounter, which the summary roles cannot see though they
    # see the prescriptions and diagnoses on either side of it
    finished = probe.shown(key(e) for e in world.of("Encounter") if e.get("status") == "finished")
    checks.append(
        probe.search(
            f"MedicationRequest?encounter:Encounter.status=finished&_count={PAGE}",
            probe.shown(
                key(r)
                for r in world.of("MedicationRequest")
                if set(references_at(r, "encounter")) & finished
            ),
        )
    )
    checks.append(
        probe.search(
            f"Condition?_has:Encounter:reason-reference:status=finished&_count={PAGE}",
            probe.shown(
                ref
                for e in finished
                for ref in references_at(world.resources[e], "reasonReference")
            ),
        )
    )

    patients = world.visible_keys(probe.requester, "Patient")

    def having(res_type: str, test: Callable[[Resource], bool]) -> set[str]:
        """The visible Patients that a visible resource passing `test` refers to."""
        return patients & {
            f"Patient/{citizen_of(r)}"
            for r in world.of(res_type)
            if test(r) and probe.visible(key(r))
        }

    hba1c_code = quote(f"{JLAC10}|{HBA1C}")
    with_hba1c = having("Observation", _hba1c)
    checks.append(
        probe.search(
            f"Patient?_has:Observation:patient:code={hba1c_code}&_count={PAGE}", with_hba1c
        )
    )
    checks.append(
        probe.total(
            f"Patient?_has:Observation:patient:code={hba1c_code}&_summary=count", len(with_hba1c)
        )
    )
    checkup = quote(f"{RECORD_CATEGORY}|specific-health-checkup")
    checks.append(
        probe.search(
            f"Patient?_has:DiagnosticReport:subject:category={checkup}&_count={PAGE}",
            having("DiagnosticReport", _specific_checkup),
        )
    )
    checks.append(
        probe.search(
            f"Patient?_has:CareTeam:subject:status=active&_count={PAGE}",
            having("CareTeam", lambda r: r.get("status") == "active"),
        )
    )
    checks.append(
        probe.search(
            f"Patient?_has:Consent:patient:status=active,inactive&_count={PAGE}",
            having("Consent", lambda r: True),
        )
    )
    # nested: Patients with an Observation that a visible final DiagnosticReport lists
    reported = {
        ref
        for r in world.of("DiagnosticReport")
        if r.get("status") == "final" and probe.visible(key(r))
        for ref in references_at(r, "result")
    }
    checks.append(
        probe.search(
            "Patient?_has:Observation:subject:_has:DiagnosticReport:result:status=final"
            f"&_count={PAGE}",
            having("Observation", lambda r: key(r) in reported),
        )
    )
    await asyncio.gather(*checks)


async def _check_history(probe: Probe) -> None:
    """Type and system history: the versions of what the requester may see, nothing else."""
    checks: list[Awaitable[None]] = []

    async def versions(path: str, res_type: str | None) -> None:
        bodies = await probe.pages(path)
        if bodies is None:
            return
        got = {
            key(e["resource"]) for body in bodies for e in body.get("entry", []) if "resource" in e
        }
        outside = {k for k in got if k not in probe.city.resources}
        expected = probe.city.visible_keys(probe.requester, res_type)
        probe.expect_keys(path, "versions", expected, got - outside)
        probe.expect(path, "versions of resources the city does not hold", "{}", _show(outside))

    for res_type in ("Observation", "Consent", "Patient", "CarePlan", "Condition"):
        checks.append(versions(f"{res_type}/_history?_count={PAGE}", res_type))
    checks.append(versions(f"_history?_count={PAGE}", None))
    await asyncio.gather(*checks)


# --- the tests ---------------------------------------------------------------------------------


def _copy(resource: Mapping[str, Any]) -> Resource:
    """A resource as a client would send it anew: no id, no meta."""
    body = copy.deepcopy(dict(resource))
    body.pop("id", None)
    body.pop("meta", None)
    return body


def _first(
    loaded: Loaded, res_type: str, citizen: str, test: Callable[[Resource], bool]
) -> Resource:
    """The first resource of the city (not one a test wrote) of a type, citizen and test."""
    return next(
        r
        for r in loaded.city.of(res_type)
        if citizen_of(r) == citizen and test(r) and key(r) not in loaded.created
    )


def _code_query(resource: Resource) -> str:
    """`code=system|code` of a resource's first coding."""
    coding = next(codings(resource["code"]))
    return quote(f"{coding['system']}|{coding['code']}")


async def test_conditional_create_does_not_match_what_is_hidden(loaded: Loaded) -> None:
    """`If-None-Exist` (and a transaction's `ifNoneExist`) whose criteria match only resources
    the writer cannot see must create, as if nothing matched, never answer with the hidden
    one (or 412 for several); the writer then reads what it wrote (it contributed it) and still
    not the hidden one. A control: criteria matching a visible resource answer 200 with it."""
    world = loaded.city
    shapes = loaded.shapes
    requesters = loaded.requesters
    deny_clinic = shapes["deny-clinic"][0]
    unnamed_named = next(
        c
        for c in shapes["named-facilities"]
        if requesters["hospital-other"].organization
        not in {a["reference"]["reference"] for a in _consent(world, c)["provision"]["actor"]}
    )
    emergency = shapes["emergency-only"][0]
    permit_all = next(
        c
        for c in shapes["permit-all"]
        if any(data_class(r) == CHECKUP and citizen_of(r) == c for r in world.of("Observation"))
    )
    result = _first(loaded, "Observation", deny_clinic, lambda r: True)
    condition = _first(loaded, "Condition", unnamed_named, lambda r: True)
    checkup = _first(loaded, "Observation", permit_all, lambda r: data_class(r) == CHECKUP)
    plan = _first(loaded, "CarePlan", emergency, lambda r: data_class(r) == CARE)
    medication = _first(loaded, "MedicationRequest", emergency, lambda r: True)
    cases = (
        ("clinic-excluded", result, f"patient={deny_clinic}&code={_code_query(result)}"),
        ("hospital-other", condition, f"patient={unnamed_named}&code={_code_query(condition)}"),
        ("municipality", checkup, f"_id={checkup['id']}"),
        ("care-manager", plan, f"patient={emergency}"),
    )
    problems: list[str] = []
    for label, hidden, criteria in cases:
        requester = requesters[label]
        assert not world.visible(requester, hidden), (label, key(hidden))
        async with serve(
            default_policy(loaded.backend.settings), headers=headers_for(requester)
        ) as http:
            response = await http.post(
                hidden["resourceType"],
                json=_copy(hidden),
                headers={**FHIR_JSON, "If-None-Exist": criteria},
            )
            path = f"POST {hidden['resourceType']} If-None-Exist: {criteria}"
            if response.status_code != 201:
                problems.append(
                    f"{label} ({requester.role} {requester.organization}): {path}: expected 201 "
                    f"(a new {hidden['resourceType']}; {key(hidden)} is hidden), got "
                    f"{response.status_code} {response.text[:300]}"
                )
                continue
            created = response.json()
            assert created["id"] != hidden["id"]
            world.add(created, requester.organization)
            loaded.created.append(key(created))
            assert (await http.get(key(created))).status_code == 200, label
            assert (await http.get(key(hidden))).status_code == 404, label
    # the same through a transaction's ifNoneExist
    pharmacy = requesters["pharmacy"]
    assert not world.visible(pharmacy, medication)
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "resource": _copy(medication),
                "request": {
                    "method": "POST",
                    "url": "MedicationRequest",
                    "ifNoneExist": f"patient={emergency}",
                },
            }
        ],
    }
    async with serve(
        default_policy(loaded.backend.settings), headers=headers_for(pharmacy)
    ) as http:
        response = await http.post("", json=bundle, headers=FHIR_JSON)
        assert response.status_code == 200, response.text
        entry = response.json()["entry"][0]
        status = entry["response"]["status"]
        if not status.startswith("201"):
            problems.append(
                f"pharmacy ({pharmacy.organization}): transaction POST MedicationRequest "
                f"ifNoneExist patient={emergency}: expected 201, got {status} "
                f"({entry['response'].get('location')})"
            )
        else:
            location = entry["response"]["location"]
            created = (await http.get(location.split("/_history")[0])).json()
            assert created["id"] != medication["id"]
            world.add(created, pharmacy.organization)
            loaded.created.append(key(created))
    # the control: a visible match answers with it and writes nothing
    named = requesters["hospital-named"]
    seen_condition = _first(loaded, "Condition", shapes["named-facilities"][0], lambda r: True)
    assert world.visible(named, seen_condition)
    async with serve(default_policy(loaded.backend.settings), headers=headers_for(named)) as http:
        response = await http.post(
            "Condition",
            json=_copy(seen_condition),
            headers={**FHIR_JSON, "If-None-Exist": f"_id={seen_condition['id']}"},
        )
        assert response.status_code == 200, response.text
        assert response.json()["id"] == seen_condition["id"]
    assert not problems, "\n" + "\n".join(problems)


async def test_writes_to_hidden_resources_change_nothing(loaded: Loaded) -> None:
    """docs/access.md: a write to something the requester cannot see answers as if it were
    missing. A delete (by id, or conditional) deletes nothing and answers as a delete of a
    missing resource; a conditional patch answers as one matching nothing; a conditional update
    whose criteria match only hidden resources creates a new one. The hidden ones keep their
    version (the trusted admin reads them)."""
    world = loaded.city
    shapes = loaded.shapes
    excluded = loaded.requesters["clinic-excluded"]
    manager = loaded.requesters["care-manager"]
    deny_clinic, withdrawn = shapes["deny-clinic"][0], shapes["withdrawn"][0]
    result = _first(loaded, "Observation", deny_clinic, lambda r: True)
    encounter = _first(loaded, "Encounter", deny_clinic, lambda r: True)
    condition = _first(loaded, "Condition", deny_clinic, lambda r: True)
    plan = _first(loaded, "CarePlan", withdrawn, lambda r: True)
    assert not any(world.visible(excluded, r) for r in (result, encounter, condition))
    assert not world.visible(manager, plan)
    patch = [{"op": "replace", "path": "/status", "value": "entered-in-error"}]
    patching = {"Content-Type": "application/json-patch+json"}
    problems: list[str] = []

    def same(
        what: str, hidden: httpx.Response, missing: httpx.Response, swap: tuple[str, str]
    ) -> None:
        """The hidden one's answer is the missing one's, but for the id or criteria echoed."""
        text = hidden.text.replace(*swap)
        if (hidden.status_code, text) != (missing.status_code, missing.text):
            problems.append(
                f"{what}: expected what a missing one gets ({missing.status_code} "
                f"{missing.text[:200]}), got {hidden.status_code} {hidden.text[:200]}"
            )

    async with serve(
        default_policy(loaded.backend.settings), headers=headers_for(excluded)
    ) as http:
        same(
            f"clinic-excluded DELETE {key(result)}",
            await http.delete(key(result)),
            await http.delete("Observation/nobody-observation"),
            (result["id"], "nobody-observation"),
        )
        same(
            f"clinic-excluded PATCH Encounter?patient={deny_clinic}",
            await http.patch(f"Encounter?patient={deny_clinic}", json=patch, headers=patching),
            await http.patch("Encounter?patient=nobody-patient", json=patch, headers=patching),
            (deny_clinic, "nobody-patient"),
        )
        updated = await http.put(
            f"Condition?patient={deny_clinic}&code={_code_query(condition)}",
            json=_copy(condition),
            headers=FHIR_JSON,
        )
        if updated.status_code != 201:
            problems.append(
                f"clinic-excluded PUT Condition?patient={deny_clinic}&code=…: expected 201 (a new "
                f"Condition; {key(condition)} is hidden), got {updated.status_code} "
                f"{updated.text[:300]}"
            )
        else:
            created = updated.json()
            world.add(created, excluded.organization)
            loaded.created.append(key(created))
    async with serve(default_policy(loaded.backend.settings), headers=headers_for(manager)) as http:
        same(
            f"care-manager DELETE CarePlan?patient={withdrawn}",
            await http.delete(f"CarePlan?patient={withdrawn}"),
            await http.delete("CarePlan?patient=nobody-patient"),
            (withdrawn, "nobody-patient"),
        )
    async with serve(loaded.backend.settings) as admin:
        for hidden in (result, encounter, condition, plan):
            still = await admin.get(key(hidden))
            version = still.json().get("meta", {}).get("versionId")
            if (still.status_code, version) != (200, loaded.versions[key(hidden)]):
                problems.append(
                    f"{key(hidden)} after the writes of requesters who cannot see it: expected "
                    f"200 version {loaded.versions[key(hidden)]}, got {still.status_code} "
                    f"version {version}"
                )
    assert not problems, "\n" + "\n".join(problems)


@pytest.mark.parametrize("label", LABELS)
async def test_requester_sees_what_the_oracle_decides(loaded: Loaded, label: str) -> None:
    """Every path a client has, as one requester: each answer against the oracle's."""
    requester = loaded.requesters[label]
    citizens = _sample_citizens(loaded, requester)
    keys = _sample_keys(loaded, citizens)
    async with serve(
        default_policy(loaded.backend.settings), headers=headers_for(requester)
    ) as http:
        probe = Probe(http, requester, loaded)
        await asyncio.gather(
            _check_type_searches(probe),
            _check_reads(probe, keys),
            _check_by_id(probe, keys),
            _check_by_patient(probe, citizens),
            _check_includes(probe),
            _check_chains_and_has(probe, citizens),
            _check_history(probe),
        )
    assert not probe.problems, "\n" + "\n".join(sorted(probe.problems))


@pytest.mark.parametrize("label", NARROW_LABELS)
async def test_narrow_requester_sees_what_the_oracle_decides(loaded: Loaded, label: str) -> None:
    """A requester one claim away from another: every type searched whole, and read, vread,
    history and `patient=` of the sampled citizens."""
    requester = loaded.requesters[label]
    citizens = _sample_citizens(loaded, requester)
    async with serve(
        default_policy(loaded.backend.settings), headers=headers_for(requester)
    ) as http:
        probe = Probe(http, requester, loaded)
        await asyncio.gather(
            _check_type_searches(probe),
            _check_reads(probe, _sample_keys(loaded, citizens)),
            _check_by_patient(probe, citizens),
        )
    assert not probe.problems, "\n" + "\n".join(sorted(probe.problems))
