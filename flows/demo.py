"""``course-analytics demo``: the whole pipeline on this machine, with no configuration.

A local Umami-compatible server gets a month of generated learner traffic; the embedded
PostgreSQL gets a fresh ``course_analytics_demo`` database (or, with ``--engine spark``, a local
standalone Spark cluster gets a fresh lake and metastore under ``<data dir>/demo-spark``); the
Prefect flow runs once; the top courses by Visitors (30d) are printed and the report is written.
Nothing is left running.
"""

from __future__ import annotations

import secrets
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg2
from psycopg2 import sql

from flows import paths
from flows.environment import scoped_environment
from flows.report import default_path, write_report
from flows.warehouse import MARTS_SCHEMA, Warehouse, embedded_server, open_warehouse

DEMO_DATABASE = "course_analytics_demo"
DEMO_SEED = 20261121


@dataclass(frozen=True)
class DemoTraffic:
    users: int = 300
    courses: int = 36
    days: int = 35


def reference_time(now: datetime | None = None) -> datetime:
    """The end of the generated traffic: the start of the current UTC hour."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return moment.replace(minute=0, second=0, microsecond=0)


def _recreate_database(admin_dsn: str, name: str) -> str:
    conn = psycopg2.connect(admin_dsn)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
            cur.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    finally:
        conn.close()
    return admin_dsn.rsplit("/", 1)[0] + "/" + name


def top_courses(warehouse: Warehouse, limit: int = 10) -> list[tuple[str, int]]:
    """The courses with the most Visitors (30d), ties by course id (in Python: the same on every engine)."""
    _, rows = warehouse.query(f"select shifu_bid, visit_count_30d from {MARTS_SCHEMA}.operator_course_metrics")
    return sorted(((str(c), int(n)) for c, n in rows), key=lambda r: (-r[1], r[0]))[:limit]


@dataclass
class _DemoWarehouse:
    """Where the demo's sync writes: its settings for the run and what to tell the user after."""

    settings: dict[str, str | None]
    hints: list[str]


@contextmanager
def _postgres_demo(demo_home: Path) -> Iterator[_DemoWarehouse]:
    """A fresh database on the embedded PostgreSQL, stopped at the end if the demo started it."""
    server = embedded_server()
    info = server.start()
    try:
        dsn = _recreate_database(info.dsn, DEMO_DATABASE)
        display = Warehouse(dsn).display
        yield _DemoWarehouse(
            {"WAREHOUSE_DSN": dsn, "WAREHOUSE_ENGINE": None},
            [
                f"warehouse: {display} (embedded PostgreSQL, data in {info.data_dir})",
                "query it with psql (the demo stops the server when it ends):",
                "  .venv/bin/course-analytics warehouse start",
                f"  psql '{dsn}' -c 'select shifu_bid, visit_count_30d from analytics.operator_course_metrics "
                "order by 2 desc limit 10'",
            ],
        )
    finally:
        if info.started_here:
            server.stop()


@contextmanager
def _spark_demo(demo_home: Path) -> Iterator[_DemoWarehouse]:
    """A fresh lake and metastore under the demo's home, on a local standalone cluster (stopped at the end)."""
    from flows.spark import SparkCluster

    for folder in ("lake", "spark", "dlt", "dbt"):  # the previous Spark demo's data: only the demo's own folders
        shutil.rmtree(demo_home / folder, ignore_errors=True)
    cluster = SparkCluster(demo_home / "spark" / "cluster")
    state, _ = cluster.start()
    lake = demo_home / "lake"
    try:
        yield _DemoWarehouse(
            {
                "WAREHOUSE_ENGINE": "spark",
                "SPARK_MASTER": state.master_url,
                "LAKE_URL": str(lake),
                "WAREHOUSE_DSN": None,
            },
            [
                f"warehouse: Spark cluster {state.master_url} (stopped when the demo ends), raw parquet in {lake}",
                "query it (a local Spark is enough to read it):",
                f"  WAREHOUSE_ENGINE=spark SPARK_MASTER='local[2]' LAKE_URL={lake} COURSE_ANALYTICS_HOME={demo_home} "
                ".venv/bin/course-analytics sql 'select shifu_bid, visit_count_30d "
                "from analytics.operator_course_metrics order by 2 desc limit 10'",
            ],
        )
    finally:
        cluster.stop()


ENGINES = {"postgres": _postgres_demo, "spark": _spark_demo}


def run_demo(
    echo: Callable[[str], None], traffic: DemoTraffic | None = None, engine: str = "postgres"
) -> list[tuple[str, int]]:
    """Run the demo end to end on ``engine`` (postgres or spark); returns the printed top courses."""
    from flows.flow import course_analytics_sync
    from umami_sim import TrafficSpec, UmamiSimulator, generate

    traffic = traffic or DemoTraffic()
    started = time.monotonic()
    reference = reference_time()
    demo_home = paths.data_dir() / ("demo" if engine == "postgres" else f"demo-{engine}")
    with ENGINES[engine](demo_home) as target:
        # A throw-away random password: "umami", the simulator's default, is too weak a secret (the
        # run would warn about it and mask the word wherever it stands alone).
        with UmamiSimulator(seed=DEMO_SEED, password=secrets.token_urlsafe(12)) as sim:
            website = sim.create_website("course-analytics demo", "course.example.com")
            spec = TrafficSpec(
                seed=DEMO_SEED,
                users=traffic.users,
                courses=traffic.courses,
                days=traffic.days,
                reference_time=reference.strftime("%Y-%m-%dT%H:%M:%SZ"),
            )
            dataset = generate(spec)
            echo(f"Umami simulator at {sim.base_url}: sending {len(dataset['payloads'])} generated events ...")
            sim.send_dataset(dataset, website)
            echo(f"reference time (end of the generated traffic): {spec.reference_time}")
            demo_settings = {
                "UMAMI_API_URL": sim.base_url,
                "UMAMI_WEBSITE_ID": website,
                "UMAMI_USERNAME": sim.username,
                "UMAMI_PASSWORD": sim.password,
                "UMAMI_API_KEY": None,
                "COURSE_ANALYTICS_HOME": str(demo_home),  # the demo's own dlt state and dbt target
                **target.settings,
            }
            with scoped_environment(demo_settings):
                report = course_analytics_sync(
                    as_of=reference - timedelta(seconds=1), start_date=(reference - timedelta(days=60)).date()
                )
        with scoped_environment(demo_settings), open_warehouse() as warehouse:
            rows = top_courses(warehouse)
            report_path = write_report(warehouse, default_path())
        loaded = ", ".join(f"{table} {rows}" for table, rows in report["rows_loaded"].items())
        echo(f"rows loaded: {loaded}; dbt: {report['dbt']}")
        for hint in target.hints:
            echo(hint)
        echo(f"demo finished in {time.monotonic() - started:.0f}s")
        echo("")
        echo(f"Top courses by 近30天访问人数 / Visitors (30d), as of {report['as_of']}:")
        width = max([len("course (shifu_bid)")] + [len(c) for c, _ in rows])
        echo(f"  {'course (shifu_bid)':<{width}}  Visitors (30d)")
        for course, visitors in rows:
            echo(f"  {course:<{width}}  {visitors:>14}")
        echo("")
        echo(f"report (open it in a browser): {report_path}")
        return rows
