"""The same pipeline on Spark, in the contract dataset's two-phase late-arrival run, on a
standalone Spark cluster (raw parquet in a lake folder, dbt-spark, publish) and on PostgreSQL:
phase 1 sends the dataset but its three late arrivals (seq 76-78) and runs `course-analytics run`
on both engines; phase 2 sends the late arrivals and runs both again, as the hourly schedule
would: Umami's closed 30-day window now counts an event older than the 3-day lookback, a data
test names it, the run fails and publishes nothing; a `--full-refresh` run then reads everything.
After phase 1 and after the refresh every published mart on Spark equals PostgreSQL's row for row
(all columns but the run's own timestamps), and the course marts equal the oracle's.

The marts are read back with `course-analytics sql` on both engines, as an analyst would: all of
them in one query per engine and phase (each `course-analytics` call on Spark is one
application, about 20 s to start), every field cast to the same text on both.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pyarrow.dataset
import pytest
import yaml

from flows.spark import ClusterState
from flows.warehouse import Warehouse
from tests import oracle
from tests.contract_site import cli_environment
from tests.dbt.run_helpers import window_vars
from tests.spark.marts import AS_OF, MARTS, RUN_TIMESTAMPS, Marts, mart_columns, read_marts, run_cli
from umami_sim import UmamiSimulator

DATASET = oracle.load_json("dataset.json")
LATE = {76, 77, 78}  # the dataset's late arrivals, sent in phase 2; 76 and 78 are 38 and 20 days old
PHASES = ("phase1", "refreshed")  # the phases whose runs succeed and publish
SECRET = "Planted-Secret-5b2d-spark"


@dataclass
class Engines:
    spark_env: dict[str, str]
    postgres_env: dict[str, str]
    runs: dict[str, list[subprocess.CompletedProcess]]  # engine -> its three runs (phase 1, late, refreshed)
    home: Path
    columns: dict[str, list[tuple[str, str]]]  # mart -> [(column, PostgreSQL data type)], run timestamps left out
    spark_marts: dict[str, Marts]  # phase -> the published marts after it
    postgres_marts: dict[str, Marts]
    lake_counts: tuple[int, int, int]  # at the end: raw event copies, distinct event ids, publications
    postgres_raw_events: int  # rows of umami_raw.events on PostgreSQL at the end

    @property
    def spark_output(self) -> str:
        return "".join(run.stdout + run.stderr for run in self.runs["spark"])


def _payloads(seqs: set[int], keep: bool) -> dict:
    """The contract dataset with only (keep) or without (not keep) the payloads of ``seqs``."""
    return {**DATASET, "payloads": [p for p in DATASET["payloads"] if (p["seq"] in seqs) == keep]}


@pytest.fixture(scope="module")
def engines(spark_cluster: ClusterState, database_factory_module, tmp_path_factory) -> Iterator[Engines]:
    warehouse: Warehouse = database_factory_module("spark_twin")
    home = tmp_path_factory.mktemp("spark-home")
    pg_home = tmp_path_factory.mktemp("pg-home")
    with UmamiSimulator(password=SECRET) as sim:
        website = sim.create_website("umami-contract", "course.example.com")
        site = cli_environment(sim, website)
        envs = {
            "spark": {
                **site,
                "WAREHOUSE_ENGINE": "spark",
                "SPARK_MASTER": spark_cluster.master_url,
                "LAKE_URL": str(home / "lake"),
                "COURSE_ANALYTICS_HOME": str(home),
            },
            "postgres": {**site, "WAREHOUSE_DSN": warehouse.dsn, "COURSE_ANALYTICS_HOME": str(pg_home)},
        }
        outputs: dict[str, list[subprocess.CompletedProcess]] = {"spark": [], "postgres": []}
        marts: dict[str, dict[str, Marts]] = {"spark": {}, "postgres": {}}
        kept: dict[str, list[tuple[str, str]]] = {}
        columns: dict[str, list[tuple[str, str]]] = {}
        # the lake's copies, read in the last phase's `sql` call on Spark beside the marts
        lake = (
            "select 'extra' as mart, concat_ws(chr(31), cast(count(*) as string), "
            "cast(count(distinct event_id) as string), "
            "cast((select count(*) from analytics.mart_publications) as string)) as fields from umami_raw.events"
        )
        counts: list[str] = []
        for phase, payloads, options in (
            ("phase1", _payloads(LATE, keep=False), []),
            ("late", _payloads(LATE, keep=True), []),
            ("refreshed", None, ["--full-refresh"]),
        ):
            if payloads is not None:
                assert all(answer["status"] == 200 for answer in sim.send_dataset(payloads, website))
            for engine, env in envs.items():
                result = run_cli(["run", "--as-of", AS_OF, *options], env)
                outputs[engine].append(result)
                if phase != "late":
                    assert result.returncode == 0, f"{phase}, {engine}: {result.stdout[-3000:]}{result.stderr[-5000:]}"
            if not columns:  # the published tables' columns, as PostgreSQL's catalog has them
                columns = mart_columns(warehouse)
                kept = {m: [(c, t) for c, t in cols if c not in RUN_TIMESTAMPS] for m, cols in columns.items()}
            for engine, env in envs.items():
                if engine == "spark" and phase == "late":
                    continue  # one application less: the publication versions show that nothing changed
                extra = lake if engine == "spark" and phase == "refreshed" else ""
                marts[engine][phase], found = read_marts(env, engine, kept, extra=extra)
                counts = found or counts
        copies, distinct, publications = map(int, counts)
        with warehouse.connect() as conn, conn.cursor() as cur:
            cur.execute("select count(*) from umami_raw.events")
            (postgres_raw_events,) = cur.fetchone()
        yield Engines(
            envs["spark"],
            envs["postgres"],
            outputs,
            home,
            columns,
            marts["spark"],
            marts["postgres"],
            (copies, distinct, publications),
            postgres_raw_events,
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
    assert "Setting default log level" not in engines.spark_output  # the driver logs errors only
    for path in engines.home.rglob("*"):
        if path.is_file() and path.suffix in (".log", ".json", ".jsonl", ".txt", ".sql"):
            assert SECRET not in path.read_text(errors="replace"), path


@pytest.mark.parametrize("phase", PHASES)
@pytest.mark.parametrize("mart", MARTS)
def test_every_mart_on_spark_equals_postgresql_row_for_row(engines: Engines, mart: str, phase: str) -> None:
    assert sum(engines.postgres_marts[phase][mart][1].values()) > 0
    assert engines.spark_marts[phase][mart][1] == engines.postgres_marts[phase][mart][1]


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


def _fields(marts: Marts, mart: str, wanted: list[str]) -> list[tuple[str, ...]]:
    columns, rows = marts[mart]
    picks = [columns.index(name) for name in wanted]
    return sorted(tuple(row[i] for i in picks) for row in rows.elements())


@pytest.mark.parametrize("phase", PHASES)
def test_spark_daily_and_window_stats_equal_the_oracle(engines: Engines, phase: str) -> None:
    """Phase 1: the dataset without its late arrivals; after the full refresh: all of it.
    (tests/test_oracle.py checks the oracle against the contract's expected.json.)"""
    not_loaded = LATE if phase == "phase1" else set()
    as_of = datetime.fromisoformat(AS_OF)
    expected = oracle.course_marts(_payloads(not_loaded, keep=False), as_of)
    marts = engines.spark_marts[phase]
    daily = _fields(marts, "analytics_course_daily_stats", ["stat_date", "shifu_bid", "visit_count", "visitor_count"])
    assert daily == sorted(
        (day.isoformat(), course, str(visits), str(visitors))
        for (day, course), (visits, visitors) in expected.daily.items()
    )
    window_start = (as_of.date() - timedelta(days=29)).isoformat()
    rows = _fields(
        marts,
        "analytics_course_window_stats",
        ["window_type", "shifu_bid", "visitor_count", "visit_count", "window_start_date", "window_end_date"],
    )
    assert [row[1:] for row in rows if row[0] == "last_30_days"] == sorted(
        (course, str(visitors), str(visits), window_start, "2026-11-19")
        for (window_type, course), (visitors, visits) in expected.windows.items()
        if window_type == "last_30_days"
    )


@pytest.mark.parametrize("engine", ["spark", "postgres"])
def test_late_arrivals_outside_the_lookback_fail_the_hourly_run_and_publish_nothing(
    engines: Engines, engine: str
) -> None:
    """Umami's closed 30-day window counts seq 78 (2026-10-30), which the hourly run's 3-day
    lookback does not re-read: a data test names the gap, the run fails, nothing is published;
    the full refresh then reads the late arrivals and publishes them."""
    late = engines.runs[engine][1]
    assert late.returncode == 1, late.stdout[-2000:]
    assert "assert_no_course_visits_missing_from_closed_umami_windows" in late.stderr.splitlines()[-1]
    marts = engines.spark_marts if engine == "spark" else engines.postgres_marts
    if engine == "postgres":
        assert marts["late"] == marts["phase1"]
    else:  # phase 1 published the __v1 copies, the refresh __v2: the failed run made no __v3 to point at
        published = engines.home / "spark" / "warehouse" / "analytics.db"
        assert not list(published.glob("*__v3"))
        assert engines.lake_counts[2] == 2  # mart_publications: phase 1 and the refresh
    assert marts["refreshed"]["analytics_course_daily_stats"] != marts["phase1"]["analytics_course_daily_stats"]


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
        result = run_cli(["status"], env, timeout=300)
        assert result.returncode == 0, result.stderr[-3000:]
        assert "last successful load: Umami" in result.stdout and "(3 loads)" in result.stdout
        assert "last run: success (all), finished 20" in result.stdout
        tables[name] = _status_marts(result.stdout)
    for mart in MARTS:
        rows = sum(engines.postgres_marts["refreshed"][mart][1].values())
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
        result = run_cli(["report", "--out", str(tmp_path / f"{name}.html")], env, timeout=300)
        assert result.returncode == 0, result.stderr[-3000:]
        pages[name] = (tmp_path / f"{name}.html").read_text()
    for table in ("windows-table", "reconciliation-table"):
        assert _table(pages["spark"], table) == _table(pages["postgres"], table)
    assert "shifu-gamma" in _table(pages["spark"], "windows-table")  # the report's own test is in tests/analyst


def test_the_lake_holds_every_loads_copies_and_two_versions_were_published(engines: Engines) -> None:
    copies, distinct, publications = engines.lake_counts
    # the lake holds the three loads' copies; the marts count each event once
    assert copies > distinct
    assert distinct == engines.postgres_raw_events  # PostgreSQL merges its loads on event_id
    assert publications == 2  # phase 1 and the refresh; the failed run published nothing
    versions = {p.name for p in (engines.home / "spark" / "warehouse" / "analytics.db").iterdir()}
    tables = [mart for mart in MARTS if mart != "operator_course_metrics"]  # a view over the published tables
    assert {f"{mart}__v2" for mart in tables} <= versions
    assert not any(name.endswith("__v1") for name in versions)


# dbt's unit tests in one dbt invocation on Spark, in this repository's own code path (run_dbt),
# against the tables the runs above built (dbt reads each input's columns from them)
UNIT_TESTS = """
import json, sys
from flows.dbt import run_dbt
from flows.warehouse import open_warehouse
with open_warehouse() as warehouse:
    outcome = run_dbt(warehouse, ["test", "--select", "test_type:unit"], dbt_vars=json.loads(sys.argv[1]),
                      raise_on_failure=False)
print(json.dumps(outcome.results))
"""


def test_dbt_unit_tests_pass_on_spark(engines: Engines) -> None:
    """All of dbt_project's unit tests (their `this` fixtures in SQL name each engine's types)."""
    dbt_vars = json.dumps(window_vars(AS_OF, "2026-11-20T00:05:00Z"))
    result = subprocess.run(
        [sys.executable, "-c", UNIT_TESTS, dbt_vars],
        env=engines.spark_env,
        capture_output=True,
        text=True,
        timeout=900,
        cwd="/",
    )
    assert result.returncode == 0, result.stderr[-5000:]
    results = json.loads(result.stdout.strip().splitlines()[-1])
    statuses = {r["unique_id"]: r["status"] for r in results if r["unique_id"].startswith("unit_test.")}
    defined = sum(
        len(yaml.safe_load(path.read_text()).get("unit_tests") or [])
        for path in (Path(__file__).parents[2] / "dbt_project" / "models").rglob("*.yml")
    )
    assert len(statuses) == defined and defined >= 18
    failed = [r for r in results if r["unique_id"] in statuses and r["status"] != "pass"]
    assert not failed, [(r["unique_id"], r["message"]) for r in failed]
