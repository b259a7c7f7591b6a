"""The same pipeline on Spark: the contract dataset, one `course-analytics run` on a standalone
Spark cluster (raw parquet in a lake folder, dbt-spark, publish), the same run on PostgreSQL,
and the published course marts compared row for row (all columns but the run's own timestamps),
and with the contract's expected.json. A second run over the same window changes nothing.

The marts are read back with `course-analytics sql` on both engines, as an analyst would: all of
them in one query per engine (each `course-analytics` call on Spark is one application, about
20 s to start), every field cast to the same text on both.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow.dataset
import pytest

from flows.spark import ClusterState
from flows.warehouse import Warehouse
from tests import oracle
from tests.contract_site import contract_site
from tests.dbt_tracking.tracking_data import TRACKING_MARTS

CLI = str(Path(sys.executable).parent / "course-analytics")
AS_OF = "2026-11-19T23:59:59Z"
SECRET = "Planted-Secret-5b2d-spark"
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


@dataclass
class Engines:
    spark_env: dict[str, str]
    postgres_env: dict[str, str]
    spark_output: str
    home: Path
    columns: dict[str, list[tuple[str, str]]]  # mart -> [(column, PostgreSQL data type)], run timestamps left out
    spark_marts: Marts
    postgres_marts: Marts


def _cli(args: list[str], env: dict[str, str], timeout: int = 900) -> subprocess.CompletedProcess:
    return subprocess.run([CLI, *args], env=env, capture_output=True, text=True, timeout=timeout, cwd="/")


def sql_rows(env: dict[str, str], query: str) -> tuple[list[str], list[tuple[str, ...]]]:
    """`course-analytics sql` output: the header, then the rows as text fields."""
    result = _cli(["sql", query], env, timeout=300)
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


def _mart_columns(warehouse: Warehouse) -> dict[str, list[tuple[str, str]]]:
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


@pytest.fixture(scope="module")
def engines(spark_cluster: ClusterState, database_factory_module, tmp_path_factory) -> Iterator[Engines]:
    warehouse: Warehouse = database_factory_module("spark_twin")
    home = tmp_path_factory.mktemp("spark-home")
    pg_home = tmp_path_factory.mktemp("pg-home")
    with contract_site(SECRET) as site:
        spark_env = {
            **site,
            "WAREHOUSE_ENGINE": "spark",
            "SPARK_MASTER": spark_cluster.master_url,
            "LAKE_URL": str(home / "lake"),
            "COURSE_ANALYTICS_HOME": str(home),
        }
        postgres_env = {**site, "WAREHOUSE_DSN": warehouse.dsn, "COURSE_ANALYTICS_HOME": str(pg_home)}
        spark = _cli(["run", "--as-of", AS_OF], spark_env)
        assert spark.returncode == 0, spark.stdout[-3000:] + spark.stderr[-5000:]
        postgres = _cli(["run", "--as-of", AS_OF], postgres_env)
        assert postgres.returncode == 0, postgres.stdout[-3000:] + postgres.stderr[-5000:]
        columns = _mart_columns(warehouse)
        kept = {mart: [(c, t) for c, t in cols if c not in RUN_TIMESTAMPS] for mart, cols in columns.items()}
        # the simulator keeps answering for the module: the second run reads it again
        yield Engines(
            spark_env,
            postgres_env,
            spark.stdout + spark.stderr,
            home,
            columns,
            read_marts(spark_env, "spark", kept)[0],
            read_marts(postgres_env, "postgres", kept)[0],
        )


def test_the_spark_run_used_the_cluster_and_the_lake(engines: Engines, spark_cluster: ClusterState) -> None:
    assert "synced up to 2026-11-19T23:59:59+00:00" in engines.spark_output
    with urllib.request.urlopen(f"http://127.0.0.1:{spark_cluster.web_port}/json/", timeout=5) as answer:
        master = json.load(answer)
    # every `course-analytics` process is one application on the cluster; none ran elsewhere
    assert [app["name"] for app in master["completedapps"]].count("course-analytics") >= 1
    lake = engines.home / "lake" / "umami_raw"
    assert sorted(p.name for p in (lake / "events").iterdir() if p.suffix == ".parquet")
    assert SECRET not in engines.spark_output
    for path in engines.home.rglob("*"):
        if path.is_file() and path.suffix in (".log", ".json", ".jsonl", ".txt", ".sql"):
            assert SECRET not in path.read_text(errors="replace"), path


@pytest.mark.parametrize("mart", MARTS)
def test_every_mart_on_spark_equals_postgresql_row_for_row(engines: Engines, mart: str) -> None:
    assert sum(engines.postgres_marts[mart][1].values()) > 0
    assert engines.spark_marts[mart][1] == engines.postgres_marts[mart][1]


def test_the_published_tables_have_postgresqls_columns_in_its_order(engines: Engines) -> None:
    """Read from the published copies' parquet files (the view operator_course_metrics has no files:
    the query above names each of its columns)."""
    published = engines.home / "spark" / "warehouse" / "analytics.db"
    for mart, columns in engines.columns.items():
        copies = sorted(published.glob(f"{mart}__v*"))
        if mart == "operator_course_metrics":
            assert not copies
            continue
        schema = pyarrow.dataset.dataset(copies[-1], format="parquet").schema
        assert schema.names == [c for c, _ in columns], mart


def _fields(engines: Engines, mart: str, wanted: list[str]) -> list[tuple[str, ...]]:
    columns, rows = engines.spark_marts[mart]
    picks = [columns.index(name) for name in wanted]
    return sorted(tuple(row[i] for i in picks) for row in rows.elements())


def test_spark_daily_and_window_stats_equal_the_contract(engines: Engines) -> None:
    expected = oracle.load_json("expected.json")
    daily = _fields(engines, "analytics_course_daily_stats", ["stat_date", "shifu_bid", "visit_count", "visitor_count"])
    assert daily == sorted(
        (r["stat_date"], r["shifu_bid"], str(r["visit_count"]), str(r["visitor_count"]))
        for r in expected["daily_utc"]
        if r["stat_date"] <= "2026-11-19"  # the event at exactly 2026-11-20T00:00:00Z is after --as-of
    )
    window = expected["window_30d_utc"]
    rows = _fields(
        engines,
        "analytics_course_window_stats",
        ["window_type", "shifu_bid", "visitor_count", "visit_count", "window_start_date", "window_end_date"],
    )
    assert [row[1:] for row in rows if row[0] == "last_30_days"] == sorted(
        (r["shifu_bid"], str(r["visitor_count"]), str(r["visit_count"]), window["start_date"], window["end_date"])
        for r in window["rows"] + window["zero_rows"]
    )


def _status_marts(output: str) -> dict[str, tuple[int, str, str]]:
    """`status`'s marts table: name -> (rows, published, data as of)."""
    lines = output.splitlines()
    start = lines.index("marts in analytics:") + 2  # after the table's header line
    table = {}
    for line in lines[start:]:
        name, rows, published, as_of = line.split()
        table[name] = (int(rows), published, as_of)
    return table


