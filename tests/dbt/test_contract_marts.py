"""The marts reproduce the oracle's expected.json for the Umami contract dataset.

The raw tables hold the dataset the way the loader stores it (tests/dbt/raw_umami.py); dbt
builds with as_of 2026-11-19T23:59:59Z, so the event at exactly reference_time
(2026-11-20T00:00:00Z, seq 74) is ignored by the marts, like the oracle's 30-day window does.
"""

from __future__ import annotations

from datetime import date

import pytest

from tests.dbt.conftest import ContractBuild

pytestmark = pytest.mark.pg_matrix

AS_OF_DATE = "2026-11-19"

# oracle reason -> visit_class. The oracle classifies every payload; the warehouse classifies the
# raw course_visit events only: `not_an_event` (identify calls) and `other_event_name` (pageviews,
# other custom events, `Course_Visit`) never reach int_course_visits_classified.
# `no_shifu_bid` is named `missing_shifu_bid` here. `unknown_session` has no oracle counterpart
# (the oracle knows every sender; the warehouse may lack a session row) and must be 0 here.
ORACLE_TO_VISIT_CLASS = {
    "guest": "guest",
    "preview": "preview",
    "no_shifu_bid": "missing_shifu_bid",
    "shifu_bid_not_a_string": "shifu_bid_not_a_string",
    "empty_shifu_bid": "empty_shifu_bid",
}
NOT_COURSE_VISITS = {"not_an_event", "other_event_name"}


def _daily(build: ContractBuild, schema: str) -> list[dict]:
    rows = build.query(
        f"select stat_date, shifu_bid, visit_count, visitor_count, source from {schema}.analytics_course_daily_stats"
    )
    assert {r.pop("source") for r in rows} == {"umami"}
    return sorted(
        ({**r, "stat_date": r["stat_date"].isoformat()} for r in rows), key=lambda r: (r["stat_date"], r["shifu_bid"])
    )


def test_daily_stats_equal_expected_row_by_row(contract_build: ContractBuild) -> None:
    expected = [r for r in contract_build.stored["expected"]["daily_utc"] if r["stat_date"] <= AS_OF_DATE]
    expected = sorted(expected, key=lambda r: (r["stat_date"], r["shifu_bid"]))
    assert _daily(contract_build, "analytics_build") == expected
    # the published copy is the same
    assert _daily(contract_build, "analytics") == expected
    # the only expected row left out is the one at exactly reference_time (after as_of)
    assert [r["stat_date"] for r in contract_build.stored["expected"]["daily_utc"] if r["stat_date"] > AS_OF_DATE] == [
        "2026-11-20"
    ]


def test_window_30d_equals_expected_with_zero_rows(contract_build: ContractBuild) -> None:
    window = contract_build.stored["expected"]["window_30d_utc"]
    rows = contract_build.query(
        "select shifu_bid, visitor_count, visit_count, source, window_start_date, window_end_date, synced_at "
        "from analytics.analytics_course_window_stats where window_type = 'last_30_days' order by shifu_bid"
    )
    assert {(r["window_start_date"], r["window_end_date"]) for r in rows} == {
        (date.fromisoformat(window["start_date"]), date.fromisoformat(window["end_date"]))
    }
    assert {r["source"] for r in rows} == {"umami"}
    assert {r["synced_at"].isoformat() for r in rows} == {"2026-11-20T00:05:00+00:00"}
    counted = [
        {"shifu_bid": r["shifu_bid"], "visitor_count": r["visitor_count"], "visit_count": r["visit_count"]}
        for r in rows
        if r["visit_count"] > 0
    ]
    zero = [{"shifu_bid": r["shifu_bid"], "visitor_count": 0, "visit_count": 0} for r in rows if r["visit_count"] == 0]
    assert counted == sorted(window["rows"], key=lambda r: r["shifu_bid"])
    assert zero == window["zero_rows"]
    # all courses: exact distinct users over the window, not a sum of per-course or daily uniques
    total = contract_build.query(
        "select count(distinct user_id) as visitor_count, sum(visit_count) as visit_count "
        "from analytics_build.int_course_visits_aggregated_to_user_days "
        "where stat_date between %s and %s",
        (window["start_date"], window["end_date"]),
    )[0]
    assert {k: int(v) for k, v in total.items()} == window["all_courses"]
    assert sum(r["visitor_count"] for r in counted) > window["all_courses"]["visitor_count"]


def test_every_window_type_has_a_row_per_course(contract_build: ContractBuild) -> None:
    rows = contract_build.query(
        "select window_type, min(window_start_date) as start_date, max(window_end_date) as end_date, "
        "count(*) as courses from analytics.analytics_course_window_stats group by 1 order by 1"
    )
    assert [(r["window_type"], r["start_date"].isoformat(), r["end_date"].isoformat(), r["courses"]) for r in rows] == [
        ("last_30_days", "2026-10-21", AS_OF_DATE, 7),
        ("last_7_days", "2026-11-13", AS_OF_DATE, 7),
        ("last_90_days", "2026-08-22", AS_OF_DATE, 7),
    ]
    # shifu-epsilon was visited only on 2026-10-14: outside the 30-day window, inside the 90-day one
    epsilon = {
        r["window_type"]: r["visitor_count"]
        for r in contract_build.query(
            "select window_type, visitor_count from analytics.analytics_course_window_stats "
            "where shifu_bid = 'shifu-epsilon'"
        )
    }
    assert epsilon == {"last_7_days": 0, "last_30_days": 0, "last_90_days": 1}


