"""The floor: bench/floor.sql run against the warehouse, and checked against the published marts.

``run`` fills in floor.sql's variables (the run's as-of instant, the business time zone, the
event catalog and the sensitive-value rules from the dbt project's seeds) and runs it on one
connection; ``differences`` compares its tables with the published marts, row for row. The
benchmark fails when they differ: a floor that computes other numbers measures nothing.
"""

from __future__ import annotations

import csv
import re
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg2

ROOT = Path(__file__).resolve().parents[1]
SQL = Path(__file__).with_name("floor.sql")
SEEDS = ROOT / "dbt_project" / "seeds"
SCHEMA = "bench_floor"
BUSINESS_TIMEZONE = "Asia/Shanghai"  # the dbt var business_timezone's default, which the pipeline keeps

# (floor table, published mart, the columns that hold the mart's numbers)
COMPARED = (
    ("course_daily_stats", "analytics_course_daily_stats", "stat_date, shifu_bid, visit_count, visitor_count"),
    ("course_window_stats", "analytics_course_window_stats", "window_type, shifu_bid, visitor_count, visit_count"),
    (
        "tracking_daily_stat",
        "tracking_daily_stat",
        "day_key, event_key, scope_kind, scope_id, event_count, distinct_user_count",
    ),
)

# psql's variables: :'name' is a quoted literal, :name the text as it is
_VARIABLE = re.compile(r"(?<![:\w]):(?:'(\w+)'|(\w+))")


class FloorMismatch(AssertionError):
    """The floor's numbers are not the published marts' numbers."""


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _seed(name: str) -> list[dict[str, str]]:
    with (SEEDS / f"{name}.csv").open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _guard(guard: str) -> str:
    """The SQL of a value rule's guard on ``lowered`` (see dbt_project/macros/tracking/tracking_metadata.sql)."""
    if guard == "digits>=7":
        return "length(lowered) - length(translate(lowered, '0123456789', '')) >= 7"
    literals = guard.split()
    if not literals:
        return "true"
    return "(" + " or ".join(f"strpos(lowered, {_quote(literal)}) > 0" for literal in literals) + ")"


def looks_sensitive_sql() -> str:
    """The seed's value rules as one boolean expression over ``lowered``, each guard before its pattern."""
    rules = [row for row in _seed("sensitive_metadata_rules") if row["rule"] == "value"]
    if not rules:
        raise ValueError("the seed sensitive_metadata_rules has no value rule")
    tests = [f"({_guard((r['guard'] or '').strip())} and lowered ~ {_quote(r['pattern'])})" for r in rules]
    return "(\n    " + "\n    or ".join(tests) + "\n)"


def catalog_rows_sql() -> str:
    rows = _seed("tracking_event_catalog")
    return ",\n    ".join(f"({_quote(r['event_key'])}, {_quote(r['scope_kind'])})" for r in rows)


def render(as_of: datetime, business_timezone: str = BUSINESS_TIMEZONE) -> str:
    """floor.sql with its variables filled in (comment lines are left as they are)."""
    moment = as_of.astimezone(UTC)
    literals = {
        "as_of": moment.isoformat(),
        "as_of_date": moment.date().isoformat(),
        "business_timezone": business_timezone,
    }
    raw = {"catalog_rows": catalog_rows_sql(), "looks_sensitive": looks_sensitive_sql()}

    def fill(match: re.Match[str]) -> str:
        quoted, bare = match.groups()
        if quoted is not None:
            return _quote(literals[quoted])
        return raw.get(bare, match.group(0))  # not a variable: [[:space:]] in a pattern

    lines = SQL.read_text(encoding="utf-8").splitlines(keepends=True)
    return "".join(line if line.lstrip().startswith("--") else _VARIABLE.sub(fill, line) for line in lines)


def run(dsn: str, as_of: datetime) -> float:
    """Run the floor on one connection; its wall seconds (connecting excluded)."""
    script = render(as_of)
    conn = psycopg2.connect(dsn)
    try:
        with conn.cursor() as cur:
            started = time.perf_counter()
            cur.execute(script)
            conn.commit()
            return time.perf_counter() - started
    finally:
        conn.close()


def differences(dsn: str, marts_schema: str = "analytics", sample: int = 5) -> list[str]:
    """What differs between the floor's tables and the published marts (nothing: an empty list)."""
    found: list[str] = []
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        for table, mart, columns in COMPARED:
            floor = (f"{SCHEMA}.{table}", f"select {columns} from {SCHEMA}.{table}")
            published = (f"{marts_schema}.{mart}", f"select {columns} from {marts_schema}.{mart}")
            for (name, rows_of), (other, other_rows) in ((floor, published), (published, floor)):
                only = f"{rows_of} except all {other_rows}"
                cur.execute(f"select count(*) over (), * from ({only}) as rows limit {sample}")
                rows = cur.fetchall()
                if rows:
                    example = [row[1:] for row in rows]
                    found.append(f"{rows[0][0]} rows in {name}, not in {other} ({columns}), e.g. {example}")
    return found


def check(dsn: str, marts_schema: str = "analytics") -> None:
    """Raise FloorMismatch unless the floor's tables hold exactly the published marts' numbers."""
    found = differences(dsn, marts_schema)
    if found:
        raise FloorMismatch("the floor's numbers differ from the published marts':\n" + "\n".join(found))


def drop(dsn: str) -> None:
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(f"drop schema if exists {SCHEMA} cascade")
