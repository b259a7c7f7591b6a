"""A site with no events yet: the first load creates every raw table, empty, and the whole build
and publication pass on them, on every supported server.

dlt creates a table only for a resource that yields something, so the loader materializes each
raw table's schema on every run (``dlt.mark.materialize_table_schema``): the staging models read
plain sources, with no stand-in for a missing table.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest

from flows import sync
from flows.settings import UmamiSettings
from flows.warehouse import Warehouse
from loader.pipeline import RAW_TABLES
from tests.dbt.conftest import AS_OF, BUILD_VARS
from tests.dbt.run_helpers import dbt, publish
from umami_sim import UmamiSimulator

pytestmark = pytest.mark.pg_matrix

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


def test_a_site_without_events_loads_builds_and_publishes(make_database: Callable[[str], Warehouse], home_dir) -> None:
    warehouse = make_database("dbt_empty_sources")
    with UmamiSimulator() as sim:
        website = sim.create_website("no traffic yet", "course.example.com")
        umami = UmamiSettings(sim.base_url, website, username=sim.username, password=sim.password)
        parameters = sync.SyncParameters(as_of=datetime.fromisoformat(AS_OF))
        window = sync.plan(warehouse, umami, parameters, event_names=("course_visit",))
        loaded = sync.load(warehouse, umami, window)
    assert loaded.report.events == {"course_visit": 0}
    with warehouse.connect() as conn, conn.cursor() as cur:
        cur.execute("select table_name from information_schema.tables where table_schema = 'umami_raw'")
        created = {name for (name,) in cur.fetchall()}
    assert set(RAW_TABLES) <= created  # every raw table, rows or not
    assert set(STAGING) == set(RAW_TABLES)
    for table in ("events", "sessions", "rejected_rows"):
        assert _count(warehouse, f"umami_raw.{table}") == 0, table

    outcome = dbt(warehouse, ["build"], dbt_vars=BUILD_VARS)
    assert outcome.success, [f"{r['unique_id']}: {r['message']}" for r in outcome.failures()]
    for table, models in STAGING.items():
        for model in models:
            expected = _count(warehouse, f"umami_raw.{table}")
            assert _count(warehouse, f"analytics_build.{model}") == expected, (table, model)
    assert _count(warehouse, "analytics_build.stg_umami__sync_runs") == 1
    assert _count(warehouse, "analytics_build.analytics_course_window_stats") == 0
    assert _count(warehouse, "analytics_build.tracking_event") == 0

    publish(warehouse, BUILD_VARS)
    assert _count(warehouse, "analytics.operator_course_metrics") == 0
