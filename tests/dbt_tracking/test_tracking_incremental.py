"""Incremental runs of the tracking marts agree with a full refresh.

Run 1 builds everything up to 2026-11-17T23:59:59Z. Late events then arrive in the raw table
(client timestamps in the past, inside the lookback), among them a daily_login earlier on a
Shanghai day that already has one, and events between 16:00 and 24:00 UTC of 2026-11-16, which
belong to Shanghai day 2026-11-17. Run 2 is incremental (as_of 2026-11-19T23:59:59Z,
rebuild_from_date 2026-11-17): it must rebuild Shanghai day 2026-11-17 from its first instant
(2026-11-16T16:00:00Z), keep the days before untouched, and end equal to run 3, a full refresh.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from flows.dbt import run_dbt
from flows.warehouse import Warehouse
from tests.dbt.raw_umami import WEBSITE_ID, create_raw_tables, insert_rows
from tests.dbt.run_helpers import window_vars
from tests.dbt_tracking import tracking_data as td
from tests.dbt_tracking.conftest import build, query

pytestmark = pytest.mark.pg_matrix

MARTS = td.TRACKING_MARTS
RUN_1 = window_vars("2026-11-17T23:59:59+00:00", "2026-11-18T00:05:00+00:00", "2026-11-15")
RUN_2 = window_vars("2026-11-19T23:59:59+00:00", "2026-11-20T00:05:00+00:00", "2026-11-17")


def _event(event_id: str, name: str, session_id: str, at: str, data: dict[str, Any] | None = None) -> dict:
    return {
        "event_id": event_id,
        "website_id": WEBSITE_ID,
        "session_id": session_id,
        "event_name": name,
        "created_at": datetime.fromisoformat(at),
        "url_path": "/",
        "has_data": bool(data),
        "properties": td.encode_properties(data),
        "loaded_at": td.LOADED_AT,
    }


# loaded before run 1 (on top of the contract dataset)
EARLY = [
    _event("inc-shanghai-1117-early", "auth_me_view", "trk-s-u9001", "2026-11-16T20:00:00+00:00", {"status": 200}),
    _event("inc-login-a", "daily_login", "trk-s-u9001", "2026-11-17T01:00:00+00:00"),
    _event("inc-old-day", "auth_me_view", "trk-s-u9001", "2026-11-16T15:59:59+00:00", {"status": 200}),
]
# loaded after run 1, inside the lookback
LATE = [
    _event("inc-login-b", "daily_login", "trk-s-u9001", "2026-11-16T17:00:00+00:00"),  # earlier, same Shanghai day
    _event(
        "inc-late-play",
        "work_play_start",
        "trk-s-u9003",
        "2026-11-17T05:00:00+00:00",
        {"workId": "w-0001", "playType": "full"},
    ),
    _event("inc-late-admin", "auth_me_view", "trk-s-u9001", "2026-11-18T05:00:00+00:00", {"route": "/admin/x"}),
]


def _snapshot(warehouse: Warehouse) -> dict[str, list[tuple]]:
    """Every mart's rows without synced_at (which records the run), sorted."""
    out = {}
    for relation in MARTS:
        rows = query(warehouse, f'select * from analytics_build."{relation}"')
        out[relation] = sorted(tuple(sorted((k, str(v)) for k, v in r.items() if k != "synced_at")) for r in rows)
    return out


@pytest.fixture(scope="module")
def runs(database_factory_module, home_dir) -> dict[str, Any]:
    _, rows, _ = td.dataset_rows()
    planted = td.planted_raw_rows()
    warehouse = database_factory_module("incremental")
    with warehouse.connect() as conn:
        create_raw_tables(conn)
        insert_rows(conn, "events", rows["events"] + EARLY)
        insert_rows(conn, "sessions", rows["sessions"] + planted["sessions"])
    _, first_seconds = build(warehouse, RUN_1, tests=False)
    before = {r["event_id"]: r for r in query(warehouse, "select * from analytics_build.tracking_event")}
    with warehouse.connect() as conn:
        insert_rows(conn, "events", LATE)
    # the data tests check what the incremental run wrote; unit tests ran in the other module
    _, incremental_seconds = build(warehouse, RUN_2, "--exclude-resource-type", "unit_test")
    incremental = _snapshot(warehouse)
    after = {r["event_id"]: r for r in query(warehouse, "select * from analytics_build.tracking_event")}
    _, full_seconds = build(warehouse, RUN_2, "--full-refresh", tests=False)
    return {
        "warehouse": warehouse,
        "before": before,
        "after": after,
        "incremental": incremental,
        "full_refresh": _snapshot(warehouse),
        "seconds": {"first": first_seconds, "incremental": incremental_seconds, "full": full_seconds},
    }


