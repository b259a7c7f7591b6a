"""Fixtures of the tracking marts' tests: a database with raw events, built once per module."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import pytest

from flows.dbt import DbtOutcome, run_dbt
from flows.warehouse import Warehouse
from tests.dbt.raw_umami import create_raw_tables, insert_rows
from tests.dbt.run_helpers import window_vars
from tests.dbt_tracking import tracking_data as td

# The tracking models, the staging models and seed they read, and the tests of those only
# (the course marts are built and tested by their own suite).
TRACKING_SELECTION = ["--select", "+tag:tracking", "--indirect-selection", "buildable"]
BUILD_VARS = {
    **window_vars(td.AS_OF.isoformat(), "2026-11-20T00:05:00+00:00"),
    # wide enough for the dimension to hold 2024-12-30 and 2026-01-01 (data: 2026-10-11 .. 11-20)
    "date_dimension_margin_days": 700,
}


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
def tracking_build(database_factory_module, home_dir) -> TrackingBuild:
    """The contract dataset's custom events plus the planted ones, built with as_of 2026-11-19T23:59:59Z."""
    dataset, rows, ids_by_seq = td.dataset_rows()
    planted = td.planted_raw_rows()
    warehouse = database_factory_module("marts")
    with warehouse.connect() as conn:
        create_raw_tables(conn)
        insert_rows(conn, "events", rows["events"] + planted["events"])
        insert_rows(conn, "sessions", rows["sessions"] + planted["sessions"])
    outcome, seconds = build(warehouse, BUILD_VARS)
    return TrackingBuild(
        warehouse=warehouse,
        outcome=outcome,
        build_seconds=seconds,
        dataset=dataset,
        expected=td.expected_from_dataset(dataset, ids_by_seq),
        raw_event_ids={e["event_id"] for e in rows["events"] + planted["events"]},
    )
