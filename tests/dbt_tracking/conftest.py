"""Fixtures of the tracking marts' tests: a database with raw events, built once per module."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg2
import pytest

from flows.dbt import DbtOutcome, run_dbt
from flows.pgserver import LocalPostgres
from flows.warehouse import Warehouse
from tests.dbt.raw_umami import create_raw_tables, insert_rows
from tests.dbt_tracking import tracking_data as td

# The tracking models, the staging models and seed they read, and the tests of those only
# (the course marts are built and tested by their own suite).
TRACKING_SELECTION = ["--select", "+tag:tracking", "--indirect-selection", "buildable"]
BUILD_VARS = {
    "as_of": td.AS_OF.isoformat(),
    "sync_time": "2026-11-20T00:05:00+00:00",
    # wide enough for the dimension to hold 2024-12-30 and 2026-01-01 (data: 2026-10-11 .. 11-20)
    "date_dimension_margin_days": 700,
}


@contextlib.contextmanager
def scratch_database(server: LocalPostgres, name: str) -> Iterator[Warehouse]:
    admin_dsn = server.start().dsn
    conn = psycopg2.connect(admin_dsn)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(f'drop database if exists "{name}" with (force)')
            cur.execute(f'create database "{name}"')
        yield Warehouse(admin_dsn.rsplit("/", 1)[0] + "/" + name)
    finally:
        with conn.cursor() as cur:
            cur.execute(f'drop database if exists "{name}" with (force)')
        conn.close()


# Build the tables only: skip data and unit tests where a test needs the relations, not their checks.
WITHOUT_TESTS = ["--exclude-resource-type", "test", "--exclude-resource-type", "unit_test"]


def build(warehouse: Warehouse, dbt_vars: dict[str, Any], *extra: str, tests: bool = True) -> tuple[DbtOutcome, float]:
    """`dbt build` of the tracking models (raises on any error or failing test); and its duration."""
    started = time.monotonic()
    args = ["build", *TRACKING_SELECTION, *extra, *([] if tests else WITHOUT_TESTS)]
    outcome = run_dbt(warehouse, args, dbt_vars=dbt_vars)
    return outcome, time.monotonic() - started


def query(warehouse: Warehouse, statement: str, params: Any = None) -> list[dict[str, Any]]:
    with warehouse.connect() as conn, conn.cursor() as cur:
        cur.execute(statement, params)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


@dataclass
class TrackingBuild:
    warehouse: Warehouse
    outcome: DbtOutcome
    build_seconds: float
    dataset: dict[str, Any]
    expected: td.Expected
    raw_event_ids: set[str]

    def query(self, statement: str, params: Any = None) -> list[dict[str, Any]]:
        return query(self.warehouse, statement, params)


@pytest.fixture(scope="module")
def tracking_build(postgres_server: LocalPostgres, home_dir) -> Iterator[TrackingBuild]:
    """The contract dataset's custom events plus the planted ones, built with as_of 2026-11-19T23:59:59Z."""
    dataset, rows, ids_by_seq = td.dataset_rows()
    planted = td.planted_raw_rows()
    with scratch_database(postgres_server, "t_tracking_marts") as warehouse:
        with warehouse.connect() as conn:
            create_raw_tables(conn)
            insert_rows(conn, "events", rows["events"] + planted["events"])
            insert_rows(conn, "sessions", rows["sessions"] + planted["sessions"])
        outcome, seconds = build(warehouse, BUILD_VARS)
        yield TrackingBuild(
            warehouse=warehouse,
            outcome=outcome,
            build_seconds=seconds,
            dataset=dataset,
            expected=td.expected_from_dataset(dataset, ids_by_seq),
            raw_event_ids={e["event_id"] for e in rows["events"] + planted["events"]},
        )
