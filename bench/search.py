"""Search benchmark on the synthetic city: the searches of the search issue, at 32
connections, beside the ceiling probe of the same run.

    .venv/bin/python bench/search.py                      # the 30,000-citizen city
    .venv/bin/python bench/search.py --resources 200000   # a smaller city, a quick look

It reuses `bench/run.py` (same options, same services, same wrk scripts' result line). The
database (`--database`, default `tobiume_bench_city`, the one `make bench-city` loads) is
loaded with the city only when it holds fewer than `--resources` resources; then it is
vacuumed and analysed, the ceiling probe is measured, and each scenario's wrk run picks at
random among a few hundred concrete URLs read from the database (`bench/lua/urls.lua`):

| scenario | request |
|---|---|
| observations | `Observation?patient=X&code=HbA1c&date=ge2024-01-01&_sort=-date` |
| kana-name | `Patient?name=<kana prefix>&birthdate=<year>` |
| admissions | `Encounter?class=IMP&date=ge2026-06-01&service-provider=Organization/<hospital>` |
| conditions | `Condition?code=<ICD-10>&_include=Condition:subject` |
| care-plans | `Patient?_has:CarePlan:subject:status=active&address-city=<ward>` |
| count | `Observation?_summary=count` (an accurate count over every Observation) |

The target is p95 under 50 ms for each; req/s is reported as a ratio to the ceiling. Results
go to bench/results/search.json. These requests come from the trusted admin
(policies/README.md), so they measure search itself.

    .venv/bin/python bench/search.py --consent   # the same, through the consent gates

With `--consent` the server runs the default role policy and every request comes from a
hospital (`Organization/hosp-001`), so each carries the consent, role and owner predicate
(docs/access.md); one more scenario, `everything`, asks `Patient/{id}/$everything` for the
citizens with the most records. Targets: p95 under 60 ms for the searches, under 150 ms for
`$everything`. Results go to bench/results/search-consent.json.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run
from procs import BenchError

from tobiume.demo.city import WARDS
from tobiume.demo.codes import DISEASES

P95_TARGET_MS = 50.0
CONSENT_P95_TARGET_MS = 60.0
EVERYTHING_P95_TARGET_MS = 150.0
CITY_RESOURCES = 1_093_138
"""The size of the city the search issue measures on: the directory and about 30,000 citizens
(`make bench-city` generates 1,093,138 resources for 30,000)."""
HBA1C = "urn:oid:1.2.392.200119.4.504|3D046000001906202"


HEAVY = 300
"""Records `$everything` is measured on, per citizen (the search issue's figure)."""
HEAVY_CITIZENS = 20


def _extra_result(citizen: str, n: int) -> dict[str, Any]:
    """A monthly HbA1c of `citizen`, the `n`th of the extra results that make them heavy."""
    year, month = 2001 + n // 12, 1 + n % 12
    return {
        "resourceType": "Observation",
        "id": f"{citizen}-heavy-{n}",
        "status": "final",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "laboratory",
                    }
                ]
            }
        ],
        "code": {"coding": [{"system": HBA1C.split("|")[0], "code": HBA1C.split("|")[1]}]},
        "subject": {"reference": f"Patient/{citizen}"},
        "effectiveDateTime": f"{year}-{month:02d}-15T09:00:00+09:00",
        "valueQuantity": {
            "value": 6.0 + (n % 10) / 10,
            "unit": "%",
            "system": "http://unitsofmeasure.org",
            "code": "%",
        },
    }


