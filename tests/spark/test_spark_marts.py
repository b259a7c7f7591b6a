"""The same pipeline on Spark: the contract dataset, one `course-analytics run` on a standalone
Spark cluster (raw parquet in a lake folder, dbt-spark, publish), the same run on PostgreSQL,
and the published course marts compared row for row (all columns but the run's own timestamps),
and with the contract's expected.json. A second run over the same window changes nothing.

The marts are read back with `course-analytics sql` on both engines, as an analyst would.
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

import pytest

from flows.spark import ClusterState
from flows.warehouse import Warehouse
from tests import oracle
from tests.contract_site import contract_site

CLI = str(Path(sys.executable).parent / "course-analytics")
AS_OF = "2026-11-19T23:59:59Z"
SECRET = "Planted-Secret-5b2d-spark"
# the course marts and the published seeds; the tracking marts are not on Spark yet (issue 17)
MARTS = (
    "analytics_course_daily_stats",
    "analytics_course_window_stats",
    "analytics_courses_seen",
    "operator_course_metrics",
    "umami_reconciliation",
    "operator_course_metric_definitions",
)
# the run's own timestamps (when it ran), not data
RUN_TIMESTAMPS = {"synced_at", "created_at", "updated_at", "umami_synced_at"}


@dataclass
class Engines:
    spark_env: dict[str, str]
    postgres_env: dict[str, str]
    spark_output: str
    home: Path


def _cli(args: list[str], env: dict[str, str], timeout: int = 900) -> subprocess.CompletedProcess:
    return subprocess.run([CLI, *args], env=env, capture_output=True, text=True, timeout=timeout, cwd="/")


def sql_rows(env: dict[str, str], query: str) -> tuple[list[str], list[tuple[str, ...]]]:
    """`course-analytics sql` output: the header, then the rows as text fields."""
    result = _cli(["sql", query], env, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.rstrip("\n").split("\n")
    return lines[0].split("\t"), [tuple(line.split("\t")) for line in lines[1:]]


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
        # the simulator keeps answering for the module: the second run reads it again
        yield Engines(spark_env, postgres_env, spark.stdout + spark.stderr, home)


def _mart(env: dict[str, str], mart: str) -> tuple[list[str], Counter]:
    header, rows = sql_rows(env, f"select * from analytics.{mart}")
    kept = [i for i, column in enumerate(header) if column not in RUN_TIMESTAMPS]
    return [header[i] for i in kept], Counter(tuple(row[i] for i in kept) for row in rows)


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
def test_every_course_mart_on_spark_equals_postgresql_row_for_row(engines: Engines, mart: str) -> None:
    spark_columns, spark_rows = _mart(engines.spark_env, mart)
    postgres_columns, postgres_rows = _mart(engines.postgres_env, mart)
    assert spark_columns == postgres_columns
    assert sum(postgres_rows.values()) > 0
    assert spark_rows == postgres_rows


def test_spark_daily_and_window_stats_equal_the_contract(engines: Engines) -> None:
    expected = oracle.load_json("expected.json")
    _, daily = sql_rows(
        engines.spark_env,
        "select stat_date, shifu_bid, visit_count, visitor_count from analytics.analytics_course_daily_stats",
    )
    assert sorted(daily) == sorted(
        (r["stat_date"], r["shifu_bid"], str(r["visit_count"]), str(r["visitor_count"]))
        for r in expected["daily_utc"]
        if r["stat_date"] <= "2026-11-19"  # the event at exactly 2026-11-20T00:00:00Z is after --as-of
    )
    window = expected["window_30d_utc"]
    _, rows = sql_rows(
        engines.spark_env,
        "select shifu_bid, visitor_count, visit_count, window_start_date, window_end_date "
        "from analytics.analytics_course_window_stats where window_type = 'last_30_days'",
    )
    assert sorted(rows) == sorted(
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
        _, rows = sql_rows(engines.postgres_env, f"select count(*) from analytics.{mart}")
        assert tables["spark"][mart][0] == int(rows[0][0]) == tables["postgres"][mart][0]
        for engine in ("spark", "postgres"):
            _, published, as_of = tables[engine][mart]
            assert as_of == "2026-11-19T23:59:59Z" and published.startswith("20") and published != "never"
    assert not any("__v" in name for name in tables["spark"])  # the published versions are not listed as marts


def test_a_second_run_over_the_same_window_changes_no_mart(engines: Engines) -> None:
    before = {mart: _mart(engines.spark_env, mart) for mart in MARTS[:2]}
    again = _cli(["run", "--as-of", AS_OF], engines.spark_env)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-5000:]
    assert {mart: _mart(engines.spark_env, mart) for mart in MARTS[:2]} == before
    _, events = sql_rows(engines.spark_env, "select count(*), count(distinct event_id) from umami_raw.events")
    copies, distinct = map(int, events[0])
    assert copies > distinct  # the lake holds both loads' copies; the marts count each event once
    _, publications = sql_rows(engines.spark_env, "select count(*) from analytics.mart_publications")
    assert publications == [("2",)]
    versions = {p.name for p in (engines.home / "spark" / "warehouse" / "analytics.db").iterdir()}
    tables = [mart for mart in MARTS if mart != "operator_course_metrics"]  # a view over the published tables
    assert {f"{mart}__v2" for mart in tables} <= versions
    assert not any(name.endswith("__v1") for name in versions)
