"""The query plans of the search benchmark's scenarios, written to docs/search-plans.md.

    .venv/bin/python bench/explain.py             # after bench/search.py has loaded the city
    .venv/bin/python bench/explain.py --consent   # as a hospital, through the access gates

For the first URL of each scenario of `bench/search.py` it compiles the statement the server
sends (the page, and the count for `_summary=count`) with its values inlined, runs
`EXPLAIN (ANALYZE, BUFFERS)` three times in one session with the server's settings (custom
plans), and keeps the last, warm, plan. It then checks that no plan reads an index table or
`resource` by a sequential scan. With `--consent` the statements carry the access predicate of
a hospital (`Organization/hosp-001`, the default role policy, `access.gates`), as
`bench/search.py --consent` sends them, and go to docs/consent-plans.md.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import urllib.parse
from pathlib import Path

from sqlalchemy import and_, true
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.sql import Select
from sqlalchemy.sql.elements import ColumnElement, True_

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run

import search
from tobiume.access.gates import GatedAccess, requester
from tobiume.access.policy import OpenAccess
from tobiume.access.role_policy import DEFAULT_POLICY
from tobiume.auth.principal import Principal
from tobiume.auth.scopes import parse_scopes
from tobiume.db import PG_SESSION_SETTINGS
from tobiume.search.compile import (
    count_statement,
    counts_everything,
    page_statement,
    system_page_statement,
)
from tobiume.search.query import parse_query
from tobiume.storage.tables import resource

DOCS = Path(__file__).resolve().parents[1] / "docs" / "search-plans.md"
CONSENT_DOCS = DOCS.with_name("consent-plans.md")
BASE = "http://127.0.0.1:8000/fhir"
_SEQ_SCAN = re.compile(r"Seq Scan on (idx_\w+|resource\b)")


def hospital_predicate() -> ColumnElement[bool]:
    """What a hospital's requests carry: its role's policy and the consents, in SQL."""
    principal = Principal(
        subject="bench",
        client_id="bench",
        role="hospital",
        organization="Organization/hosp-001",
        scopes=parse_scopes("system/*.cruds", has_patient=False),
    )
    who = requester(principal, frozenset({"hospital"}), 3600)
    return GatedAccess(OpenAccess(), who, DEFAULT_POLICY["hospital"]).visible()


def statement_sql(url: str, visible: ColumnElement[bool]) -> str:
    path, _, qs = url.partition("?")
    if path.endswith("/$everything"):
        patient = path.split("/")[-2]
        match = and_(resource.c.deleted.is_(False), resource.c.patient_id == patient, visible)
        stmt: Select[object] = system_page_statement(match, None, 1000)
    else:
        res_type = path.rsplit("/", 1)[-1]
        query = parse_query(
            res_type, urllib.parse.parse_qsl(qs), default_count=20, max_count=1000, base_url=BASE
        )
        if query.summary == "count" and counts_everything(query) and isinstance(visible, True_):
            return (
                f"SELECT coalesce(sum(delta), 0) FROM resource_count WHERE res_type = '{res_type}'"
            )
        stmt = (
            count_statement(query, visible)
            if query.summary == "count"
            else page_statement(query, visible)
        )
    compiled = stmt.compile(dialect=asyncpg_dialect(), compile_kwargs={"literal_binds": True})
    return str(compiled)


def explain(bench: search.SearchBench, sql: str) -> str:
    settings = "".join(f"SET {k} = {v};\n" for k, v in PG_SESSION_SETTINGS.items())
    runs = "".join(f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) {sql};\n" for _ in range(3))
    a = bench.args
    out = subprocess.run(
        ["psql", "-X", "-q", "-h", a.pg_host, "-p", str(a.pg_port), "-U", a.pg_user, a.database],
        input=settings + runs,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    plans = [p for p in out.split("QUERY PLAN") if p.strip()]
    last = plans[-1].split("\n", 2)[-1]  # drop the header's dashes
    return "\n".join(line for line in last.splitlines() if not line.startswith("("))


def main() -> int:
    consent = "--consent" in sys.argv[1:]
    args = run.parse_args(["--database", "tobiume_bench_city"])
    visible = hospital_predicate() if consent else true()
    with tempfile.TemporaryDirectory(prefix="tobiume-explain-") as work:
        bench = search.SearchBench(args, Path(work))
        if consent:
            bench.through_consent()
        sections = []
        failures = []
        for name, paths in bench.scenarios().items():
            url = paths[0]
            sql = statement_sql(url, visible)
            plan = explain(bench, sql)
            if _SEQ_SCAN.search(plan):
                failures.append(name)
            sections.append(
                f"## {name}\n\n`GET {urllib.parse.unquote(url)}`\n\n"
                f"```sql\n{sql}\n```\n\n```\n{plan.strip()}\n```\n"
            )
    if consent:
        CONSENT_DOCS.write_text(
            "# Search plans through the access gates\n\n"
            "The plans PostgreSQL 15 chose for `bench/search.py --consent`: the same searches\n"
            "as [search-plans.md](search-plans.md) and `$everything`, each carrying the access\n"
            "predicate of a hospital (`Organization/hosp-001`, the default role policy;\n"
            "`src/tobiume/access/gates.py`, docs/access.md). Written by\n"
            "`.venv/bin/python bench/explain.py --consent`.\n\n" + "\n".join(sections)
        )
        print(f"wrote {CONSENT_DOCS}")
        return 1 if failures else 0
    DOCS.write_text(
        "# Search plans\n\n"
        "The plans PostgreSQL 15 chose for the search benchmark's scenarios\n"
        "(`bench/search.py`) on the synthetic city of about 30,000 citizens (1,093,159\n"
        "resources), warm, with the server's session settings (custom plans,\n"
        "`tobiume.db.PG_SESSION_SETTINGS`). Written by `.venv/bin/python bench/explain.py`,\n"
        "which fails if a plan reads an index table or `resource` by a sequential scan. Why\n"
        "the indexes look as they do: `src/tobiume/storage/tables.py`; why one criterion is\n"
        "joined as a table of keys: `src/tobiume/search/compile.py` (`matching`). The count\n"
        "reads the few rows of `resource_count` (`src/tobiume/storage/counts.py`).\n\n"
        + "\n".join(sections)
    )
    print(f"wrote {DOCS}")
    if failures:
        print(f"sequential scan of an index table or resource in: {', '.join(failures)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
