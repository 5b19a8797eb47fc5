"""The `tobiume` command: serve | migrate | import | reindex | demo | token | keys | clients (audit
comes with its issue). Configuration comes from the environment (`TOBIUME_*`, see
README)."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from tobiume import clients_cli
from tobiume.config import get_settings

if TYPE_CHECKING:
    from tobiume.importer import ImportReport


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tobiume", description="Tobiume FHIR server")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve FHIR at http://HOST:PORT/fhir")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--access-log", action="store_true", help="log every request")
    commands.add_parser("migrate", help="upgrade the database schema to the newest version")
    load = commands.add_parser("import", help="load Bundles and NDJSON files (also .bz2, .gz)")
    load.add_argument("paths", nargs="+", type=Path)
    load.add_argument("--quiet", action="store_true", help="no progress bar")
    load.add_argument(
        "--jobs", type=int, default=None, help="validating processes (default: CPUs, at most 8)"
    )
    reindex = commands.add_parser(
        "reindex", help="rewrite the search index rows of stored resources from their bodies"
    )
    reindex.add_argument("--type", action="append", default=[], help="only this type (repeat)")
    _demo_parser(commands)
    _token_parser(commands)
    clients_cli.add_parser(commands)
    keys = commands.add_parser("keys", help="the server's signing keys")
    key_actions = keys.add_subparsers(dest="action", required=True)
    key_actions.add_parser("rotate", help="sign with a new key; old ones verify until expiry")
    args = parser.parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    if args.command == "migrate":
        return _migrate()
    if args.command == "demo":
        return _demo(args)
    if args.command == "reindex":
        return _reindex(args)
    if args.command == "token":
        return _token(args)
    if args.command == "keys":
        return _rotate_keys()
    if args.command == "clients":
        return clients_cli.run(args)
    return _import(args)


def _token_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from tobiume.auth.roles import ROLES

    token = commands.add_parser(
        "token", help="print a signed access token for local use, tests and the demo"
    )
    token.add_argument("--role", required=True, choices=sorted(ROLES))
    token.add_argument("--org", required=True, help="Organization/ID the requester acts for")
    token.add_argument("--practitioner", help="PractitionerRole/ID: a person's token (fhirUser)")
    token.add_argument("--patient", help="Patient/ID: the patient of patient/ scopes")
    token.add_argument("--scope", help="SMART scopes (default: by role, see README)")
    token.add_argument("--purpose", help="purpose of use, e.g. TREAT or ETREAT")
    token.add_argument("--ttl", type=int, help="seconds (default TOBIUME_TOKEN_LIFETIME_SECONDS)")
    token.add_argument("--sub", help="subject (default: the practitioner, patient or org)")


def _demo_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from tobiume.demo.generate import AS_OF

    demo = commands.add_parser("demo", help="the synthetic Kitakyushu (docs/data.md)")
    actions = demo.add_subparsers(dest="action", required=True)
    generate = actions.add_parser("generate", help="write the city as NDJSON or Bundles")
    generate.add_argument("--citizens", type=int, required=True)
    generate.add_argument("--seed", type=int, default=1)
    generate.add_argument("--out", type=Path, required=True)
    generate.add_argument("--format", choices=("ndjson", "bundles"), default="ndjson")
    load = actions.add_parser("load", help="load a city into the configured database")
    load.add_argument("--citizens", type=int, default=200)
    load.add_argument("--seed", type=int, default=1)
    load.add_argument("--if-empty", action="store_true", help="do nothing if anything is stored")
    load.add_argument(
        "--jobs", type=int, default=None, help="validating processes (default: CPUs, at most 8)"
    )
    for action in (generate, load):
        action.add_argument(
            "--as-of", type=date.fromisoformat, default=AS_OF, help=f"the city's today ({AS_OF})"
        )


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    uvicorn.run(
        "tobiume.main:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        access_log=args.access_log,
        log_level="info",
    )
    return 0


def _migrate() -> int:
    from tobiume.db import Database
    from tobiume.storage.migrate import upgrade

    async def run() -> None:
        database = Database(get_settings().database_url)
        try:
            await upgrade(database.url)
        finally:
            await database.dispose()

    asyncio.run(run())
    print("database is at the newest schema")
    return 0


def _token(args: argparse.Namespace) -> int:
    from tobiume.auth import endpoints
    from tobiume.auth.keys import load_or_create
    from tobiume.auth.roles import default_scope
    from tobiume.auth.tokens import issue
    from tobiume.fhir.references import is_valid_id

    def reference(value: str | None, kind: str, option: str) -> str | None:
        if value is None:
            return None
        res_id = value.removeprefix(f"{kind}/")
        if not is_valid_id(res_id):
            raise SystemExit(f"{option} takes {kind}/ID, not {value!r}")
        return f"{kind}/{res_id}"

    settings = get_settings()
    organization = reference(args.org, "Organization", "--org")
    practitioner = reference(args.practitioner, "PractitionerRole", "--practitioner")
    patient = reference(args.patient, "Patient", "--patient")
    assert organization is not None
    if args.role == "citizen" and patient is None:
        print("a citizen's token needs --patient Patient/ID", file=sys.stderr)
        return 2
    if args.ttl is not None and args.ttl <= 0:
        print("--ttl must be a positive number of seconds", file=sys.stderr)
        return 2
    base_url = settings.base_url.rstrip("/")
    scope = args.scope or default_scope(args.role, person=practitioner is not None)
    token = issue(
        load_or_create(settings.signing_key_file),
        issuer=endpoints.issuer(base_url),
        audience=endpoints.audience(base_url),
        subject=args.sub or practitioner or patient or organization,
        client_id="tobiume-cli",
        role=args.role,
        organization=organization,
        scope=scope,
        lifetime=args.ttl or settings.token_lifetime_seconds,
        fhir_user=practitioner or (patient if args.role == "citizen" else None),
        patient=patient.removeprefix("Patient/") if patient else None,
        purpose_of_use=args.purpose,
    )
    print(token)
    return 0


def _rotate_keys() -> int:
    from tobiume.auth.keys import rotate

    settings = get_settings()
    keys = rotate(settings.signing_key_file, settings.token_lifetime_seconds)
    print(f"signing with {keys.current.kid} (in {settings.signing_key_file})")
    for old in keys.keys[1:]:
        print(f"still verifying {old.kid} (retired at {old.retired_at})")
    return 0


def _reindex(args: argparse.Namespace) -> int:
    from tobiume.fhir.resource_types import is_resource_type
    from tobiume.reindex import reindex

    unknown = [t for t in args.type if not is_resource_type(t)]
    if unknown:
        print(f"not resource types: {', '.join(unknown)}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    report = asyncio.run(reindex(get_settings(), args.type))
    print(
        f"{report.resources} resources reindexed, {report.rows} index rows written, "
        f"{time.perf_counter() - started:.1f} s"
    )
    return 0


def _import(args: argparse.Namespace) -> int:
    from tobiume.importer import import_paths

    started = time.perf_counter()
    report = asyncio.run(
        import_paths(get_settings(), args.paths, show=not args.quiet, jobs=args.jobs)
    )
    return _report(report, time.perf_counter() - started)


def _report(report: ImportReport, seconds: float) -> int:
    for failure in report.failures:
        print(f"FAILED {failure}", file=sys.stderr)
    rate = report.resources / seconds if seconds > 0 else 0.0
    print(
        f"{report.files} files, {report.resources} resources stored, "
        f"{len(report.failures)} failures, {seconds:.1f} s ({rate:,.0f} resources/s)"
    )
    return 1 if report.failures else 0


def _demo(args: argparse.Namespace) -> int:
    from tobiume.demo import generate, output

    if args.action == "generate":
        started = time.perf_counter()
        if args.format == "ndjson":
            counts = output.write_ndjson(
                generate.city(args.citizens, args.seed, args.as_of), args.out
            )
        else:
            counts = output.write_bundles(args.citizens, args.seed, args.out, args.as_of)
        seconds = time.perf_counter() - started
        total = sum(counts.values())
        print(f"{args.citizens} citizens, {total} resources in {args.out} ({seconds:.1f} s)")
        return 0
    from tobiume.importer import import_city

    started = time.perf_counter()
    report = asyncio.run(
        import_city(
            get_settings(),
            args.citizens,
            args.seed,
            args.as_of,
            if_empty=args.if_empty,
            jobs=args.jobs,
        )
    )
    if report is None:
        print("the database already holds resources: the demo city was not loaded")
        return 0
    return _report(report, time.perf_counter() - started)


if __name__ == "__main__":
    sys.exit(main())