class SearchBench(run.Bench):
    consent = False
    """Run through the consent gates as a hospital (`--consent`)."""

    def through_consent(self) -> None:
        self.consent = True
        self.env.pop("TOBIUME_ROLE_POLICY_FILE", None)
        self.token_args = ["--role", "hospital", "--org", "Organization/hosp-001"]

    def target(self, name: str) -> float:
        if not self.consent:
            return P95_TARGET_MS
        return EVERYTHING_P95_TARGET_MS if name == "everything" else CONSENT_P95_TARGET_MS

    def run(self) -> None:
        self.preflight()
        if self._stored() < self.args.resources:
            self.prepare_database()
            self.load(self.generate())
        else:
            self.log(f"{self.args.database} holds the city already; vacuum analyze")
            self.psql("vacuum analyze", timeout=1800)
        if not self.args.no_ceiling:
            self.ceiling()
        self.serve()
        for name, paths in self.scenarios().items():
            self.measure_paths(name, paths)

    def _stored(self) -> int:
        try:
            return int(self.psql("select count(*) from resource").strip() or 0)
        except BenchError:
            return 0

    def scenarios(self) -> dict[str, list[str]]:
        def rows(sql: str) -> list[str]:
            return [line for line in self.psql(sql).splitlines() if line]

        patients = rows(
            "select distinct r.target_id from idx_reference r join idx_token t"
            " on t.res_pk = r.res_pk and t.param = 'code' and t.code = '3D046000001906202'"
            " where r.res_type = 'Observation' and r.param = 'patient' limit 300"
        )
        kana = rows(
            "select distinct left(value_exact, 2) from idx_string where res_type = 'Patient'"
            " and param = 'family' and value_exact ~ '^[ァ-ヶ]{2}' limit 60"
        )
        hospitals = rows(
            "select res_id from resource where res_type = 'Organization' and res_id like 'hosp-%'"
        )
        q = urllib.parse.quote
        return {
            "observations": [
                f"/fhir/Observation?patient={p}&code={q(HBA1C)}&date=ge2024-01-01&_sort=-date"
                for p in patients
            ],
            "kana-name": [
                f"/fhir/Patient?name={q(prefix)}&birthdate={year}"
                for prefix in kana
                for year in range(1935, 1960, 3)
            ],
            "admissions": [
                f"/fhir/Encounter?class=IMP&date=ge2026-06-01&service-provider=Organization/{h}"
                for h in hospitals
            ],
            "conditions": [
                f"/fhir/Condition?code={q('http://hl7.org/fhir/sid/icd-10|' + d.icd10)}"
                "&_include=Condition:subject"
                for d in DISEASES.values()
            ],
            "care-plans": [
                f"/fhir/Patient?_has:CarePlan:subject:status=active&address-city={q(w.city)}"
                for w in WARDS
            ],
            # before the count, whose slow answers would still be running behind it
            **(self.everything(rows) if self.consent else {}),
            "count": ["/fhir/Observation?_summary=count"],
        }

    def everything(self, rows: Any) -> dict[str, list[str]]:
        """`$everything` for the citizens with the most records whose consent lets every
        participant see everything (a hospital sees all of theirs), brought to `HEAVY`
        records each (the city's busiest citizen has about 110)."""
        held = {
            citizen: int(count)
            for citizen, _, count in (
                line.partition("|")
                for line in rows(
                    "select r.patient_id, count(*) from resource r"
                    " join registration g using (patient_id) where not r.deleted"
                    " and r.res_id not like '%-heavy-%' and not exists (select 1 from"
                    " consent_rule c where c.patient_id = r.patient_id and (not c.permit"
                    " or c.actor_org is not null or c.purpose is not null))"
                    " group by r.patient_id order by count(*) desc, r.patient_id"
                    f" limit {HEAVY_CITIZENS}"
                )
            )
        }
        citizens = list(held)
        self.top_up(held)
        counts = rows(
            "select count(*) from resource where not deleted and patient_id in ("
            + ",".join(f"'{c}'" for c in citizens)
            + ") group by patient_id"
        )
        self.log(f"$everything: {len(citizens)} citizens of {min(map(int, counts))}+ records")
        return {"everything": [f"/fhir/Patient/{c}/$everything?_count=1000" for c in citizens]}

    def top_up(self, held: dict[str, int]) -> None:
        """Laboratory results enough to give each citizen `HEAVY` records, loaded with
        `tobiume import` (fixed ids: a second run stores nothing new)."""
        lines = []
        for citizen, count in held.items():
            for n in range(HEAVY - count):
                lines.append(json.dumps(_extra_result(citizen, n), ensure_ascii=False))
        extra = self.work / "heavy" / "Observation.ndjson"
        extra.parent.mkdir(exist_ok=True)
        extra.write_text("\n".join(lines) + "\n")
        self._import([extra.parent], time.monotonic() + 600)

    def measure_paths(self, name: str, paths: list[str]) -> None:
        if not paths:
            raise BenchError(f"{name}: the database gave no values to search for")
        urls = self.work / f"urls-{name}.txt"
        urls.write_text("\n".join(paths) + "\n")
        env = self.wrk_env() | {"BENCH_URLS": str(urls)}
        script = run.LUA_DIR / "urls.lua"
        if self.args.warmup:
            self.wrk(f"{name}-warmup", script, self.base, env, self.args.warmup)
        result = self.wrk(name, script, self.base, env, self.args.duration)
        self.report.scenarios.append(result)

    def search_checks(self) -> list[tuple[str, bool, str]]:
        checks = []
        for s in self.report.scenarios:
            if s.name == "ceiling":
                continue
            target = self.target(s.name)
            checks.append(
                (
                    f"{s.name} p95 < {target:.0f} ms",
                    s.requests > 0 and s.p95_ms < target and s.errors == 0,
                    (f"p95 {s.p95_ms:.1f} ms, {s.rps:,.0f} req/s" if s.requests else "no answer")
                    + (f", {s.ratio:.2f} of the ceiling" if s.ratio else "")
                    + (f", {s.errors} errors" if s.errors else ""),
                )
            )
        return checks


def main(argv: list[str] | None = None) -> int:
    given = list(argv if argv is not None else sys.argv[1:])
    consent = "--consent" in given
    args = run.parse_args(
        [
            "--database",
            "tobiume_bench_city",
            "--resources",
            str(CITY_RESOURCES),
            *(a for a in given if a != "--consent"),
        ]
    )
    with tempfile.TemporaryDirectory(prefix="tobiume-search-") as work:
        bench = SearchBench(args, Path(work))
        if consent:
            bench.through_consent()
        try:
            with run.time_limit(args.time_limit):
                bench.run()
        except (BenchError, KeyboardInterrupt) as exc:
            bench.report.failure = str(exc) or type(exc).__name__
        finally:
            bench.stop_all()
    if bench.report.failure:
        print(f"bench/search.py could not finish: {bench.report.failure}", file=sys.stderr)
        return 2
    print(f"\n{'scenario':<16}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'x ceiling':>11}")
    for s in bench.report.scenarios:
        ratio = f"{s.ratio:.2f}" if s.ratio else "1.00" if s.name == "ceiling" else "-"
        print(
            f"{s.name:<16}{s.rps:>9,.0f}{s.p50_ms:>9.1f}{s.p95_ms:>9.1f}{s.p99_ms:>9.1f}{ratio:>11}"
        )
    checks = bench.search_checks()
    for label, passed, detail in checks:
        print(f"{'PASS' if passed else 'FAIL'}  {label}  ({detail})")
    out = run.RESULTS_DIR / ("search-consent.json" if consent else "search.json")
    out.parent.mkdir(exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "scenarios": [vars(s) for s in bench.report.scenarios],
                "checks": [{"check": c, "pass": p, "detail": d} for c, p, d in checks],
            },
            indent=2,
            default=str,
        )
        + "\n"
    )
    return 0 if all(p for _, p, _ in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
