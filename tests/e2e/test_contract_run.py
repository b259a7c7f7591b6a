"""End to end: the contract dataset sent to the simulator, `course-analytics run`, the published marts.

The simulator gets dataset.json through /api/send; one `course-analytics run --as-of
2026-11-19T23:59:59Z` (the Prefect flow: load, dbt build, publish) fills the warehouse; the
published marts are then compared row by row with the contract's expected.json, and the
tracking facts with values computed here from dataset.json.
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from flows.warehouse import Warehouse
from tests import oracle
from tests.contract_site import contract_site

pytestmark = pytest.mark.pg_matrix

CLI = str(Path(sys.executable).parent / "course-analytics")
# Planted in the Umami password and in the warehouse DSN (trust authentication ignores it): it
# must appear nowhere the run leaves a trace.
SECRET = "Planted-Secret-7c1e-e2e"
AS_OF = "2026-11-19T23:59:59Z"
SHANGHAI = timedelta(hours=8)
REASONS = oracle.EXPECTED_REASONS


@dataclass
class Run:
    warehouse: Warehouse
    home: Path
    output: str


@pytest.fixture(scope="module")
def run(database_factory_module, tmp_path_factory) -> Run:
    warehouse = database_factory_module("contract_e2e")
    home = tmp_path_factory.mktemp("e2e-home")
    with contract_site(SECRET) as site:
        env = {
            **site,
            "WAREHOUSE_DSN": warehouse.dsn.replace("postgres@", f"postgres:{SECRET}@"),
            "COURSE_ANALYTICS_HOME": str(home),
            "COURSE_ANALYTICS_LOG_LEVEL": "DEBUG",
        }
        result = subprocess.run(
            [CLI, "run", "--as-of", AS_OF], env=env, capture_output=True, text=True, timeout=600, cwd="/"
        )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    assert "synced up to 2026-11-19T23:59:59+00:00" in result.stdout
    return Run(warehouse, home, result.stdout + result.stderr)


@pytest.fixture(scope="module")
def published(run: Run) -> Warehouse:
    return run.warehouse


def _rows(warehouse: Warehouse, query: str) -> list[tuple]:
    with warehouse.connect() as conn, conn.cursor() as cur:
        cur.execute(query)
        return cur.fetchall()


def test_daily_stats_equal_expected_row_by_row(published: Warehouse) -> None:
    expected = oracle.load_json("expected.json")
    want = sorted(
        (r["stat_date"], r["shifu_bid"], r["visit_count"], r["visitor_count"], "umami")
        for r in expected["daily_utc"]
        if r["stat_date"] <= "2026-11-19"  # the event at exactly 2026-11-20T00:00:00Z is after --as-of
    )
    got = _rows(
        published,
        "select stat_date::text, shifu_bid, visit_count, visitor_count, source "
        "from analytics.analytics_course_daily_stats order by 1, 2",
    )
    assert got == want


def test_window_30d_equals_expected_with_zero_rows(published: Warehouse) -> None:
    window = oracle.load_json("expected.json")["window_30d_utc"]
    want = sorted(
        (r["shifu_bid"], r["visitor_count"], r["visit_count"], window["start_date"], window["end_date"])
        for r in window["rows"] + window["zero_rows"]
    )
    got = _rows(
        published,
        "select shifu_bid, visitor_count, visit_count, window_start_date::text, "
        "window_end_date::text from analytics.analytics_course_window_stats "
        "where window_type = 'last_30_days' order by 1",
    )
    assert got == want
    assert ("shifu-epsilon", 0, 0, "2026-10-21", "2026-11-19") in got  # visited only before the window
    operator = dict(_rows(published, "select shifu_bid, visit_count_30d from analytics.operator_course_metrics"))
    assert {course: visitors for course, visitors, *_ in got}.items() <= operator.items()


def test_excluded_events_equal_expected(published: Warehouse) -> None:
    expected = oracle.load_json("expected.json")["excluded_events"]
    classes = dict(
        _rows(published, "select visit_class, count(*) from analytics_build.int_course_visits_classified group by 1")
    )
    assert {REASONS[k]: v for k, v in expected.items() if k in REASONS} == {
        k: v for k, v in classes.items() if k != "countable"
    }
    assert classes["countable"] == oracle.load_json("expected.json")["counted_events"] - 1  # minus the one after as-of


def test_tracking_facts_through_the_whole_pipeline(published: Warehouse) -> None:
    dataset = oracle.load_json("dataset.json")
    until = datetime(2026, 11, 19, 23, 59, 59, tzinfo=UTC)
    plays = [e for e in oracle.sent_events(dataset, until=until, names={"work_play_start"})]
    facts = _rows(
        published,
        "select scope_kind, scope_id, user_id, owner_user_id, module_key, occurred_at, day_key "
        "from analytics.tracking_event where event_key = 'work_play_start'",
    )
    assert Counter(facts) == Counter(
        (
            "work",
            e.props["workId"][1],
            e.user,
            e.props["ownerUserId"][1],
            e.props["playType"][1],
            e.at,
            (e.at + SHANGHAI).date(),
        )
        for e in plays
    )
    players: dict[str, set[str]] = {}
    for e in plays:
        players.setdefault(e.props["workId"][1], set()).add(e.user)
    stat = dict(_rows(published, "select work_id, player_count from analytics.tracking_work_player_stat"))
    assert stat == {work: len(users) for work, users in players.items()}

    logins = oracle.sent_events(dataset, until=until, names={"daily_login"})
    login_facts = _rows(
        published, "select event_id, user_id, day_key from analytics.tracking_event where event_key = 'daily_login'"
    )
    want = {(e.user, (e.at + SHANGHAI).date()) for e in logins}
    assert sorted((u, d) for _, u, d in login_facts) == sorted(want)
    assert all(event_id == f"daily-login:{u}:{d.isoformat()}" for event_id, u, d in login_facts)


def test_shanghai_day_key_turns_at_1600_utc(published: Warehouse) -> None:
    rows = dict(
        _rows(
            published,
            "select occurred_at, day_key from analytics.tracking_event "
            "where event_key = 'course_visit' and extract(hour from occurred_at at time zone 'UTC') "
            "in (15, 16) and extract(minute from occurred_at at time zone 'UTC') in (59, 0)",
        )
    )
    before = [at for at in rows if (at.hour, at.minute, at.second) == (15, 59, 59)]
    after = [at for at in rows if (at.hour, at.minute, at.second) == (16, 0, 0)]
    assert before and after
    assert all(rows[at] == at.date() for at in before)
    assert all(rows[at] == at.date() + timedelta(days=1) for at in after)


@pytest.mark.parametrize(
    ("day", "iso_week_key", "month_key", "quarter_key", "year_key"),
    [
        (date(2026, 11, 19), "2026-W47", "2026-11", "2026-Q4", "2026"),
        (date(2026, 10, 11), "2026-W41", "2026-10", "2026-Q4", "2026"),
    ],
)
def test_date_dimension_keys(
    published: Warehouse, day: date, iso_week_key: str, month_key: str, quarter_key: str, year_key: str
) -> None:
    rows = _rows(
        published,
        f"select iso_week_key, month_key, quarter_key, year_key::text "
        f"from analytics.analytics_date_dimension where day_key = '{day.isoformat()}'",
    )
    assert rows == [(iso_week_key, month_key, quarter_key, year_key)]


def test_the_planted_secret_is_nowhere(run: Run) -> None:
    """Not in the output (DEBUG logs), dlt's files and state, dbt's files, Prefect's database, any table."""
    assert SECRET not in run.output
    secret = SECRET.encode()
    scanned = 0
    for path in run.home.rglob("*"):
        if path.is_file():
            scanned += 1
            assert secret not in path.read_bytes(), path
    assert scanned > 20  # dlt pipeline files, dbt target and logs, the Prefect database
    assert any(p.name.endswith(".db") for p in run.home.rglob("*"))  # Prefect's SQLite database was scanned
    schemas = ("umami_raw", "analytics", "analytics_build")
    tables = _rows(
        run.warehouse, f"select table_schema, table_name from information_schema.tables where table_schema in {schemas}"
    )
    assert {"_dlt_pipeline_state", "events", "tracking_event"} <= {t for _, t in tables}
    for schema, table in tables:
        (hits,) = _rows(
            run.warehouse, f'select count(*) from "{schema}"."{table}" t where t::text like \'%{SECRET}%\''
        )[0]
        assert hits == 0, f"{schema}.{table}"
