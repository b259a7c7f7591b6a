"""End to end: raw Umami events → `dbt build` of the tracking marts → checked against the plan.

One database is built once for the module (tests/dbt_tracking/conftest.py): the contract
dataset's custom events plus the events planted in tracking_data.py, with as_of
2026-11-19T23:59:59Z. The tests only read it, except the publication test, which adds the
published schema at the end.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from flows import paths
from flows.dbt import run_dbt
from tests.dbt.run_helpers import publish
from tests.dbt_tracking import tracking_data as td
from tests.dbt_tracking.conftest import BUILD_VARS, WITHOUT_TESTS, TrackingBuild

pytestmark = pytest.mark.pg_matrix

BUILD = "analytics_build"
TRACKING_MARTS = td.TRACKING_MARTS
FACT_COLUMNS = (
    "event_key",
    "scope_kind",
    "scope_id",
    "user_id",
    "owner_user_id",
    "profile_id",
    "module_key",
    "metadata_json",
    "occurred_at",
    "day_key",
    "source_event_id",
)


def _facts(build: TrackingBuild) -> dict[str, dict]:
    rows = build.query(f"select * from {BUILD}.tracking_event")
    return {r["event_id"]: r | {"metadata_json": td.jsonish(r["metadata_json"])} for r in rows}


def _exclusions(build: TrackingBuild) -> dict[str, dict]:
    return {r["source_event_id"]: r for r in build.query(f"select * from {BUILD}.tracking_event_exclusion")}


def test_build_passes_every_tracking_test_and_warns_on_unknown_keys(tracking_build: TrackingBuild) -> None:
    statuses = {r["unique_id"]: r["status"] for r in tracking_build.outcome.results}
    assert not [u for u, s in statuses.items() if s not in ("success", "pass", "warn")]
    assert [u for u, s in statuses.items() if s == "warn"] == [
        "test.course_analytics.assert_tracking_event_keys_are_catalogued"
    ]
    assert sum(u.startswith("unit_test.course_analytics.") for u in statuses) >= 10
    assert sum(u.startswith("test.course_analytics.assert_tracking") for u in statuses) >= 7
    unknown = tracking_build.query(
        f"select event_key, fact_count, exclusion_count from {BUILD}.tracking_event_key_coverage "
        "where not is_catalogued order by event_key"
    )
    # listed, not dropped: Course_Visit stays a fact; the RPG key is an exclusion
    assert unknown == [
        {"event_key": "Course_Visit", "fact_count": 1, "exclusion_count": 0},
        {"event_key": "rpg_battle_start", "fact_count": 0, "exclusion_count": 1},
    ]


def test_dataset_facts_equal_an_independent_computation(tracking_build: TrackingBuild) -> None:
    expected = tracking_build.expected
    dataset_ids = set(expected.source_of)
    actual = {k: v for k, v in _facts(tracking_build).items() if v["source_event_id"] in dataset_ids}
    assert set(actual) == set(expected.facts)
    assert len(expected.facts) > 50  # the dataset's custom events, not an empty comparison
    for event_id, want in expected.facts.items():
        got = {c: actual[event_id][c] for c in FACT_COLUMNS}
        assert got == {c: want[c] for c in FACT_COLUMNS}, expected.source_of[want["source_event_id"]]


def test_dataset_exclusions_equal_an_independent_computation(tracking_build: TrackingBuild) -> None:
    expected = tracking_build.expected
    actual = {k: v["exclusion_reason"] for k, v in _exclusions(tracking_build).items() if k in expected.source_of}
    assert actual == expected.exclusions
    # the course_visit events without a usable shifu_bid: none, "", the number 123, no data at all
    assert sorted(expected.exclusions.values()) == ["missing_scope_id"] * 4


@pytest.mark.parametrize("planted", td.PLANTED, ids=[p.event_id for p in td.PLANTED])
def test_planted_event_becomes_its_fact_or_exclusion(tracking_build: TrackingBuild, planted: td.Planted) -> None:
    facts = {f["source_event_id"]: f for f in _facts(tracking_build).values()}
    exclusions = _exclusions(tracking_build)
    if planted.exclusion:
        assert planted.event_id not in facts, planted.note
        assert exclusions[planted.event_id]["exclusion_reason"] == planted.exclusion, planted.note
        return
    assert planted.event_id not in exclusions, planted.note
    fact = facts[planted.event_id]
    assert fact["event_id"] == (planted.fact_id or planted.event_id)
    assert fact["event_key"] == planted.event_key
    assert fact["occurred_at"] == planted.occurred_at
    assert fact["day_key"] == td.day_key(planted.occurred_at)
    for column, value in (planted.fact or {}).items():
        assert fact[column] == value, f"{column}: {planted.note}"
    assert planted.fact or planted.fact_id or planted.event_key, planted.note


def test_every_loaded_event_is_a_fact_or_an_exclusion(tracking_build: TrackingBuild) -> None:
    loaded = {
        r["event_id"]
        for r in tracking_build.query("select event_id from umami_raw.events where created_at <= %s", (td.AS_OF,))
    }
    fact_sources = [f["source_event_id"] for f in _facts(tracking_build).values()]
    excluded = list(_exclusions(tracking_build))
    assert len(fact_sources) + len(excluded) == len(loaded)
    assert set(fact_sources) | set(excluded) == loaded
    assert not set(fact_sources) & set(excluded)
    # the event at exactly the reference time (after as_of) is in neither
    assert len(tracking_build.raw_event_ids) == len(loaded) + 1


def test_day_key_is_the_shanghai_date_around_1600_utc(tracking_build: TrackingBuild) -> None:
    rows = tracking_build.query(
        f"select occurred_at, day_key from {BUILD}.tracking_event "
        "where occurred_at in ('2026-11-12 15:59:59+00', '2026-11-12 16:00:00+00', "
        "'2026-11-18 15:59:59+00', '2026-11-18 16:00:00+00', '2026-10-30 16:00:00+00') order by occurred_at"
    )
    assert [(r["occurred_at"].isoformat(), r["day_key"]) for r in rows] == [
        ("2026-10-30T16:00:00+00:00", date(2026, 10, 31)),  # late arrival at Shanghai midnight
        ("2026-11-12T15:59:59+00:00", date(2026, 11, 12)),
        ("2026-11-12T16:00:00+00:00", date(2026, 11, 13)),
        ("2026-11-18T15:59:59+00:00", date(2026, 11, 18)),
        ("2026-11-18T16:00:00+00:00", date(2026, 11, 19)),
    ]


def test_daily_login_is_one_fact_per_user_and_shanghai_day(tracking_build: TrackingBuild) -> None:
    logins = [f for f in _facts(tracking_build).values() if f["event_key"] == "daily_login"]
    keys = [(f["user_id"], f["day_key"]) for f in logins]
    assert len(keys) == len(set(keys))
    assert all(f["event_id"] == f"daily-login:{f['user_id']}:{f['day_key'].isoformat()}" for f in logins)
    duplicate = _exclusions(tracking_build)["trk-login-3"]
    assert duplicate["duplicate_of_event_id"] == "daily-login:u-9001:2026-11-19"


def test_daily_stat_equals_the_facts_grouped_in_python(tracking_build: TrackingBuild) -> None:
    dataset_ids = set(tracking_build.expected.source_of)
    planted_facts = [f for f in _facts(tracking_build).values() if f["source_event_id"] not in dataset_ids]
    expected = td.group_daily([*tracking_build.expected.facts.values(), *planted_facts])
    actual = {
        (r["day_key"], r["event_key"], r["scope_kind"], r["scope_id"]): (r["event_count"], r["distinct_user_count"])
        for r in tracking_build.query(f"select * from {BUILD}.tracking_daily_stat")
    }
    assert actual == expected
    # Shanghai days: the UTC-midnight pair of shifu-alpha (11-10 23:59:59, 11-11 00:00:00 UTC) is one day
    assert actual[(date(2026, 11, 11), "course_visit", "course", "shifu-alpha")] == (3, 2)


def test_distinct_players_per_work(tracking_build: TrackingBuild) -> None:
    plays: dict[str, list] = defaultdict(list)
    daily: dict[tuple, list] = defaultdict(list)
    for payload in (i["body"]["payload"] for i in tracking_build.dataset["payloads"]):
        if payload.get("name") == "work_play_start":
            at = datetime.fromtimestamp(payload["timestamp"], UTC)
            plays[payload["data"]["workId"]].append(payload.get("id"))
            daily[(td.day_key(at), payload["data"]["workId"])].append(payload.get("id"))
    for p in td.PLANTED:
        if p.event_key == "work_play_start" and not p.exclusion:
            work = p.data.get("profileId") or p.data["workId"]
            user = td.SESSIONS[p.session_id]
            plays[work].append(user)
            daily[(td.day_key(p.occurred_at), work)].append(user)

    def counts(users: list) -> tuple[int, int, int]:
        return len(users), len({u for u in users if u}), sum(u is None for u in users)

    all_time = {
        r["work_id"]: (r["play_count"], r["player_count"], r["guest_play_count"])
        for r in tracking_build.query(f"select * from {BUILD}.tracking_work_player_stat")
    }
    assert all_time == {work: counts(users) for work, users in plays.items()}
    assert all_time["w-0001"] == (2, 2, 0)  # u-0001 and u-0002
    assert all_time["prof-big"] == (3, 2, 0)  # u-9001 twice, u-9003 once
    assert all_time["w-vn"] == (1, 0, 1)  # a guest play is a play, not a player
    per_day = {
        (r["day_key"], r["work_id"]): (r["play_count"], r["player_count"], r["guest_play_count"])
        for r in tracking_build.query(f"select * from {BUILD}.tracking_work_player_daily_stat")
    }
    assert per_day == {key: counts(users) for key, users in daily.items()}


@pytest.mark.parametrize(
    ("day", "iso_week_key", "iso_week_start", "month_key", "quarter_key", "quarter_end", "year_key"),
    [
        ("2026-01-01", "2026-W01", "2025-12-29", "2026-01", "2026-Q1", "2026-03-31", "2026"),
        ("2024-12-30", "2025-W01", "2024-12-30", "2024-12", "2024-Q4", "2024-12-31", "2024"),
        ("2026-11-19", "2026-W47", "2026-11-16", "2026-11", "2026-Q4", "2026-12-31", "2026"),
        ("2026-12-31", "2026-W53", "2026-12-28", "2026-12", "2026-Q4", "2026-12-31", "2026"),
        ("2025-06-30", "2025-W27", "2025-06-30", "2025-06", "2025-Q2", "2025-06-30", "2025"),
    ],
)
def test_date_dimension_buckets(
    tracking_build: TrackingBuild, day, iso_week_key, iso_week_start, month_key, quarter_key, quarter_end, year_key
) -> None:
    rows = tracking_build.query(f"select * from {BUILD}.analytics_date_dimension where day_key = %s", (day,))
    assert len(rows) == 1
    row = rows[0]
    d = date.fromisoformat(day)
    assert row["iso_week_key"] == iso_week_key
    assert row["iso_week_start_date"] == date.fromisoformat(iso_week_start)
    assert (row["iso_week_end_date"] - row["iso_week_start_date"]).days == 6
    assert row["month_key"] == month_key
    assert row["month_start_date"] == d.replace(day=1)
    assert row["quarter_key"] == quarter_key
    assert row["quarter_end_date"] == date.fromisoformat(quarter_end)
    assert row["year_key"] == year_key
    assert (row["year_start_date"], row["year_end_date"]) == (date(d.year, 1, 1), date(d.year, 12, 31))
    assert (row["iso_year"], row["iso_week"]) == d.isocalendar()[:2]


def test_date_dimension_spans_the_data_and_the_margin(tracking_build: TrackingBuild) -> None:
    [row] = tracking_build.query(
        f"select min(day_key) as first_day, max(day_key) as last_day, count(*) as days "
        f"from {BUILD}.analytics_date_dimension"
    )
    # facts from Shanghai 2026-10-11 to 2026-11-20 (as_of 2026-11-19T23:59:59Z), margin 700 days
    assert row["first_day"] == date(2024, 11, 10)
    assert row["last_day"] == date(2028, 10, 20)
    assert row["days"] == (row["last_day"] - row["first_day"]).days + 1


def _sensitive_values_found(build: TrackingBuild, schema: str) -> list[tuple[str, str]]:
    found = []
    for relation in TRACKING_MARTS:
        text = "\n".join(
            r["row_text"] for r in build.query(f'select cast(t as text) as row_text from {schema}."{relation}" as t')
        )
        found += [(relation, value) for value in td.SENSITIVE_VALUES if value in text]
    return found


def test_no_planted_sensitive_value_remains_in_any_tracking_mart(tracking_build: TrackingBuild) -> None:
    raw = "\n".join(r["t"] for r in tracking_build.query("select cast(e as text) as t from umami_raw.events as e"))
    planted = [v for v in td.SENSITIVE_VALUES if v != td.PHONE_AS_DISTINCT_ID]
    assert all(v in raw for v in planted)  # they were there to be stripped
    assert _sensitive_values_found(tracking_build, BUILD) == []


def test_metadata_holds_allowed_keys_only(tracking_build: TrackingBuild) -> None:
    allowed = {
        "route",
        "method",
        "status",
        "operation",
        "asset",
        "assetOperation",
        *td.WORK_PLAY_FIELDS,
        *td.COURSE_VISIT_FIELDS,
    }
    asset_allowed = {
        "operation",
        "operationFamily",
        "assetObjectId",
        "assetKind",
        "objectKey",
        "bucket",
        "contentType",
        "contentLength",
        "version",
        "bindingId",
        "entityKind",
        "entityId",
        "slot",
        "ownerUserId",
        "profileId",
    }
    facts = _facts(tracking_build).values()
    # not vacuous: facts with metadata, with asset fields and with routes are among those checked
    assert sum(bool(f["metadata_json"]) for f in facts) > 10
    assert any("asset" in f["metadata_json"] for f in facts)
    assert any("route" in f["metadata_json"] for f in facts)
    for fact in facts:
        metadata = fact["metadata_json"]
        assert set(metadata) <= allowed, fact["event_id"]
        assert set(metadata.get("asset", {})) <= asset_allowed, fact["event_id"]
        if fact["event_key"] != "course_visit":
            assert not set(metadata) & set(td.COURSE_VISIT_FIELDS), fact["event_id"]
        for route in (metadata.get("route"), metadata.get("sourceRoute")):
            assert route is None or ("?" not in route and "#" not in route)


def _compiled_analyses() -> dict[str, str]:
    folder = paths.data_dir() / "dbt" / "target" / "compiled" / "course_analytics" / "analyses"
    return {p.stem: p.read_text() for p in sorted(Path(folder).glob("*.sql"))}


def test_analyses_compile_and_run(tracking_build: TrackingBuild) -> None:
    run_dbt(
        tracking_build.warehouse,
        ["compile", "--select", "resource_type:analysis"],
        dbt_vars={
            **BUILD_VARS,
            "analysis_work_id": "prof-big",
            "analysis_event_key": "daily_login",
            "analysis_limit": 5,
        },
    )
    compiled = _compiled_analyses()
    assert set(compiled) == {
        "tracking_event_key_daily_counts",
        "tracking_event_key_latest_facts",
        "tracking_latest_asset_operations",
        "tracking_latest_daily_logins",
        "tracking_latest_work_play_starts",
        "tracking_weekly_active_users",
        "tracking_work_distinct_players",
    }
    results = {name: tracking_build.query(sql) for name, sql in compiled.items()}
    assert results["tracking_work_distinct_players"][0] | {"first_played_at": None, "last_played_at": None} == {
        "work_id": "prof-big",
        "distinct_players": 2,
        "plays": 3,
        "first_played_at": None,
        "last_played_at": None,
    }
    assert results["tracking_latest_daily_logins"][0]["event_id"] == "daily-login:u-9001:2026-11-19"
    assert len(results["tracking_latest_daily_logins"]) == 5
    assert results["tracking_latest_work_play_starts"][0]["event_id"] == "trk-play-vn-guest"
    assert [r["event_id"] for r in results["tracking_latest_asset_operations"]] == ["trk-asset-bind", "trk-signed-url"]
    assert {r["event_key"] for r in results["tracking_event_key_latest_facts"]} == {"daily_login"}
    assert {r["event_key"] for r in results["tracking_event_key_daily_counts"]} == {"daily_login"}
    assert sum(r["event_count"] for r in results["tracking_event_key_daily_counts"]) == 8
    assert results["tracking_weekly_active_users"][0]["iso_week_key"] == "2026-W47"


def test_publish_copies_the_tracking_marts(tracking_build: TrackingBuild) -> None:
    """Publication needs every published mart: build the rest of the project first (its own suite tests it)."""
    warehouse = tracking_build.warehouse
    run_dbt(warehouse, ["build", *WITHOUT_TESTS], dbt_vars=BUILD_VARS)
    publish(warehouse, BUILD_VARS)
    for relation in (*TRACKING_MARTS, "tracking_event_catalog"):
        [counts] = tracking_build.query(
            f'select (select count(*) from analytics."{relation}") as published, '
            f'(select count(*) from {BUILD}."{relation}") as built'
        )
        assert counts["published"] == counts["built"] > 0, relation
    assert _sensitive_values_found(tracking_build, "analytics") == []


def test_rule_tests_fail_on_violations(tracking_build: TrackingBuild) -> None:
    """The data tests are not vacuous: facts that break the plan's rules make them fail.

    Runs last: it plants bad rows in the built marts (as if the SQL had a bug) and removes them.
    """
    bad_rows = [
        # sensitive key and values, a route with its query string, a failed operation
        (
            "bad-metadata",
            "auth_me_view",
            "u-9001",
            "auth",
            '{"route": "/api/auth/me?token=1", "phone": "x", "operation": "call 13800138000", "status": 500}',
        ),
        # an admin route, a duplicate daily_login with a malformed id, a user id that is an e-mail
        ("bad-admin", "task_center_view", "alice@example.com", "profile", '{"route": "/admin/tasks"}'),
        ("bad-login", "daily_login", "u-9001", "auth", "{}"),
    ]
    with tracking_build.warehouse.connect() as conn, conn.cursor() as cur:
        for event_id, event_key, user_id, module_key, metadata in bad_rows:
            cur.execute(
                f"insert into {BUILD}.tracking_event values "
                "(%s, %s, 'user', %s, %s, null, null, %s, %s, '2026-11-19 10:00+00', '2026-11-19', %s, %s)",
                (event_id, event_key, user_id, user_id, module_key, metadata, event_id, BUILD_VARS["sync_time"]),
            )
    try:
        outcome = run_dbt(
            tracking_build.warehouse,
            ["test", "--select", "tag:tracking", "--exclude-resource-type", "unit_test"],
            dbt_vars=BUILD_VARS,
            raise_on_failure=False,
        )
    finally:
        with tracking_build.warehouse.connect() as conn, conn.cursor() as cur:
            cur.execute(f"delete from {BUILD}.tracking_event where event_id like 'bad-%%'")
    failed = {r["unique_id"].split(".")[2] for r in outcome.results if r["status"] == "fail"}
    assert failed == {
        "tracking_no_sensitive_metadata_tracking_event_metadata_json",  # rule 5: key, value, query
        "tracking_no_sensitive_value_tracking_event_user_id",
        "tracking_no_sensitive_value_tracking_event_scope_id",
        "assert_tracking_event_status_is_2xx",  # rule 3
        "assert_tracking_event_has_no_out_of_scope_route_or_module",  # rule 4
        "assert_tracking_daily_login_once_per_user_and_day",  # rule 2
        "assert_tracking_daily_stat_reconciles_with_tracking_event",  # rule 1
        "assert_tracking_loaded_events_all_accounted_for",
    }
