"""Tobiume throughput benchmark on PostgreSQL: load, then measure every FHIR hot path with wrk.

Run it with `make bench` (which runs `.venv/bin/python bench/run.py`), or directly:

    .venv/bin/python bench/run.py                      # 100,000 resources, 15 s per scenario
    .venv/bin/python bench/run.py --resources 20000 --duration 5      # a quick look
    .venv/bin/python bench/run.py --profile create     # + a py-spy profile of the create path

It needs a local PostgreSQL that trusts `root` on 127.0.0.1:5432 (see --pg-*), `psql`, `wrk`
(`apt-get install -y wrk`) and, for --profile, `py-spy` (`.venv/bin/pip install py-spy`).
One run does, in order, and stops everything it started even when a step fails:

1. drops and recreates the database `tobiume_bench`, runs `tobiume migrate`, and loads the
   synthetic city (`tobiume.demo`, docs/data.md: the directory, then whole citizens until
   `--resources` resources) with one `tobiume import` of its NDJSON files (validation and
   indexing in `--load-jobs` worker processes, default one per CPU);
2. loads and serves the ceiling probe (/work/shared/bench: FastAPI + asyncpg reading stored JSON
   by primary key, no validation, auth or audit) and measures its read;
3. serves Tobiume (`tobiume serve --workers 1`) and measures read by id, search by identifier,
   update, create and a transaction of 10 entries (1 Patient + 9 Observations), each with wrk
   (-t2 -c32, `--duration` seconds, after a `--warmup` read on each server);
4. prints one table and writes it as JSON to bench/results/latest.json (wrk's raw output and
   the server logs are beside it).

The figures: requests/s over the whole wrk run; p50/p95/p99 latency in ms as wrk measures it
(from request written to response read, 32 connections kept busy, so latency includes queueing);
errors = answers outside 2xx + socket errors + answers failing the scenario's check (a search
without an entry); "x ceiling" = requests/s divided by the ceiling probe's reads/s measured in the
same run: the machines are shared and noisy, so absolute figures drift while the ratio holds.
"load" is resources stored per second by `tobiume import` (wall time, process start included).
"server HWM" is the Tobiume server process's VmHWM (peak resident memory) after each step.

The PASS/FAIL lines at the end are the targets: read >= 60% of the ceiling, create >= 500/s,
p95 read < 25 ms, peak server memory < 300 MB, and no errors anywhere. Exit status: 0 when every
check passes, 1 when one fails, 2 when the run itself could not finish.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

import dataset
import procs
from procs import BenchError, Service

from tobiume.demo import output

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
LUA_DIR = BENCH_DIR / "lua"
RESULTS_DIR = BENCH_DIR / "results"
SHARED_BENCH = Path("/work/shared/bench")

SCENARIOS = ["read", "search", "update", "create", "transaction"]
TITLES = {
    "ceiling": "ceiling read (probe)",
    "read": "read Patient/{id}",
    "search": "search Patient?identifier",
    "update": "update PUT Patient/{id}",
    "create": "create POST Patient",
    "transaction": "transaction (10 entries)",
}


@dataclass
class Scenario:
    """One wrk measurement."""

    name: str
    title: str
    requests: int = 0
    seconds: float = 0.0
    rps: float = 0.0
    p50_ms: float = 0.0
    p95_ms: float = 0.0
    p99_ms: float = 0.0
    mean_ms: float = 0.0
    max_ms: float = 0.0
    errors: int = 0
    error_detail: dict[str, int] = field(default_factory=dict)
    first_error: str = ""
    ratio: float | None = None
    server_hwm_mb: float | None = None


@dataclass
class Load:
    resources: int = 0
    by_type: dict[str, int] = field(default_factory=dict)
    stored: int = 0
    seconds: float = 0.0
    rate: float = 0.0
    jobs: int = 0
    failures: list[str] = field(default_factory=list)
    in_database: dict[str, int] = field(default_factory=dict)


@dataclass
class Report:
    started: str
    params: dict[str, Any]
    machine: dict[str, Any]
    load: Load = field(default_factory=Load)
    scenarios: list[Scenario] = field(default_factory=list)
    memory: dict[str, Any] = field(default_factory=dict)
    sanity: dict[str, str] = field(default_factory=dict)
    profiles: dict[str, Any] = field(default_factory=dict)
    checks: list[dict[str, Any]] = field(default_factory=list)
    failure: str | None = None


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--resources", type=int, default=100_000, help="resources to load")
    p.add_argument("--duration", type=int, default=15, help="seconds of wrk per scenario")
    p.add_argument("--warmup", type=int, default=3, help="seconds of read before measuring")
    p.add_argument("--connections", type=int, default=32, help="wrk connections")
    p.add_argument("--threads", type=int, default=2, help="wrk threads")
    p.add_argument("--workers", type=int, default=1, help="uvicorn workers of each server")
    p.add_argument(
        "--load-jobs", type=int, default=None, help="import worker processes (default: CPUs)"
    )
    p.add_argument(
        "--scenarios", default=",".join(SCENARIOS), help=f"subset of {','.join(SCENARIOS)}"
    )
    p.add_argument("--no-ceiling", action="store_true", help="skip the ceiling probe")
    p.add_argument(
        "--profile",
        default="",
        help="comma-separated scenarios to run once more under `py-spy record` (not measured)",
    )
    p.add_argument("--seed", type=int, default=20261122)
    p.add_argument("--pg-host", default="127.0.0.1")
    p.add_argument("--pg-port", type=int, default=5432)
    p.add_argument("--pg-user", default="root")
    p.add_argument("--database", default="tobiume_bench", help="dropped and recreated!")
    p.add_argument("--port", type=int, default=8770, help="Tobiume server port")
    p.add_argument("--ceiling-port", type=int, default=8771)
    p.add_argument("--ceiling-dir", type=Path, default=SHARED_BENCH)
    p.add_argument("--venv", type=Path, default=ROOT / ".venv", help="the project's venv")
    p.add_argument(
        "--auth",
        default=os.environ.get("BENCH_AUTH", ""),
        help="Authorization header value for Tobiume requests (or env BENCH_AUTH; default: an "
        "admin token from `tobiume token`, signed with a key file of the run's own)",
    )
    p.add_argument("--time-limit", type=int, default=3600, help="seconds for the whole run")
    p.add_argument("--results", type=Path, default=RESULTS_DIR)
    args = p.parse_args(argv)
    args.scenarios = [s for s in args.scenarios.split(",") if s]
    args.profile = [s for s in args.profile.split(",") if s]
    for name in args.scenarios + args.profile:
        if name not in SCENARIOS:
            p.error(f"unknown scenario {name!r}; known: {', '.join(SCENARIOS)}")
    return args


class Bench:
    """The run: the steps in order, and what they measured."""

    def __init__(self, args: argparse.Namespace, work: Path):
        self.args = args
        self.work = work
        self.bin = args.venv / "bin"
        self.results: Path = args.results
        self.services: list[Service] = []
        self.report = Report(
            started=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            params={
                k: (str(v) if isinstance(v, Path) else v)
                for k, v in vars(args).items()
                if k != "auth"
            },
            machine={
                "cpus": os.cpu_count(),
                "platform": platform.platform(),
                "python": platform.python_version(),
            },
        )
        self.db_url = (
            f"postgresql+asyncpg://{args.pg_user}@{args.pg_host}:{args.pg_port}/{args.database}"
        )
        self.base = f"http://127.0.0.1:{args.port}"
        self.env = os.environ | {
            "TOBIUME_DATABASE_URL": self.db_url,
            "TOBIUME_BASE_URL": f"{self.base}/fhir",
            "TOBIUME_SIGNING_KEY_FILE": str(work / "signing-keys.json"),
            # The engine is measured as the trusted admin (policies/README.md): no consent gate.
            "TOBIUME_ROLE_POLICY_FILE": str(ROOT / "policies" / "trusted-admin.json"),
        }
        self.token_args = ["--role", "admin", "--org", "Organization/bench"]
        """Who the benchmark's requests are from (`tobiume token` arguments)."""
        self.patients_file = work / "patients.tsv"
        self.ceiling_rps: float | None = None
        self.server: Service | None = None

    # ---------------------------------------------------------------- helpers

    def log(self, message: str) -> None:
        stamp = time.strftime("%H:%M:%S")
        print(f"[{stamp}] {message}", flush=True)

    def psql(self, sql: str, *, database: str | None = None, timeout: float = 120) -> str:
        a = self.args
        done = procs.run(
            [
                "psql",
                "-X",
                "-q",
                "-tA",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                a.pg_host,
                "-p",
                str(a.pg_port),
                "-U",
                a.pg_user,
                "-d",
                database or a.database,
                "-c",
                sql,
            ],
            timeout=timeout,
            what=f"psql {sql[:40]!r}",
        )
        return done.stdout

    def start(self, name: str, argv: list[str | Path], env: dict[str, str]) -> Service:
        service = Service(name, argv, env, self.results / f"{name}.log")
        self.services.append(service)
        return service

    def stop_all(self) -> None:
        for service in reversed(self.services):
            service.stop()
        self.services.clear()

    # ---------------------------------------------------------------- steps

    def preflight(self) -> None:
        a = self.args
        missing = [t for t in ("wrk", "psql") if shutil.which(t) is None]
        if missing:
            raise BenchError(f"missing tools: {', '.join(missing)} (apt-get install -y wrk)")
        if not (self.bin / "tobiume").exists():
            raise BenchError(f"{self.bin / 'tobiume'} not found; run `make install`")
        for port in (a.port, a.ceiling_port):
            if not procs.port_free("127.0.0.1", port):
                raise BenchError(f"port {port} is in use; stop whatever listens there first")
        if a.profile and self.py_spy() is None:
            raise BenchError("--profile needs py-spy: .venv/bin/pip install py-spy")
        self.results.mkdir(parents=True, exist_ok=True)

    def py_spy(self) -> str | None:
        local = self.bin / "py-spy"
        return str(local) if local.exists() else shutil.which("py-spy")

    def prepare_database(self) -> None:
        name = self.args.database
        self.log(f"database {name}: drop and create")
        self.psql(f'drop database if exists "{name}" with (force)', database="postgres")
        self.psql(f'create database "{name}"', database="postgres")
        procs.run(
            [self.bin / "tobiume", "migrate"], env=self.env, timeout=300, what="tobiume migrate"
        )

    def generate(self) -> Path:
        a = self.args
        data = self.work / "data"
        load = self.report.load
        with self.patients_file.open("w", encoding="utf-8") as keys:

            def counted() -> Iterator[dict[str, Any]]:
                for resource in dataset.city(a.resources, a.seed):
                    if resource["resourceType"] == "Patient":
                        key = dataset.patient_key(resource)
                        keys.write(f"{key.id}\t{key.system}\t{key.value}\n")
                    yield resource

            load.by_type = output.write_ndjson(counted(), data)
        load.resources = sum(load.by_type.values())
        templates = {
            "create": dataset.create_template(a.seed),
            "update": dataset.update_template(a.seed),
            "transaction": dataset.transaction_template(a.seed),
        }
        for name, body in templates.items():
            (self.work / f"{name}.json").write_bytes(orjson.dumps(body))
        self.log(
            f"generated {load.resources:,} resources of the synthetic city"
            f" ({load.by_type.get('Patient', 0):,} citizens) in {len(load.by_type)} NDJSON files"
        )
        return data

    def load(self, data: Path) -> None:
        load = self.report.load
        load.jobs = self.args.load_jobs or os.cpu_count() or 1
        # A slow import must still end: allow 20 resources/s at the very least.
        deadline = time.monotonic() + max(600.0, load.resources / 20)
        started = time.monotonic()
        self.log("import: `tobiume import` of the city's NDJSON files")
        self._import([data], deadline)
        load.seconds = time.monotonic() - started
        load.rate = load.stored / load.seconds if load.seconds else 0.0
        self.log(
            f"loaded {load.stored:,} of {load.resources:,} resources in {load.seconds:.1f} s"
            f" = {load.rate:,.0f} resources/s"
            + (f"; {len(load.failures)} FAILURES" if load.failures else "")
        )
        self.log("vacuum analyze + checkpoint")
        self.psql("vacuum analyze", timeout=900)
        self.psql("checkpoint", timeout=300)
        with contextlib.suppress(BenchError):
            out = self.psql(
                "select res_type, count(*) from resource where not deleted group by 1 order by 1"
            )
            for line in out.splitlines():
                kind, _, count = line.partition("|")
                if count:
                    load.in_database[kind] = int(count)

    def _import(self, files: list[Path], deadline: float) -> None:
        load = self.report.load
        running: list[tuple[Path, subprocess.Popen[str], Path]] = []
        try:
            for path in files:
                out = self.results / f"import-{path.stem}.log"
                with out.open("w") as handle:
                    jobs = ["--jobs", str(self.args.load_jobs)] if self.args.load_jobs else []
                    proc = subprocess.Popen(
                        [str(self.bin / "tobiume"), "import", str(path), "--quiet", *jobs],
                        env=self.env,
                        stdout=handle,
                        stderr=subprocess.STDOUT,
                        text=True,
                        start_new_session=True,
                    )
                running.append((path, proc, out))
            for path, proc, out in running:
                try:
                    proc.wait(max(1.0, deadline - time.monotonic()))
                except subprocess.TimeoutExpired as exc:
                    raise BenchError(f"tobiume import {path.name}: not done in time") from exc
                text = out.read_text(errors="replace")
                stored = _stored(text)
                load.stored += stored
                failures = [ln for ln in text.splitlines() if ln.startswith("FAILED")]
                load.failures.extend(failures[:20])
                if proc.returncode != 0 and not failures:
                    load.failures.append(
                        f"{path.name}: exit {proc.returncode}: "
                        + " | ".join(text.splitlines()[-5:])
                    )
        finally:
            for _, proc, _ in running:
                if proc.poll() is None:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(10)

    def ceiling(self) -> None:
        a = self.args
        dsn = f"postgresql://{a.pg_user}@{a.pg_host}:{a.pg_port}/{a.database}"
        env = os.environ | {"CEILING_DSN": dsn}
        self.log("ceiling probe: load 100,000 rows")
        procs.run(
            [self.bin / "python", a.ceiling_dir / "ceiling_load.py"],
            env=env,
            timeout=600,
            what="ceiling_load.py",
        )
        self.psql("checkpoint", timeout=300)
        server = self.start(
            "ceiling-server",
            [
                self.bin / "uvicorn",
                "ceiling_app:app",
                "--app-dir",
                a.ceiling_dir,
                "--host",
                "127.0.0.1",
                "--port",
                str(a.ceiling_port),
                "--workers",
                str(a.workers),
                "--no-access-log",
                "--log-level",
                "warning",
            ],
            env,
        )
        url = f"http://127.0.0.1:{a.ceiling_port}"
        try:
            server.wait_http(f"{url}/Patient/p0", timeout=60)
            env = self.wrk_env() | {"CEILING_WRK_SCRIPT": str(a.ceiling_dir / "wrk_read.lua")}
            script = LUA_DIR / "ceiling_read.lua"
            if a.warmup:
                self.wrk("ceiling-warmup", script, url, env, a.warmup)
            result = self.wrk("ceiling", script, url, env, a.duration)
            result.server_hwm_mb = round(procs.peak_memory_mb(server.pid)[0], 1)
            self.report.scenarios.append(result)
            self.ceiling_rps = result.rps
            self.report.memory["ceiling_server_hwm_mb"] = result.server_hwm_mb
        finally:
            server.stop()
            self.services.remove(server)

    def serve(self) -> Service:
        a = self.args
        server = self.start(
            "tobiume-server",
            [
                self.bin / "tobiume",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(a.port),
                "--workers",
                str(a.workers),
            ],
            self.env,
        )
        self.server = server
        server.wait_http(f"{self.base}/readyz", timeout=120)
        self.log(f"tobiume serving at {self.base}/fhir (pid {server.pid})")
        if not a.auth:
            a.auth = "Bearer " + self.admin_token()
        self.note_memory("after start")
        return server

    def admin_token(self) -> str:
        """A token of `token_args` (the trusted admin unless a benchmark says otherwise) that
        outlives the run, signed with the server's key file: every request of the benchmark
        carries it, as every client's would."""
        done = procs.run(
            [
                self.bin / "tobiume",
                "token",
                *self.token_args,
                "--ttl",
                str(self.args.time_limit + 3600),
            ],
            env=self.env,
            timeout=60,
            what="tobiume token",
        )
        return done.stdout.strip()

    def note_memory(self, when: str) -> float:
        assert self.server is not None
        hwm, rss, pid = procs.peak_memory_mb(self.server.pid)
        self.report.memory.setdefault("tobiume_server", []).append(
            {"after": when, "hwm_mb": round(hwm, 1), "rss_mb": round(rss, 1), "pid": pid}
        )
        return round(hwm, 1)

    def sanity(self) -> None:
        """One request of each scenario before wrk, so a broken path shows its answer."""
        first = self.first_patient()
        pid, system, value = first
        tx = _fill(
            (self.work / "transaction.json").read_text(),
            {f"U{k}": str(uuid.uuid4()) for k in range(10)} | {"IDV": "00000000"},
        )
        update = _fill(
            (self.work / "update.json").read_text(),
            {"ID": pid, "SYS": system, "IDV": value, "TEL": "093-000-0000"},
        )
        create = _fill((self.work / "create.json").read_text(), {"IDV": "50000000"})
        probes = {
            "metadata": ("GET", "/fhir/metadata", None),
            "read": ("GET", f"/fhir/Patient/{pid}", None),
            "search": ("GET", f"/fhir/Patient?identifier={system}%7C{value}", None),
            "update": ("PUT", f"/fhir/Patient/{pid}", update),
            "create": ("POST", "/fhir/Patient", create),
            "transaction": ("POST", "/fhir", tx),
        }
        for name, (method, path, body) in probes.items():
            status, text = self.http(method, path, body)
            ok = 200 <= status < 300
            if name == "search" and ok and '"entry"' not in text:
                ok = False
            verdict = f"{status} {'ok' if ok else 'NOT OK: ' + text[:300]}"
            self.report.sanity[name] = verdict
            if not ok:
                self.log(f"!! sanity {name}: {verdict}")

    def first_patient(self) -> tuple[str, str, str]:
        with self.patients_file.open(encoding="utf-8") as handle:
            pid, system, value = handle.readline().rstrip("\n").split("\t")
        return pid, system, value

    def http(self, method: str, path: str, body: str | None) -> tuple[int, str]:
        headers = {"Accept": "application/fhir+json"}
        if body is not None:
            headers["Content-Type"] = "application/fhir+json"
        if self.args.auth:
            headers["Authorization"] = self.args.auth
        request = urllib.request.Request(
            self.base + path,
            data=body.encode() if body is not None else None,
            method=method,
            headers=headers,
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                return answer.status, answer.read().decode(errors="replace")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode(errors="replace")
        except (urllib.error.URLError, OSError) as exc:
            return 0, str(exc)

    def wrk_env(self) -> dict[str, str]:
        return os.environ | {
            "BENCH_LUA_DIR": str(LUA_DIR),
            "BENCH_PATIENTS": str(self.patients_file),
            "BENCH_BASE_PATH": "/fhir",
            "BENCH_AUTH": self.args.auth,
        }

    def scenario_env(self, name: str) -> dict[str, str]:
        env = self.wrk_env()
        template = self.work / f"{name}.json"
        if template.exists():
            env["BENCH_TEMPLATE"] = str(template)
        return env

    def wrk(self, name: str, script: Path, url: str, env: dict[str, str], seconds: int) -> Scenario:
        a = self.args
        label = "warm-up" if name.endswith("warmup") else "measure"
        self.log(f"wrk {label} {name}: -t{a.threads} -c{a.connections} -d{seconds}s")
        done = procs.run(
            [
                "wrk",
                f"-t{a.threads}",
                f"-c{a.connections}",
                f"-d{seconds}s",
                "--timeout",
                "10s",
                "-s",
                script,
                url,
            ],
            env=env,
            timeout=seconds + 90,
            what=f"wrk {name}",
        )
        (self.results / f"wrk-{name}.txt").write_text(done.stdout + done.stderr)
        result = _parse_wrk(name, done.stdout + done.stderr)
        if self.ceiling_rps and name != "ceiling":
            result.ratio = round(result.rps / self.ceiling_rps, 3)
        if label == "measure":
            self.log(
                f"   {result.rps:,.0f} req/s  p50 {result.p50_ms:.1f}  p95 {result.p95_ms:.1f}"
                f"  p99 {result.p99_ms:.1f} ms  errors {result.errors}"
                + (f"  !! {result.first_error[:200]}" if result.first_error else "")
            )
        return result

    def measure(self) -> None:
        a = self.args
        server = self.serve()
        self.sanity()
        if a.warmup:
            self.wrk("warmup", LUA_DIR / "read.lua", self.base, self.scenario_env("read"), a.warmup)
        for name in a.scenarios:
            self.psql("checkpoint", timeout=300)
            result = self.wrk(
                name, LUA_DIR / f"{name}.lua", self.base, self.scenario_env(name), a.duration
            )
            if not server.alive():
                raise BenchError("tobiume server died during " + name + "\n" + server.log_tail())
            result.server_hwm_mb = self.note_memory(f"{name}")
            self.report.scenarios.append(result)
        for name in a.profile:
            self.profile(name, server)
        final = self.note_memory("all scenarios")
        self.report.memory["tobiume_server_peak_mb"] = final

    def profile(self, name: str, server: Service) -> None:
        a = self.args
        out = self.results / f"profile-{name}.txt"
        seconds = max(5, a.duration)
        spy = self.py_spy()
        assert spy is not None
        self.log(f"py-spy record of {name} for {seconds} s (not part of the table)")
        target = procs.peak_memory_mb(server.pid)[2]
        recorder = subprocess.Popen(
            [
                spy,
                "record",
                "--pid",
                str(target),
                "--duration",
                str(seconds),
                "--rate",
                "100",
                "--format",
                "raw",
                "--nonblocking",
                "--output",
                str(out),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        try:
            self.wrk(
                f"profile-{name}",
                LUA_DIR / f"{name}.lua",
                self.base,
                self.scenario_env(name),
                seconds,
            )
            text, _ = recorder.communicate(timeout=seconds + 60)
        finally:
            if recorder.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(recorder.pid, signal.SIGINT)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    recorder.wait(10)
        if not out.exists():
            self.report.profiles[name] = {"error": (text or "")[-500:]}
            self.log(f"!! py-spy produced nothing: {(text or '')[-300:]}")
            return
        summary = _summarise_profile(out.read_text(errors="replace"))
        summary["file"] = str(out)
        self.report.profiles[name] = summary

    # ---------------------------------------------------------------- report

    def checks(self) -> None:
        by = {s.name: s for s in self.report.scenarios}
        checks: list[tuple[str, bool | None, str]] = []
        read = by.get("read")
        ceiling = self.ceiling_rps
        if read and ceiling:
            checks.append(
                (
                    "read >= 60% of ceiling",
                    read.rps >= 0.6 * ceiling,
                    f"{read.rps:,.0f} / {ceiling:,.0f} = {read.rps / ceiling:.0%}",
                )
            )
        else:
            checks.append(("read >= 60% of ceiling", None, "not measured"))
        create = by.get("create")
        checks.append(
            ("create >= 500/s", create.rps >= 500, f"{create.rps:,.0f}/s")
            if create
            else ("create >= 500/s", None, "not measured")
        )
        checks.append(
            ("p95 read < 25 ms", read.p95_ms < 25, f"{read.p95_ms:.1f} ms")
            if read
            else ("p95 read < 25 ms", None, "not measured")
        )
        peak = self.report.memory.get("tobiume_server_peak_mb")
        checks.append(
            ("peak server memory < 300 MB", peak < 300, f"{peak:.0f} MB")
            if isinstance(peak, float)
            else ("peak server memory < 300 MB", None, "not measured")
        )
        with_errors = [f"{s.name} {s.errors}" for s in self.report.scenarios if s.errors]
        checks.append(("no errors in any scenario", not with_errors, ", ".join(with_errors)))
        failures = self.report.load.failures
        checks.append(
            (
                "load stored every resource",
                not failures and self.report.load.stored == self.report.load.resources,
                f"{self.report.load.stored:,}/{self.report.load.resources:,}"
                + (f", {len(failures)} failures" if failures else ""),
            )
        )
        self.report.checks = [{"check": c, "pass": ok, "detail": d} for c, ok, d in checks]

    def write_json(self) -> Path:
        self.results.mkdir(parents=True, exist_ok=True)
        path = self.results / "latest.json"
        path.write_text(json.dumps(asdict(self.report), ensure_ascii=False, indent=2) + "\n")
        return path

    def print_table(self) -> None:
        rep = self.report
        header = (
            f"{'scenario':<28}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
            f"{'errors':>8}{'x ceiling':>11}{'HWM MB':>9}"
        )
        rule = "-" * len(header)
        print()
        print(
            f"Tobiume benchmark, {rep.started}, {rep.machine['cpus']} CPUs, wrk "
            f"-t{self.args.threads} -c{self.args.connections} -d{self.args.duration}s, "
            f"{self.args.workers} uvicorn worker(s), PostgreSQL"
        )
        print(rule)
        print(header)
        print(rule)
        for s in rep.scenarios:
            ratio = (
                f"{s.ratio:.2f}" if s.ratio is not None else "1.00" if s.name == "ceiling" else "-"
            )
            hwm = f"{s.server_hwm_mb:.0f}" if s.server_hwm_mb is not None else "-"
            errors = f"{s.errors}" + (" !!" if s.errors else "")
            print(
                f"{s.title:<28}{s.rps:>9,.0f}{s.p50_ms:>9.1f}{s.p95_ms:>9.1f}{s.p99_ms:>9.1f}"
                f"{errors:>8}{ratio:>11}{hwm:>9}"
            )
        print(rule)
        load = rep.load
        if load.seconds:
            print(
                f"{'load (tobiume import)':<28}{load.rate:>9,.0f} resources/s "
                f"({load.stored:,} in {load.seconds:.1f} s, {load.jobs} worker processes"
                + (f", {len(load.failures)} FAILURES" if load.failures else "")
                + ")"
            )
        peak = rep.memory.get("tobiume_server_peak_mb")
        if peak is not None:
            print(f"{'peak server memory':<28}{peak:>9,.0f} MB (VmHWM of the uvicorn process)")
        print(rule)
        for failure in load.failures[:5]:
            print(f"!! load: {failure[:300]}")
        for s in rep.scenarios:
            if s.errors:
                print(f"!! {s.name}: {s.errors} errors {s.error_detail}; first: {s.first_error}")
        for name, verdict in rep.sanity.items():
            if "NOT OK" in verdict:
                print(f"!! sanity {name}: {verdict}")
        for name, prof in rep.profiles.items():
            print(
                f"\npy-spy profile of {name} ({prof.get('samples', 0)} samples, {prof.get('file')})"
            )
            if "error" in prof:
                print("   " + str(prof["error"]))
            print("  self time:")
            for row in prof.get("self", [])[:15]:
                print(f"   {row['share']:6.1%}  {row['frame']}")
            print("  inclusive (project and library frames):")
            for row in prof.get("inclusive", [])[:25]:
                print(f"   {row['share']:6.1%}  {row['frame']}")
        if rep.failure:
            print(f"\n!! RUN FAILED: {rep.failure}")
        print()
        for c in rep.checks:
            word = "PASS" if c["pass"] else "FAIL" if c["pass"] is False else "SKIP"
            print(f"{word}  {c['check']}" + (f"  ({c['detail']})" if c["detail"] else ""))

    def run(self) -> None:
        self.preflight()
        self.prepare_database()
        self.load(self.generate())
        if not self.args.no_ceiling:
            self.ceiling()
        self.measure()


def _fill(template: str, values: dict[str, str]) -> str:
    for key, value in values.items():
        template = template.replace(f"__{key}__", value)
    return template


def _stored(text: str) -> int:
    """Resources stored, from the last line of `tobiume import`: 'F files, N resources ...'."""
    for line in reversed(text.splitlines()):
        words = line.replace(",", "").split()
        if "resources" in words and "stored" in words:
            with contextlib.suppress(ValueError, IndexError):
                return int(words[words.index("resources") - 1])
    return 0


def _parse_wrk(name: str, output: str) -> Scenario:
    result = Scenario(name=name, title=TITLES.get(name, name))
    line = next((ln for ln in output.splitlines() if ln.startswith("BENCH_RESULT ")), None)
    if line is None:
        raise BenchError(f"wrk {name}: no result line in its output:\n{output[-2000:]}")
    data = json.loads(line.removeprefix("BENCH_RESULT "))
    result.requests = int(data["requests"])
    result.seconds = data["duration_us"] / 1e6
    result.rps = round(result.requests / result.seconds, 1) if result.seconds else 0.0
    result.p50_ms = round(data["p50_us"] / 1000, 2)
    result.p95_ms = round(data["p95_us"] / 1000, 2)
    result.p99_ms = round(data["p99_us"] / 1000, 2)
    result.mean_ms = round(data["mean_us"] / 1000, 2)
    result.max_ms = round(data["max_us"] / 1000, 2)
    detail = {
        k: int(data[k]) for k in ("non2xx", "bad_body", "connect", "read", "write", "timeout")
    }
    result.error_detail = {k: v for k, v in detail.items() if v}
    result.errors = sum(detail.values())
    for ln in output.splitlines():
        if ln.startswith("BENCH_FIRST_ERROR "):
            result.first_error = ln.removeprefix("BENCH_FIRST_ERROR ")[:400]
    return result


def _summarise_profile(raw: str) -> dict[str, Any]:
    """Top frames of py-spy's raw (collapsed) stacks: 'frame;frame;...;leaf COUNT' per line."""
    self_time: dict[str, int] = {}
    inclusive: dict[str, int] = {}
    total = 0
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = stack.split(";")
        leaf = frames[-1]
        self_time[leaf] = self_time.get(leaf, 0) + count
        for frame in set(frames):
            if any(part in frame for part in ("tobiume", "sqlalchemy", "asyncpg", "fhir")):
                inclusive[frame] = inclusive.get(frame, 0) + count

    def top(table: dict[str, int], n: int) -> list[dict[str, Any]]:
        ranked = sorted(table.items(), key=lambda kv: kv[1], reverse=True)[:n]
        return [{"frame": f, "samples": c, "share": c / total if total else 0.0} for f, c in ranked]

    return {"samples": total, "self": top(self_time, 30), "inclusive": top(inclusive, 40)}


@contextlib.contextmanager
def time_limit(seconds: int) -> Iterator[None]:
    """Raises BenchError in the main thread when the whole run takes too long."""

    def expire(_signum: int, _frame: FrameType | None) -> None:
        raise BenchError(f"the run took longer than --time-limit {seconds} s")

    def terminate(_signum: int, _frame: FrameType | None) -> None:
        raise BenchError("terminated by a signal")

    previous = signal.signal(signal.SIGALRM, expire)
    previous_term = signal.signal(signal.SIGTERM, terminate)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        signal.signal(signal.SIGTERM, previous_term)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="tobiume-bench-") as work:
        bench = Bench(args, Path(work))
        try:
            with time_limit(args.time_limit):
                bench.run()
        except (BenchError, KeyboardInterrupt) as exc:
            bench.report.failure = str(exc) or type(exc).__name__
        finally:
            bench.stop_all()
        bench.checks()
        path = bench.write_json()
        bench.print_table()
        print(f"\nresults: {path}")
    if bench.report.failure:
        return 2
    return 0 if all(c["pass"] for c in bench.report.checks) else 1


if __name__ == "__main__":
    sys.exit(main())
