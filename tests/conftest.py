"""Test fixtures: the app over real SQLite and real PostgreSQL, through HTTP (ASGI).

Every test that takes `client` runs once per backend. Each backend's database is created empty
and upgraded by the Alembic migrations once per session; before each test every table is
emptied, so tests are isolated without mocks. `client` sends an admin token with
`system/*.cruds` (`tests.tokens.ADMIN`); `anonymous` sends none, and `serve(settings,
headers=...)` any other (`tests.tokens.auth(role=...)`).

The FHIR-core tests are about FHIR, not about who may see what: their servers run with
`TRUSTED_POLICY`, a role policy file that makes the admin role `unrestricted` (no consent, no
relationship, no registration asked, as `tobiume import` works), so their admin token sees and
writes everything. Every other role keeps the default policy, and the access tests
(`tests/access`) serve with the default table for every role (`default_policy`).

PostgreSQL comes from TOBIUME_TEST_PG_URL (default: the local server, database
`tobiume_test`). When it cannot be reached the PostgreSQL half is skipped with a loud notice,
unless TOBIUME_REQUIRE_PG=1 (what `.ci/run` sets), which turns that into a failure.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
import httpx
import pytest

from tests.helpers import empty_tables
from tests.tokens import ADMIN, KEY_FILE
from tobiume.config import Settings
from tobiume.db import Database
from tobiume.main import create_app
from tobiume.storage.migrate import upgrade

ROOT = Path(__file__).resolve().parents[1]


def _shared_dir() -> Path:
    """The project's shared material (official FHIR examples, Synthea): TOBIUME_SHARED_DIR, else
    `../shared` beside the checkout, else `/work/shared`. Missing, the tests that read it fail."""
    configured = os.environ.get("TOBIUME_SHARED_DIR")
    candidates = [Path(configured)] if configured else []
    candidates += [ROOT.parent / "shared", Path("/work/shared")]
    return next((c for c in candidates if (c / "fhir-r4").is_dir()), candidates[0])


SHARED = _shared_dir()
BASE = "http://test/fhir"
PG_URL = os.environ.get(
    "TOBIUME_TEST_PG_URL", "postgresql+asyncpg://root@127.0.0.1:5432/tobiume_test"
)
REQUIRE_PG = os.environ.get("TOBIUME_REQUIRE_PG") == "1"
_pg_skip_reason: list[str] = []


@dataclass
class Backend:
    name: str
    url: str
    settings: Settings
    database: Database


def _pg_dsn(url: str) -> tuple[str, str]:
    """(DSN of the server's `postgres` database, name of the test database)."""
    plain = url.replace("postgresql+asyncpg://", "postgresql://")
    server, _, name = plain.rpartition("/")
    return f"{server}/postgres", name


async def _recreate_pg_database(url: str) -> None:
    admin_dsn, name = _pg_dsn(url)
    conn = await asyncpg.connect(admin_dsn, timeout=5)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


def pytest_report_header() -> list[str]:
    return [f"PostgreSQL for tests: {PG_URL} (required: {REQUIRE_PG})"]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _pg_skip_reason:
        banner = "!" * 78
        terminalreporter.write_line(banner, red=True, bold=True)
        terminalreporter.write_line(
            "POSTGRESQL TESTS WERE SKIPPED: only the SQLite half of the suite ran.",
            red=True,
            bold=True,
        )
        terminalreporter.write_line(f"Reason: {_pg_skip_reason[0]}", red=True)
        terminalreporter.write_line(
            "Start PostgreSQL or set TOBIUME_TEST_PG_URL; CI (.ci/run) requires it.", red=True
        )
        terminalreporter.write_line(banner, red=True, bold=True)


TRUSTED_POLICY = ROOT / "policies" / "trusted-admin.json"


def _settings(url: str) -> Settings:
    return Settings(
        database_url=url,
        base_url=BASE,
        auto_migrate=False,
        signing_key_file=KEY_FILE,
        role_policy_file=TRUSTED_POLICY,
    )


def default_policy(settings: Settings) -> Settings:
    """`settings` with the role policy a deployment has when it configures none."""
    return settings.model_copy(update={"role_policy_file": None})


@pytest.fixture(scope="session")
async def sqlite_backend(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Backend]:
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    database = Database(url)
    await upgrade(database.url)
    yield Backend("sqlite", url, _settings(url), database)
    await database.dispose()


@pytest.fixture(scope="session")
async def pg_backend() -> AsyncIterator[Backend]:
    try:
        await _recreate_pg_database(PG_URL)
    except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
        reason = f"PostgreSQL at {PG_URL} is not reachable: {exc!r}"
        if REQUIRE_PG:
            pytest.fail(reason + " (TOBIUME_REQUIRE_PG=1)", pytrace=False)
        _pg_skip_reason.append(reason)
        pytest.skip(reason)
    database = Database(PG_URL, pool_size=25)
    await upgrade(database.url)
    yield Backend("postgresql", PG_URL, _settings(PG_URL), database)
    await database.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def chosen_backend(request: pytest.FixtureRequest) -> Backend:
    """The session's backend for this parametrisation (a sync fixture: pytest-asyncio cannot
    resolve an async fixture from inside a running one)."""
    chosen: Backend = request.getfixturevalue(
        f"{'pg' if request.param == 'postgresql' else 'sqlite'}_backend"
    )
    return chosen


@pytest.fixture
async def backend(chosen_backend: Backend) -> Backend:
    """The backend with every table emptied, so that each test starts from nothing."""
    chosen = chosen_backend
    async with chosen.database.engine.begin() as conn:
        await empty_tables(conn)
    return chosen


@asynccontextmanager
async def serve(
    settings: Settings, headers: dict[str, str] | None = ADMIN
) -> AsyncIterator[httpx.AsyncClient]:
    """A server on `settings` (its own app, started and stopped) and an HTTP client of it that
    sends `headers` with every request (an admin token unless told otherwise)."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(
            transport=transport, base_url=BASE + "/", headers=headers
        ) as http:
            yield http


@pytest.fixture
async def client(backend: Backend) -> AsyncIterator[httpx.AsyncClient]:
    async with serve(backend.settings) as http:
        yield http


@pytest.fixture
async def anonymous(backend: Backend) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the same kind of server that sends no token."""
    async with serve(backend.settings, headers=None) as http:
        yield http


@pytest.fixture
def shared() -> Path:
    return SHARED
