"""The Prefect flow course-analytics-sync: publish on success, keep the marts on any failure, alert."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta

import pytest
import yaml
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

from flows.catalog import default_event_names
from flows.deployment import PREFECT_YAML, hourly_deployment
from flows.flow import course_analytics_sync
from flows.warehouse import Warehouse
from tests import oracle
from tests.dbt import raw_umami

AS_OF = datetime(2026, 11, 19, 23, 59, 59, tzinfo=UTC)


def published(warehouse: Warehouse) -> dict[str, list[tuple]]:
    tables = ("analytics_course_daily_stats", "analytics_course_window_stats")
    snapshot = {}
    with warehouse.connect() as conn, conn.cursor() as cur:
        for table in tables:
            cur.execute("select to_regclass(%s)", (f"analytics.{table}",))
            if cur.fetchone()[0] is None:
                snapshot[table] = []
                continue
            cur.execute(f"select * from analytics.{table} order by 2, 3, 4")
            snapshot[table] = cur.fetchall()
    return snapshot


def task_names(state) -> list[str]:
    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[state.state_details.flow_run_id]))
        )
    return sorted(run.name.rsplit("-", 1)[0] for run in runs)  # task run names are "<task>-<suffix>"


def send_contract(sim, website) -> None:
    answers = sim.send_dataset(oracle.load_json("dataset.json"), website)
    assert all(a["status"] == 200 for a in answers)


def window_30d(warehouse: Warehouse) -> dict[str, tuple[int, int]]:
    with warehouse.connect() as conn, conn.cursor() as cur:
        cur.execute(
            "select shifu_bid, visitor_count, visit_count from analytics.analytics_course_window_stats "
            "where window_type = 'last_30_days'"
        )
        return {course: (visitors, visits) for course, visitors, visits in cur.fetchall()}


def oracle_window_30d(as_of: datetime) -> dict[str, tuple[int, int]]:
    expected = oracle.course_marts(oracle.load_json("dataset.json"), as_of)
    return {course: value for (window, course), value in expected.windows.items() if window == "last_30_days"}


def run_logging_alerts(caplog, **parameters):
    caplog.clear()
    with caplog.at_level(logging.ERROR):
        state = course_analytics_sync(return_state=True, **parameters)
    return state, [r.getMessage() for r in caplog.records if "ALERT" in r.getMessage()]


def test_publish_only_after_success_and_alert_on_the_third_failure(sync_env, monkeypatch, caplog) -> None:
    """One warehouse through a day in its life: success, three different failures, success."""
    sim, website, warehouse = sync_env
    send_contract(sim, website)
    first_as_of = AS_OF - timedelta(days=1)

    # 1. a successful run publishes exact marts
    report = course_analytics_sync(as_of=first_as_of.isoformat())
    assert window_30d(warehouse) == oracle_window_30d(first_as_of)
    sent = oracle.sent_events(oracle.load_json("dataset.json"), until=first_as_of, names=set(default_event_names()))
    assert report["rows_loaded"]["events"] == len(sent) and report["visitors_30d_total"] > 0
    published_first = published(warehouse)

    # 2. the load fails: transform and publish never run, the marts stay as they were
    monkeypatch.setenv("UMAMI_WEBSITE_ID", "00000000-0000-4000-8000-000000000000")
    state, alerts = run_logging_alerts(caplog, as_of=AS_OF.isoformat())
    assert state.is_failed() and "does not exist" in state.message
    assert task_names(state) == ["load", "plan"]
    assert published(warehouse) == published_first and alerts == []

    # 3. a dbt test fails (a raw session stored twice; the load fetches known sessions never
    #    again, so it stays): nothing is published
    monkeypatch.setenv("UMAMI_WEBSITE_ID", website)
    with warehouse.connect() as conn, conn.cursor() as cur:
        cur.execute("create temp table twice as select * from umami_raw.sessions where distinct_id = 'u-0001'")
        cur.execute("update twice set _dlt_id = _dlt_id || '-twice'")  # dlt's row ids are unique
        cur.execute("insert into umami_raw.sessions select * from twice")
    state, alerts = run_logging_alerts(caplog, as_of=AS_OF.isoformat())
    assert state.is_failed() and "dbt build failed" in state.message
    assert task_names(state) == ["load", "plan", "transform"]
    assert published(warehouse) == published_first and alerts == []

    # 4. the third failure in a row raises the alert
    monkeypatch.setenv("UMAMI_WEBSITE_ID", "00000000-0000-4000-8000-000000000000")
    state, alerts = run_logging_alerts(caplog, as_of=AS_OF.isoformat())
    assert state.is_failed()
    assert len(alerts) == 1 and "failed 3 times in a row" in alerts[0]

    # 5. fixed: the next run publishes everything the failed runs held back
    monkeypatch.setenv("UMAMI_WEBSITE_ID", website)
    with warehouse.connect() as conn, conn.cursor() as cur:
        cur.execute(
            "delete from umami_raw.sessions a using umami_raw.sessions b"
            " where a.session_id = b.session_id and a.ctid > b.ctid"
        )
    report = course_analytics_sync(as_of=AS_OF.isoformat())
    assert window_30d(warehouse) == oracle_window_30d(AS_OF)
    # step 3 loaded up to AS_OF before its transform failed: this run re-reads the last 3 UTC days of that
    assert report["windows"]["course_visit"][0].startswith("2026-11-17")


def test_the_scheduled_build_runs_models_and_data_tests_but_not_unit_tests(fresh_database: Warehouse, home_dir) -> None:
    """Unit tests have static inputs: they run in the test suite (tests/dbt), not every hour.
    Publishing leaves dbt's run_results.json to the build (its node timings: bench/run.py)."""
    from flows import dbt, sync
    from flows.publish import publish

    window = sync.plan(fresh_database, None, sync.SyncParameters(as_of=AS_OF))
    assert window.reads == {} and window.rebuild_from.isoformat() == "2026-11-17"  # nothing read, lookback rebuilt
    with pytest.raises(sync.NothingLoaded, match="nothing was loaded into it; run `course-analytics run`"):
        sync.transform(fresh_database, window, datetime.now(UTC))
    with fresh_database.connect() as conn:
        raw_umami.create_raw_tables(conn)
    sync_time = datetime.now(UTC)
    outcome = sync.transform(fresh_database, window, sync_time)
    kinds = {result["unique_id"].split(".")[0] for result in outcome.results}
    assert outcome.success and kinds == {"operation", "model", "seed", "test"}  # operation: on-run-start
    publish(fresh_database, window, sync_time)
    written = json.loads((dbt.target_dir() / "run_results.json").read_text())["results"]
    assert {result["unique_id"] for result in written} == {result["unique_id"] for result in outcome.results}
    assert all(result["execution_time"] >= 0 for result in written)


