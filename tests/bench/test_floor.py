"""bench/floor.sql computes exactly the numbers of the published marts, from the raw tables alone.

One warehouse holds the contract dataset (every course_visit class: guests, previews, missing,
empty and non-string shifu_bid, the event after as-of), the tracking tests' planted events
(sensitive values, admin routes, out-of-scope modules, failed operations, duplicate and guest
daily_logins, work plays) and a few more that tell the course rules from the tracking rules.
It is built with `dbt build` and published once; the floor then runs on it and every row of
its tables must equal the published marts'. When a model's semantics change, this test fails
until floor.sql follows.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import psycopg2
import pytest

from bench import floor
from flows.warehouse import Warehouse
from tests.dbt.raw_umami import WEBSITE_ID, encode_properties, insert_rows, load_contract_dataset
from tests.dbt.run_helpers import dbt, publish, window_vars
from tests.dbt_tracking import tracking_data

AS_OF = datetime(2026, 11, 19, 23, 59, 59, tzinfo=UTC)
BUILD_VARS = window_vars(AS_OF.isoformat(), "2026-11-20T00:05:00+00:00")
LOADED_AT = datetime(2026, 11, 20, 0, 5, tzinfo=UTC)


def _event(event_id: str, name: str, session_id: str, at: str, url_path: str, data: dict) -> dict:
    return {
        "event_id": event_id,
        "website_id": WEBSITE_ID,
        "session_id": session_id,
        "event_name": name,
        "created_at": datetime.fromisoformat(at),
        "url_path": url_path,
        "has_data": True,
        "properties": encode_properties(data),
        "loaded_at": LOADED_AT,
    }


# Where the course marts and the tracking marts decide differently, and the work scope's fallback.
FLOOR_EVENTS = (
    # a phone-like shifu_bid: a countable course visit, but no tracking scope id (missing_scope_id)
    _event("floor-phone-course", "course_visit", "trk-s-u9001", "2026-11-19T09:00:00+00:00", "/c/x", {
        "shifu_bid": "13812345678",
    }),
    # no session row: an unknown_session course visit, a tracking fact without a user
    _event("floor-no-session", "course_visit", "floor-s-missing", "2026-11-19T09:05:00+00:00", "/c/shifu-alpha", {
        "shifu_bid": "shifu-alpha",
    }),
    # the preview flag sent as a string: not countable, a tracking fact
    _event("floor-preview-text", "course_visit", "trk-s-u9003", "2026-11-18T10:00:00+00:00", "/c/shifu-beta", {
        "shifu_bid": "shifu-beta", "preview_mode": "true",
    }),
    # a phone-like profileId: the work scope falls back to workId
    _event("floor-play-fallback", "work_play_start", "trk-s-u9003", "2026-11-19T10:00:00+00:00", "/w/w-fb", {
        "workId": "w-fb", "profileId": "13912345678", "playType": "big-fish",
    }),
    # a business day that starts the UTC day before (16:00 UTC is 00:00 in Shanghai)
    _event("floor-late-visit", "course_visit", "trk-s-u9001", "2026-11-17T16:30:00+00:00", "/c/shifu-alpha", {
        "shifu_bid": "shifu-alpha",
    }),
)  # fmt: skip


@pytest.fixture(scope="module")
def published(make_database: Callable[[str], Warehouse]) -> Warehouse:
    """The contract dataset, the planted tracking events and FLOOR_EVENTS, built and published."""
    warehouse = make_database("bench_floor")
    planted = tracking_data.planted_raw_rows()
    with warehouse.connect() as conn:
        load_contract_dataset(conn, loaded_at=LOADED_AT)
        insert_rows(conn, "events", planted["events"] + list(FLOOR_EVENTS))
        insert_rows(conn, "sessions", planted["sessions"])
    dbt(warehouse, ["build", "--exclude-resource-type", "unit_test"], dbt_vars=BUILD_VARS, raise_on_failure=True)
    publish(warehouse, BUILD_VARS)
    return warehouse


def _count(warehouse: Warehouse, query: str) -> int:
    with warehouse.connect() as conn, conn.cursor() as cur:
        cur.execute(query)
        return cur.fetchone()[0]


def test_floor_equals_the_published_marts(published: Warehouse) -> None:
    seconds = floor.run(published.dsn, AS_OF)
    assert seconds > 0
    assert floor.differences(published.dsn) == []
    # the comparison has rows to compare, and the cases planted above are in them
    for table, _, _ in floor.COMPARED:
        assert _count(published, f"select count(*) from {floor.SCHEMA}.{table}") > 0
    phone_course = "select count(*) from {schema}.{table} where shifu_bid = '13812345678'"
    assert _count(published, phone_course.format(schema=floor.SCHEMA, table="course_daily_stats")) == 1
    assert _count(published, f"select count(*) from {floor.SCHEMA}.tracking_daily_stat where scope_id = 'w-fb'") == 1


def test_the_check_fails_on_any_different_number(published: Warehouse) -> None:
    floor.run(published.dsn, AS_OF)
    floor.check(published.dsn)
    with psycopg2.connect(published.dsn) as conn, conn.cursor() as cur:
        cur.execute(
            f"update {floor.SCHEMA}.tracking_daily_stat set distinct_user_count = distinct_user_count + 1 "
            "where ctid = (select min(ctid) from bench_floor.tracking_daily_stat)"
        )
        cur.execute(f"delete from {floor.SCHEMA}.course_window_stats where window_type = 'last_7_days'")
    with pytest.raises(floor.FloorMismatch) as raised:
        floor.check(published.dsn)
    message = str(raised.value)
    assert f"1 rows in {floor.SCHEMA}.tracking_daily_stat, not in analytics.tracking_daily_stat" in message
    assert f"1 rows in analytics.tracking_daily_stat, not in {floor.SCHEMA}.tracking_daily_stat" in message
    assert f"rows in analytics.analytics_course_window_stats, not in {floor.SCHEMA}.course_window_stats" in message
    assert "course_daily_stats" not in message
    floor.drop(published.dsn)
    assert _count(published, f"select count(*) from pg_namespace where nspname = '{floor.SCHEMA}'") == 0
