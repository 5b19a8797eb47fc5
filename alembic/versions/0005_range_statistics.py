"""search: statistics that let PostgreSQL estimate string prefixes and date ranges

Every parameter of a type shares one index table, so PostgreSQL's per-column statistics
describe all of them at once, and it multiplies the selectivity of `res_type = ?`, of
`param = ?` and of the value as if they were independent. On the 30,000-citizen city that
estimated the names beginning with いと at 8 rows (there are 1,042) and chose plans that
compared every such name with every Patient of a birth year, 43 ms instead of 1
(`docs/search-plans.md`). So, on PostgreSQL only:

* extended statistics (functional dependencies and most common combinations) on
  `(res_type, param)` of `idx_string` and `idx_date`, so that the two are not counted twice
  (https://www.postgresql.org/docs/15/planner-stats.html#PLANNER-STATS-EXTENDED);
* a finer histogram (target 1000) of the folded string and of both ends of a date range, so
  that a prefix or a year is measured against more than a hundred buckets of every value.

Dates stay underestimated (a birth year is still "one row": its range is measured against
every date of every parameter); `search.compile.matching` keeps such criteria where a bad
estimate costs little. A finer histogram costs a lookup, not a scan, when planning a range
(string prefixes are searched as ranges, `search.params.prefix`; as LIKE patterns they were
tested against every bucket bound, 0.25 ms more planning at this target).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 20:40:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATISTICS = {
    "st_idx_string_param": "idx_string",
    "st_idx_date_param": "idx_date",
}
HISTOGRAMS = {("idx_string", "value_norm"), ("idx_date", "low"), ("idx_date", "high")}
HISTOGRAM_TARGET = 1000


def upgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    for name, table in STATISTICS.items():
        op.execute(f"CREATE STATISTICS {name} (mcv, dependencies) ON res_type, param FROM {table}")
    for table, column in sorted(HISTOGRAMS):
        op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} SET STATISTICS {HISTOGRAM_TARGET}")


def downgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    for table, column in sorted(HISTOGRAMS):
        op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} SET STATISTICS -1")
    for name in STATISTICS:
        op.execute(f"DROP STATISTICS IF EXISTS {name}")