def test_load_retries_only_transient_errors() -> None:
    from prefect.states import Failed

    from flows.flow import _retry_transient
    from flows.settings import ConfigError
    from loader.umami.errors import UmamiAuthError, UmamiTransientError

    assert _retry_transient(None, None, Failed(data=UmamiTransientError("503 after 6 attempts")))
    assert _retry_transient(None, None, Failed(data=ConnectionError("reset")))
    assert not _retry_transient(None, None, Failed(data=UmamiAuthError("rejected")))
    assert not _retry_transient(None, None, Failed(data=ConfigError("UMAMI_API_URL is not set")))


def test_all_courses_dropping_to_zero_raises_an_alert(sync_env, caplog) -> None:
    sim, website, _ = sync_env
    now = datetime.now(UTC).replace(microsecond=0)
    traffic_end = now - timedelta(days=40)
    for i, user in enumerate(("u-1", "u-2", "u-3")):
        at = traffic_end - timedelta(hours=i)
        status, _ = sim.send(
            {
                "type": "event",
                "payload": {
                    "website": website,
                    "hostname": "course.example.com",
                    "url": "/c/x",
                    "name": "course_visit",
                    "id": user,
                    "timestamp": int(at.timestamp()),
                    "data": {"shifu_bid": f"shifu-{i % 2}"},
                },
            }
        )
        assert status == 200
    first = course_analytics_sync(as_of=traffic_end.isoformat())
    assert first["visitors_30d_total"] == 3 and first["alerts"] == []
    with caplog.at_level(logging.ERROR):
        second = course_analytics_sync(as_of=(now - timedelta(minutes=10)).isoformat())  # traffic stopped
    assert second["visitors_30d_total"] == 0
    assert len(second["alerts"]) == 1 and "dropped to 0 for all 2 courses" in second["alerts"][0]
    assert any("ALERT" in r.getMessage() for r in caplog.records)


def test_the_deployment_is_hourly_utc_without_overlap(tmp_path) -> None:
    deployment = hourly_deployment()
    (schedule,) = deployment.schedules
    assert schedule.schedule.cron == "0 * * * *" and schedule.schedule.timezone == "UTC"
    assert deployment.concurrency_limit == 1
    assert deployment.concurrency_options.collision_strategy == "ENQUEUE"  # a late run waits, never overlaps
    assert deployment.entrypoint.endswith("flows/flow.py:course_analytics_sync")
    declared = yaml.safe_load(PREFECT_YAML.read_text())
    (hourly,) = declared["deployments"]
    assert hourly["entrypoint"] == "flows/flow.py:course_analytics_sync"

    # prefect.yaml is the one declaration: `serve` runs what it says
    changed = PREFECT_YAML.read_text().replace('cron: "0 * * * *"', 'cron: "30 * * * *"')
    assert changed != PREFECT_YAML.read_text()
    (tmp_path / "prefect.yaml").write_text(changed)
    (other,) = hourly_deployment(tmp_path / "prefect.yaml").schedules
    assert other.schedule.cron == "30 * * * *"


def test_flow_parameters_are_typed_and_checked_by_prefect() -> None:
    from prefect.exceptions import ParameterTypeError

    for bad in ({"as_of": "yesterday"}, {"start_date": "2026-13-01"}, {"lookback_days": -1}, {"steps": "publish"}):
        with pytest.raises(ParameterTypeError):
            course_analytics_sync(**bad)


def test_flow_parameters_hold_no_secret() -> None:
    """Flow parameters are stored by Prefect: credentials come from settings, never parameters."""
    import inspect

    names = set(inspect.signature(course_analytics_sync.fn).parameters)
    assert not names & {"password", "api_key", "dsn", "username"}
