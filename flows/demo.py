"""``course-analytics demo``: the whole pipeline on this machine, with no configuration.

A local Umami-compatible server gets a month of generated learner traffic; the embedded
PostgreSQL gets a fresh ``course_analytics_demo`` database; the Prefect flow runs once; the top
courses by Visitors (30d) are printed. Nothing is left running.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg2
from psycopg2 import sql

from flows import paths
from flows.environment import scoped_environment
from flows.report import default_path, write_report
from flows.warehouse import MARTS_SCHEMA, Warehouse, embedded_server

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
    with warehouse.connect() as conn, conn.cursor() as cur:
        cur.execute(
            sql.SQL(
                "select shifu_bid, visit_count_30d from {}.operator_course_metrics "
                "order by visit_count_30d desc, shifu_bid limit %s"
            ).format(sql.Identifier(MARTS_SCHEMA)),
            (limit,),
        )
        return cur.fetchall()


def run_demo(echo: Callable[[str], None], traffic: DemoTraffic | None = None) -> list[tuple[str, int]]:
    """Run the demo end to end; returns the printed top courses."""
    from flows.flow import course_analytics_sync
    from umami_sim import TrafficSpec, UmamiSimulator, generate

    traffic = traffic or DemoTraffic()
    started = time.monotonic()
    reference = reference_time()
    server = embedded_server()
    info = server.start()
    try:
        dsn = _recreate_database(info.dsn, DEMO_DATABASE)
        demo_home = paths.data_dir() / "demo"
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
                "WAREHOUSE_DSN": dsn,
                "COURSE_ANALYTICS_HOME": str(demo_home),  # the demo's own dlt state and dbt target
            }
            with scoped_environment(demo_settings):
                report = course_analytics_sync(
                    as_of=reference - timedelta(seconds=1), start_date=(reference - timedelta(days=60)).date()
                )
        warehouse = Warehouse(dsn)
        rows = top_courses(warehouse)
        with scoped_environment({"COURSE_ANALYTICS_HOME": str(demo_home)}):
            report_path = write_report(warehouse, default_path())
        echo("")
        echo(f"Top courses by 近30天访问人数 / Visitors (30d), as of {report['as_of']}:")
        width = max([len("course (shifu_bid)")] + [len(c) for c, _ in rows])
        echo(f"  {'course (shifu_bid)':<{width}}  Visitors (30d)")
        for course, visitors in rows:
            echo(f"  {course:<{width}}  {visitors:>14}")
        echo("")
        loaded = ", ".join(f"{table} {rows}" for table, rows in report["rows_loaded"].items())
        echo(f"rows loaded: {loaded}; dbt: {report['dbt']}")
        echo(f"warehouse: {warehouse.display} (embedded PostgreSQL, data in {info.data_dir})")
        echo("query it with psql (the demo stops the server when it ends):")
        echo("  .venv/bin/course-analytics warehouse start")
        echo(
            f"  psql '{dsn}' -c 'select shifu_bid, visit_count_30d from analytics.operator_course_metrics "
            "order by 2 desc limit 10'"
        )
        echo(f"report (open it in a browser): {report_path}")
        echo(f"demo finished in {time.monotonic() - started:.0f}s")
        return rows
    finally:
        if info.started_here:
            server.stop()