def test_incremental_run_equals_full_refresh(runs: dict[str, Any]) -> None:
    for relation in MARTS:
        assert runs["incremental"][relation], f"{relation} is empty: the comparison would prove nothing"
        assert runs["incremental"][relation] == runs["full_refresh"][relation], relation


def test_incremental_run_rebuilds_from_the_first_instant_of_the_shanghai_day(runs: dict[str, Any]) -> None:
    before, after = runs["before"], runs["after"]
    # loaded before run 1, Shanghai day 2026-11-17 (16:00-24:00 UTC of 11-16): still there after run 2
    assert "inc-shanghai-1117-early" in after
    assert str(after["inc-shanghai-1117-early"]["day_key"]) == "2026-11-17"
    # the days before the rebuilt range are untouched (run 1's sync_time)
    assert after["inc-old-day"]["synced_at"] == before["inc-old-day"]["synced_at"]
    assert after["inc-old-day"]["synced_at"] == datetime(2026, 11, 18, 0, 5, tzinfo=UTC)
    assert after["inc-shanghai-1117-early"]["synced_at"] == datetime(2026, 11, 20, 0, 5, tzinfo=UTC)
    # the late play is in, the late admin route is not
    assert "inc-late-play" in after and "inc-late-admin" not in after


def test_late_earlier_daily_login_takes_over_the_days_fact(runs: dict[str, Any]) -> None:
    event_id = "daily-login:u-9001:2026-11-17"
    assert runs["before"][event_id]["source_event_id"] == "inc-login-a"
    assert runs["after"][event_id]["source_event_id"] == "inc-login-b"
    [duplicate] = query(
        runs["warehouse"],
        "select * from analytics_build.tracking_event_exclusion where source_event_id = 'inc-login-a'",
    )
    assert duplicate["exclusion_reason"] == "duplicate_daily_login"
    assert duplicate["duplicate_of_event_id"] == event_id


def _accounting_status(warehouse: Warehouse, dbt_vars: dict[str, Any]) -> str:
    outcome = run_dbt(
        warehouse,
        ["test", "--select", "assert_tracking_loaded_events_all_accounted_for"],
        dbt_vars=dbt_vars,
        raise_on_failure=False,
    )
    [status] = [r["status"] for r in outcome.results if r["unique_id"].startswith("test.")]
    return status


def test_accounting_checks_the_days_the_run_rebuilt_or_every_day_on_request(runs: dict[str, Any]) -> None:
    """The hourly check reads the days the run rebuilt; tracking_test_all_rows reads the whole history.

    Runs last: an incremental run (new sync_time) rebuilds from 2026-11-17 (Shanghai); then raw
    events that no mart holds are planted, one on an earlier day, one on a rebuilt day.
    """
    warehouse = runs["warehouse"]
    run_3 = {**RUN_2, "sync_time": "2026-11-20T01:05:00+00:00"}
    build(warehouse, run_3, tests=False)
    old = _event("acct-old-day", "auth_me_view", "trk-s-u9001", "2026-11-10T08:00:00+00:00", {"status": 200})
    rebuilt = _event("acct-rebuilt-day", "auth_me_view", "trk-s-u9001", "2026-11-18T08:00:00+00:00", {"status": 200})
    try:
        assert _accounting_status(warehouse, run_3) == "pass"
        with warehouse.connect() as conn:
            insert_rows(conn, "events", [old])
        assert _accounting_status(warehouse, run_3) == "pass"  # a day this run did not rebuild
        assert _accounting_status(warehouse, {**run_3, "tracking_test_all_rows": True}) == "fail"
        with warehouse.connect() as conn:
            insert_rows(conn, "events", [rebuilt])
        assert _accounting_status(warehouse, run_3) == "fail"
    finally:
        with warehouse.connect() as conn, conn.cursor() as cur:
            cur.execute("delete from umami_raw.events where event_id like 'acct-%%'")