def test_status_names_every_published_mart_with_its_rows_on_both_engines(engines: Engines) -> None:
    tables = {}
    for name, env in (("spark", engines.spark_env), ("postgres", engines.postgres_env)):
        result = _cli(["status"], env, timeout=300)
        assert result.returncode == 0, result.stderr[-3000:]
        assert "last successful load: Umami" in result.stdout and "(1 loads)" in result.stdout
        assert "last run: success (all), finished 20" in result.stdout
        tables[name] = _status_marts(result.stdout)
    for mart in MARTS:
        rows = sum(engines.postgres_marts[mart][1].values())
        assert tables["spark"][mart][0] == rows == tables["postgres"][mart][0]
        for engine in ("spark", "postgres"):
            _, published, as_of = tables[engine][mart]
            assert as_of == "2026-11-19T23:59:59Z" and published.startswith("20") and published != "never"
    assert not any("__v" in name for name in tables["spark"])  # the published versions are not listed as marts


def _table(page: str, table_id: str) -> str:
    start = page.index(f'<table id="{table_id}">')
    return page[start : page.index("</table>", start)]


def test_the_report_shows_the_same_figures_on_both_engines(engines: Engines, tmp_path: Path) -> None:
    pages = {}
    for name, env in (("spark", engines.spark_env), ("postgres", engines.postgres_env)):
        result = _cli(["report", "--out", str(tmp_path / f"{name}.html")], env, timeout=300)
        assert result.returncode == 0, result.stderr[-3000:]
        pages[name] = (tmp_path / f"{name}.html").read_text()
    for table in ("windows-table", "reconciliation-table"):
        assert _table(pages["spark"], table) == _table(pages["postgres"], table)
    assert "shifu-gamma" in _table(pages["spark"], "windows-table")  # the report's own test is in tests/analyst


def test_a_second_run_over_the_same_window_changes_no_mart(engines: Engines) -> None:
    again = _cli(["run", "--as-of", AS_OF], engines.spark_env)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-5000:]
    kept = {mart: [(c, t) for c, t in cols if c not in RUN_TIMESTAMPS] for mart, cols in engines.columns.items()}
    # the lake's copies in the same `sql` call as the marts (each call on Spark is one application)
    lake = (
        "select 'extra' as mart, concat_ws(chr(31), cast(count(*) as string), "
        "cast(count(distinct event_id) as string), "
        "cast((select count(*) from analytics.mart_publications) as string)) as fields from umami_raw.events"
    )
    marts, counts = read_marts(engines.spark_env, "spark", kept, extra=lake)
    assert marts == engines.spark_marts
    copies, distinct, publications = map(int, counts)
    assert copies > distinct  # the lake holds both loads' copies; the marts count each event once
    assert publications == 2
    versions = {p.name for p in (engines.home / "spark" / "warehouse" / "analytics.db").iterdir()}
    tables = [mart for mart in MARTS if mart != "operator_course_metrics"]  # a view over the published tables
    assert {f"{mart}__v2" for mart in tables} <= versions
    assert not any(name.endswith("__v1") for name in versions)
