"""The published marts of either engine read back as an analyst would, with `course-analytics sql`,
every field cast to the same text on both (for tests that compare Spark's marts with PostgreSQL's)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

from flows.warehouse import Warehouse
from tests.dbt_tracking.tracking_data import TRACKING_MARTS

CLI = str(Path(sys.executable).parent / "course-analytics")
AS_OF = "2026-11-19T23:59:59Z"

# the course marts, the tracking marts and the published seeds
MARTS = (
    "analytics_course_daily_stats",
    "analytics_course_window_stats",
    "analytics_courses_seen",
    "operator_course_metrics",
    "umami_reconciliation",
    "operator_course_metric_definitions",
    *TRACKING_MARTS,
)
# the run's own timestamps (when it ran), not data
RUN_TIMESTAMPS = {"synced_at", "created_at", "updated_at", "umami_synced_at"}


Marts = dict[str, tuple[list[str], Counter]]  # mart -> (columns but the run's timestamps, rows as text)


def run_cli(args: list[str], env: dict[str, str], timeout: int = 900) -> subprocess.CompletedProcess:
    return subprocess.run([CLI, *args], env=env, capture_output=True, text=True, timeout=timeout, cwd="/")


def sql_rows(env: dict[str, str], query: str) -> tuple[list[str], list[tuple[str, ...]]]:
    """`course-analytics sql` output: the header, then the rows as text fields."""
    result = run_cli(["sql", query], env, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.rstrip("\n").split("\n")
    return lines[0].split("\t"), [tuple(line.split("\t")) for line in lines[1:]]


def _as_text(column: str, data_type: str, engine: str) -> str:
    """One column as the same text on both engines (timestamps in UTC to the millisecond, NULL as ∅)."""
    if data_type.startswith("timestamp"):
        text = (
            f"date_format({column}, \"yyyy-MM-dd'T'HH:mm:ss.SSS\")"
            if engine == "spark"
            else f"to_char({column} at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS')"
        )
    else:
        text = f"cast({column} as {'string' if engine == 'spark' else 'text'})"
    return f"coalesce({text}, '∅')"


def _normalised_json(text: str) -> str:
    """A JSON document's text as one spelling: jsonb and Spark order keys and space them differently."""
    return text if text == "∅" else json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"))


def read_marts(
    env: dict[str, str], engine: str, columns: dict[str, list[tuple[str, str]]], extra: str = ""
) -> tuple[Marts, list[str]]:
    """Every mart in one `course-analytics sql` call: a row per mart row, its fields joined by the
    unit separator, the JSON ones (jsonb on PostgreSQL) parsed and written again in one spelling.
    `extra` is one more `select 'extra' as mart, <text> as fields ...` in the same call; its
    fields come back as the second item."""
    query = " union all ".join(
        [
            f"select '{mart}' as mart, concat_ws(chr(31), {', '.join(_as_text(c, t, engine) for c, t in cols)}) "
            f"as fields from analytics.{mart}"
            for mart, cols in columns.items()
        ]
        + ([extra] if extra else [])
    )
    header, rows = sql_rows(env, query)
    assert header == ["mart", "fields"]
    marts: Marts = {mart: ([c for c, _ in cols], Counter()) for mart, cols in columns.items()}
    json_columns = {mart: {i for i, (_, t) in enumerate(cols) if t == "jsonb"} for mart, cols in columns.items()}
    extra_fields: list[str] = []
    for mart, fields in rows:
        values = fields.split(chr(31))
        if mart == "extra":
            extra_fields = values
            continue
        row = tuple(_normalised_json(v) if i in json_columns[mart] else v for i, v in enumerate(values))
        marts[mart][1][row] += 1
    return marts, extra_fields


def mart_columns(warehouse: Warehouse) -> dict[str, list[tuple[str, str]]]:
    with warehouse.connect() as conn, conn.cursor() as cur:
        cur.execute(
            "select table_name, column_name, data_type from information_schema.columns "
            "where table_schema = 'analytics' and table_name = any(%s) order by table_name, ordinal_position",
            (list(MARTS),),
        )
        found = cur.fetchall()
    columns: dict[str, list[tuple[str, str]]] = {mart: [] for mart in MARTS}
    for table, column, data_type in found:
        columns[table].append((column, data_type))
    assert all(columns.values()), columns
    return columns
