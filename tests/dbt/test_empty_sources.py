"""A warehouse before its first load: no raw table exists yet, and the whole build still passes.

dlt creates a raw table only when rows of its kind arrive (a site with no events yet, a run that
rejected nothing), so every staging model must read a missing raw table as empty, on every
supported server (PostgreSQL 15 rejects a subquery in FROM without an alias; 16 accepts it).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from flows.warehouse import Warehouse
from tests.dbt.conftest import BUILD_VARS
from tests.dbt.run_helpers import dbt

pytestmark = pytest.mark.pg_matrix

RAW_TABLES = ("events", "sessions", "window_stats", "window_property_values", "rejected_rows", "sync_runs")
STAGING = {
    "events": ["stg_umami__events", "stg_umami__event_properties"],
    "sessions": ["stg_umami__sessions"],
    "window_stats": ["stg_umami__window_stats"],
    "window_property_values": ["stg_umami__window_property_values"],
    "rejected_rows": ["stg_umami__rejected_rows"],
    "sync_runs": ["stg_umami__sync_runs"],
}


def _count(warehouse: Warehouse, relation: str) -> int:
    with warehouse.connect() as conn, conn.cursor() as cur:
        cur.execute(f"select count(*) from {relation}")
        return cur.fetchone()[0]


def test_build_and_publish_before_any_raw_table_exists(make_database: Callable[[str], Warehouse]) -> None:
    warehouse = make_database("dbt_empty_sources")
    with warehouse.connect() as conn, conn.cursor() as cur:
        cur.execute("select count(*) from information_schema.tables where table_schema = 'umami_raw'")
        assert cur.fetchone()[0] == 0

    outcome = dbt(warehouse, ["build"], dbt_vars=BUILD_VARS)
    assert outcome.success, [f"{r['unique_id']}: {r['message']}" for r in outcome.failures()]
    assert set(STAGING) == set(RAW_TABLES)
    for table, models in STAGING.items():
        for model in models:
            assert _count(warehouse, f"analytics_build.{model}") == 0, (table, model)
    assert _count(warehouse, "analytics_build.analytics_course_window_stats") == 0
    assert _count(warehouse, "analytics_build.tracking_event") == 0

    dbt(
        warehouse,
        ["run-operation", "publish_marts", "--args", '{"rebuild_from_date": "2026-11-17"}'],
        dbt_vars=BUILD_VARS,
        raise_on_failure=True,
    )
    assert _count(warehouse, "analytics.operator_course_metrics") == 0
