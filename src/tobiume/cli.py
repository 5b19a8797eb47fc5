"""The `tobiume` command: serve | migrate | import (token, clients, audit and demo come with
their issues). Configuration comes from the environment (`TOBIUME_*`, see README)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from tobiume.config import get_settings


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
    args = parser.parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    if args.command == "migrate":
        return _migrate()
    return _import(args)


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


def _import(args: argparse.Namespace) -> int:
    from tobiume.importer import import_paths

    settings = get_settings()
    report = asyncio.run(import_paths(settings, args.paths, show=not args.quiet))
    for failure in report.failures:
        print(f"FAILED {failure}", file=sys.stderr)
    print(
        f"{report.files} files, {report.resources} resources stored, "
        f"{len(report.failures)} failures"
    )
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
