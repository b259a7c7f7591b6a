"""Incremental behaviour of the course marts.

Each run rebuilds the UTC dates >= rebuild_from_date (the lookback's: as_of_date - 2): a second run with
no new events changes no created_at/updated_at; new events inside the lookback move only the
affected rows' updated_at; a row whose visits vanished is deleted; --full-refresh then gives
identical keys and counts.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from flows.warehouse import Warehouse
from tests.dbt import raw_umami
from tests.dbt.conftest import AS_OF, load_contract
from tests.dbt.run_helpers import dbt, window_vars

pytestmark = pytest.mark.pg_matrix

DAILY = (
    "select id, stat_date, shifu_bid, visit_count, visitor_count, synced_at, created_at, updated_at "
    "from analytics_build.analytics_course_daily_stats"
)
WINDOWS = (
    "select id, window_type, shifu_bid, visitor_count, visit_count from analytics_build.analytics_course_window_stats"
)


def _rows(warehouse: Warehouse, statement: str) -> dict[tuple, dict]:
    conn = warehouse.connect()
    try:
        rows = raw_umami.query(conn, statement)
    finally:
        conn.close()
    if "stat_date" in rows[0]:
        return {(r["stat_date"].isoformat(), r["shifu_bid"]): r for r in rows}
    return {(r["window_type"], r["shifu_bid"]): r for r in rows}


def _build(warehouse: Warehouse, sync_time: str, *extra: str) -> None:
    # the course marts only: the other marts (tag tracking) are not under test here
    dbt(
        warehouse,
        ["build", "--exclude", "tag:tracking", *extra],
        dbt_vars=window_vars(AS_OF, sync_time),
        raise_on_failure=True,
    )


def test_incremental_runs(make_database: Callable[[str], Warehouse]) -> None:
    warehouse = make_database("dbt_incremental")
    stored = load_contract(warehouse)
    _build(warehouse, "2026-11-20T00:05:00Z")
    first = _rows(warehouse, DAILY)

    # 1. no new events: nothing's created_at/updated_at moves; rebuilt rows get the new sync time
    _build(warehouse, "2026-11-20T01:05:00Z")
    second = _rows(warehouse, DAILY)
    assert second.keys() == first.keys()
    for key, row in second.items():
        assert (row["created_at"], row["updated_at"]) == (first[key]["created_at"], first[key]["updated_at"]), key
        rebuilt = key[0] >= "2026-11-17"
        assert row["synced_at"].isoformat() == ("2026-11-20T01:05:00+00:00" if rebuilt else "2026-11-20T00:05:00+00:00")

    # 2. changes inside the lookback: a repeat visit (count changes), a new course-day, and a
    #    vanished day (its only event, re-loaded, is now a preview)
    user_1 = next(e for e in stored["events"] if e["_seq"] == 70)  # u-0001, shifu-delta, 2026-11-18 20:00
    late_gamma = next(e for e in stored["events"] if e["_seq"] == 77)  # u-0005, shifu-gamma, 2026-11-19 12:00
    new_events = [
        {
            **{k: v for k, v in user_1.items() if not k.startswith("_")},
            "event_id": "new-repeat",
            "created_at": datetime(2026, 11, 18, 21, 0, tzinfo=UTC),
        },
        {
            **{k: v for k, v in user_1.items() if not k.startswith("_")},
            "event_id": "new-course-day",
            "created_at": datetime(2026, 11, 18, 22, 0, tzinfo=UTC),
            "properties": raw_umami.encode_properties({"shifu_bid": "shifu-gamma", "preview_mode": False}),
        },
    ]
    conn = warehouse.connect()
    raw_umami.insert_rows(conn, "events", new_events)
    with conn.cursor() as cur:
        # the loader re-merged the event: it now says preview_mode true, so it no longer counts
        cur.execute(
            "update umami_raw.events set properties = %s where event_id = %s",
            (
                json.dumps(raw_umami.encode_properties({"shifu_bid": "shifu-gamma", "preview_mode": True})),
                late_gamma["event_id"],
            ),
        )
    conn.commit()
    conn.close()

    _build(warehouse, "2026-11-20T02:05:00Z")
    third = _rows(warehouse, DAILY)
    changed = ("2026-11-18", "shifu-delta")
    added = ("2026-11-18", "shifu-gamma")
    vanished = ("2026-11-19", "shifu-gamma")
    assert third.keys() == (second.keys() | {added}) - {vanished}
    assert (third[changed]["visit_count"], third[changed]["visitor_count"]) == (2, 1)
    assert third[changed]["created_at"] == second[changed]["created_at"]
    assert third[changed]["updated_at"] > second[changed]["updated_at"]
    assert third[added]["created_at"] == third[added]["updated_at"] > second[changed]["updated_at"]
    for key, row in third.items():
        if key not in (changed, added):
            assert (row["created_at"], row["updated_at"]) == (second[key]["created_at"], second[key]["updated_at"]), key
    windows_before_refresh = _rows(warehouse, WINDOWS)
    assert windows_before_refresh[("last_7_days", "shifu-delta")]["visit_count"] == 3

    # 3. --full-refresh gives identical keys and counts
    _build(warehouse, "2026-11-20T03:05:00Z", "--full-refresh")
    refreshed = _rows(warehouse, DAILY)
    counts = ("id", "visit_count", "visitor_count")
    assert {k: tuple(r[c] for c in counts) for k, r in refreshed.items()} == {
        k: tuple(r[c] for c in counts) for k, r in third.items()
    }
    assert _rows(warehouse, WINDOWS) == windows_before_refresh
