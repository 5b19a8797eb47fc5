"""Synthetic-city benchmark: how fast the city is generated, in how much memory, and how fast
`tobiume import` loads it into PostgreSQL.

    make bench-city                                   # 30,000 citizens (the registration target)
    .venv/bin/python bench/city.py --citizens 3000    # a quick look

It needs a local PostgreSQL that trusts `root` on 127.0.0.1:5432 (see --pg-*) and `psql`. The
database `tobiume_bench_city` (--database) is dropped and recreated on every run. Steps:

1. `tobiume demo generate --citizens N --seed S --out DIR` (NDJSON) in a child process pinned
   to one core (`taskset -c 0` where it exists): wall time, and the child's peak resident memory
   (getrusage of the finished child, so nothing samples it while it runs);
2. `tobiume migrate`, then `tobiume import DIR --quiet` with its default worker processes (one
   per CPU): wall time from process start to exit, resources stored per second;
3. prints the figures and PASS/FAIL against the targets (generation under 2 minutes and 1 GB,
   import at least 1,500 resources/s), and writes them to bench/results/city.json.

Exit status: 0 when every target is met, 1 when one is missed, 2 when the run could not finish.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from procs import BenchError, run

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
TOBIUME = ROOT / ".venv" / "bin" / "tobiume"

GENERATE_SECONDS = 120.0
GENERATE_BYTES = 1 << 30
IMPORT_RATE = 1500.0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--citizens", type=int, default=30_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=None, help="import worker processes")
    parser.add_argument("--database", default="tobiume_bench_city")
    parser.add_argument("--pg-host", default="127.0.0.1")
    parser.add_argument("--pg-port", default="5432")
    parser.add_argument("--pg-user", default="root")
    parser.add_argument("--keep", type=Path, help="write the city here and keep it")
    return parser.parse_args(argv)


def generate(args: argparse.Namespace, out: Path) -> dict[str, float]:
    argv: list[str | Path] = [TOBIUME, "demo", "generate", "--citizens", str(args.citizens)]
    argv += ["--seed", str(args.seed), "--out", out]
    if shutil.which("taskset"):
        argv = ["taskset", "-c", "0", *argv]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    done = run(argv, timeout=1800, what="tobiume demo generate")
    seconds = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if peak_kib <= before:
        raise BenchError("the generator's peak memory could not be measured")
    found = re.search(r"(\d+) resources", done.stdout)
    if found is None:
        raise BenchError(f"unexpected output of tobiume demo generate: {done.stdout!r}")
    return {
        "citizens": args.citizens,
        "resources": int(found.group(1)),
        "seconds": round(seconds, 1),
        "peak_mib": round(peak_kib / 1024, 1),
    }


def load(args: argparse.Namespace, city: Path) -> dict[str, float]:
    def psql(sql: str) -> None:
        run(
            [
                "psql",
                "-h",
                args.pg_host,
                "-p",
                args.pg_port,
                "-U",
                args.pg_user,
                "-d",
                "postgres",
                "-v",
                "ON_ERROR_STOP=1",
                "-qc",
                sql,
            ],
            timeout=120,
            what=f"psql {sql[:40]!r}",
        )

    psql(f'drop database if exists "{args.database}" with (force)')
    psql(f'create database "{args.database}"')
    url = f"postgresql+asyncpg://{args.pg_user}@{args.pg_host}:{args.pg_port}/{args.database}"
    env = {**os.environ, "TOBIUME_DATABASE_URL": url}
    run([TOBIUME, "migrate"], timeout=300, env=env, what="tobiume migrate")
    argv: list[str | Path] = [TOBIUME, "import", city, "--quiet"]
    if args.jobs:
        argv += ["--jobs", str(args.jobs)]
    started = time.perf_counter()
    done = run(argv, timeout=6 * 3600, env=env, what="tobiume import")
    seconds = time.perf_counter() - started
    found = re.search(r"(\d+) resources stored, (\d+) failures", done.stdout)
    if found is None:
        raise BenchError(f"unexpected output of tobiume import: {done.stdout!r}")
    stored, failures = int(found.group(1)), int(found.group(2))
    return {
        "stored": stored,
        "failures": failures,
        "seconds": round(seconds, 1),
        "rate": round(stored / seconds, 1),
        "jobs": args.jobs or os.cpu_count() or 1,
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="tobiume-city-"))
    city = args.keep or work / "city"
    try:
        print(f"generating {args.citizens:,} citizens (seed {args.seed}) into {city} ...")
        made = generate(args, city)
        print(f"loading them into PostgreSQL database {args.database} ...")
        loaded = load(args, city)
    except BenchError as exc:
        print(f"bench/city.py could not finish: {exc}", file=sys.stderr)
        return 2
    finally:
        shutil.rmtree(work, ignore_errors=True)
    checks = {
        f"generate under {GENERATE_SECONDS:.0f} s": made["seconds"] < GENERATE_SECONDS,
        "generate under 1 GiB": made["peak_mib"] * 1024 * 1024 < GENERATE_BYTES,
        f"import at least {IMPORT_RATE:,.0f} resources/s": loaded["rate"] >= IMPORT_RATE,
        "every resource stored": loaded["failures"] == 0 and loaded["stored"] == made["resources"],
    }
    print()
    print(
        f"generate  {made['citizens']:>7,} citizens  {made['resources']:>10,} resources  "
        f"{made['seconds']:>7.1f} s  peak {made['peak_mib']:,.0f} MiB (one core)"
    )
    print(
        f"import    {loaded['stored']:>10,} resources stored  {loaded['seconds']:>7.1f} s  "
        f"{loaded['rate']:>8,.0f} resources/s  ({loaded['jobs']} worker processes)"
    )
    for name, passed in checks.items():
        print(f"{'PASS' if passed else 'FAIL'}  {name}")
    results = BENCH_DIR / "results"
    results.mkdir(exist_ok=True)
    (results / "city.json").write_text(
        json.dumps({"generate": made, "import": loaded, "checks": checks}, indent=2) + "\n"
    )
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except subprocess.SubprocessError as exc:
        print(f"bench/city.py could not finish: {exc}", file=sys.stderr)
        sys.exit(2)