def test_every_course_visit_is_in_exactly_one_class(contract_build: ContractBuild) -> None:
    expected = contract_build.stored["expected"]
    classes = {
        r["visit_class"]: r["events"]
        for r in contract_build.query(
            "select visit_class, count(*) as events from analytics_build.int_course_visits_classified group by 1"
        )
    }
    raw = contract_build.query(
        "select count(*) filter (where event_name = 'course_visit') as course_visits, "
        "count(*) filter (where event_name <> 'course_visit') as other_events, "
        "count(distinct event_id) as distinct_ids, count(*) as all_events from umami_raw.events"
    )[0]
    classified_ids = contract_build.query(
        "select count(*) as n, count(distinct event_id) as distinct_ids "
        "from analytics_build.int_course_visits_classified"
    )[0]
    # totals add up to the raw count, and no event is in two classes
    assert sum(classes.values()) == raw["course_visits"] == classified_ids["n"] == classified_ids["distinct_ids"]
    assert classes.get("unknown_session", 0) == 0
    # the oracle's counts, reason by reason (the oracle also counts the event at reference_time)
    for oracle_reason, count in expected["excluded_events"].items():
        if oracle_reason in NOT_COURSE_VISITS:
            continue
        assert classes[ORACLE_TO_VISIT_CLASS[oracle_reason]] == count, oracle_reason
    assert classes["countable"] == expected["counted_events"]
    assert set(classes) == {"countable", *ORACLE_TO_VISIT_CLASS.values()}
    # other_event_name: the stored custom events of other names (Course_Visit included) plus the
    # pageviews, which the loader does not store; not_an_event: identify calls, never stored
    pageviews = sum(
        1
        for p in contract_build.stored["dataset"]["payloads"]
        if p["body"]["type"] == "event" and not p["body"]["payload"].get("name")
    )
    assert raw["other_events"] + pageviews == expected["excluded_events"]["other_event_name"]
    # the marts count only countable events up to as_of: 40 minus the one at reference_time
    daily_total = contract_build.query("select sum(visit_count) as n from analytics_build.analytics_course_daily_stats")
    assert daily_total[0]["n"] == expected["counted_events"] - 1


def test_reconciliation_matches_umami(contract_build: ContractBuild) -> None:
    rows = contract_build.query(
        "select check_name, property_value, umami_count, warehouse_count, status, is_closed "
        "from analytics.umami_reconciliation order by check_name, property_value"
    )
    umami = contract_build.stored["expected"]["umami_semantics"]
    by_check = {(r["check_name"], r["property_value"]): r for r in rows}
    assert by_check[("window_events", None)]["warehouse_count"] == umami["window_30d_utc"]["events"] == 43
    assert by_check[("window_sessions", None)]["warehouse_count"] == umami["window_30d_utc"]["visitors"] == 13
    # the number 123 is stored as "123.0000"; Umami shows "123"
    assert by_check[("shifu_bid_events", "123")]["warehouse_count"] == 1
    assert len(rows) == 2 + len(umami["window_30d_utc_event_data_values_shifu_bid"])
    assert {(r["status"], r["is_closed"]) for r in rows} == {("match", True)}


def test_operator_view_and_metric_definitions(contract_build: ContractBuild) -> None:
    rows = contract_build.query(
        "select o.shifu_bid, o.visit_count_30d, w.visitor_count, o.window_start_date, o.window_end_date "
        "from analytics.operator_course_metrics as o "
        "left join analytics.analytics_course_window_stats as w "
        "on w.shifu_bid = o.shifu_bid and w.window_type = 'last_30_days' order by 1"
    )
    assert len(rows) == 7
    assert all(r["visit_count_30d"] == r["visitor_count"] for r in rows)
    assert {r["shifu_bid"]: r["visit_count_30d"] for r in rows}["shifu-epsilon"] == 0
    assert {(r["window_start_date"].isoformat(), r["window_end_date"].isoformat()) for r in rows} == {
        ("2026-10-21", AS_OF_DATE)
    }
    metrics = contract_build.query(
        "select metric_order, label_zh_cn, label_en_us, provided_by_warehouse "
        "from analytics.operator_course_metric_definitions order by metric_order"
    )
    assert [m["label_zh_cn"] for m in metrics] == ["近30天访问人数", "学习人数", "订单数", "流水总额", "追问数", "评分"]
    assert metrics[0]["label_en_us"] == "Visitors (30d)"
    assert [m["provided_by_warehouse"] for m in metrics] == [True, False, False, False, False, False]


def test_unit_tests_and_contracts_ran(contract_build: ContractBuild) -> None:
    statuses = {r["unique_id"]: r["status"] for r in contract_build.results}
    unit_tests = [uid for uid in statuses if uid.startswith("unit_test.")]
    assert len(unit_tests) >= 7
    assert all(statuses[uid] == "pass" for uid in unit_tests)
    assert statuses["test.course_analytics.assert_no_course_visits_missing_from_closed_umami_windows"] == "pass"
    print(f"\ndbt build: {contract_build.build_seconds:.1f} s for {len(statuses)} nodes")
