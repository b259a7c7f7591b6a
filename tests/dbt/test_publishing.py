"""Publishing: analysts read schema `analytics`, which only `publish_marts` changes, in one
transaction, after a `dbt build` whose tests all passed.

The pipeline runs `dbt build` and then `dbt run-operation publish_marts`; when the build fails
the pipeline stops, so these tests do the same.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import psycopg2
import pytest

from flows.warehouse import Warehouse
from tests.dbt import raw_umami
from tests.dbt.conftest import AS_OF, ContractBuild, load_contract
from tests.dbt.run_helpers import OperationFailed, dbt, publish, run_operation, window_vars

pytestmark = pytest.mark.pg_matrix

PUBLISHED = [
    "analytics_course_daily_stats",
    "analytics_course_window_stats",
    "analytics_courses_seen",
    "operator_course_metric_definitions",
    "operator_course_metrics",
    "umami_reconciliation",
]


def _snapshot(warehouse: Warehouse, schema: str = "analytics") -> dict[str, list]:
    conn = warehouse.connect()
    try:
        with conn.cursor() as cur:
            out = {}
            for name in PUBLISHED:
                cur.execute(f"select * from {schema}.{name} order by 1, 2, 3")
                out[name] = cur.fetchall()
            cur.execute(
                "select table_name, table_type from information_schema.tables where table_schema = %s order by 1",
                (schema,),
            )
            out["_relations"] = cur.fetchall()
            return out
    finally:
        conn.close()


def _execute(warehouse: Warehouse, statement: str, params=None) -> None:
    conn = warehouse.connect()
    try:
        with conn.cursor() as cur:
            cur.execute(statement, params)
        conn.commit()
    finally:
        conn.close()


def _vars(sync_time: str, rebuild_from_date: str = "2026-11-17") -> dict[str, str]:
    return window_vars(AS_OF, sync_time, rebuild_from_date)


def _publish(warehouse: Warehouse, sync_time: str, *, raise_on_failure: bool = True, **args) -> bool:
    return publish(warehouse, _vars(sync_time), raise_on_failure=raise_on_failure, **args).success


@pytest.fixture(scope="module")
def published(make_database: Callable[[str], Warehouse]) -> dict:
    warehouse = make_database("dbt_publishing")
    stored = load_contract(warehouse)
    dbt(warehouse, ["build"], dbt_vars=_vars("2026-11-20T00:05:00Z"), raise_on_failure=True)
    _publish(warehouse, "2026-11-20T00:05:00Z")
    return {"warehouse": warehouse, "stored": stored}


def test_first_publication_copies_every_mart(published: dict) -> None:
    warehouse = published["warehouse"]
    assert _snapshot(warehouse, "analytics") | {"_relations": None} == _snapshot(warehouse, "analytics_build") | {
        "_relations": None
    }
    relations = dict(_snapshot(warehouse)["_relations"])
    assert relations["operator_course_metrics"] == "VIEW"
    assert relations["mart_publications"] == "BASE TABLE"
    assert not [name for name in relations if "__publish" in name]
    conn = warehouse.connect()
    rows = raw_umami.query(conn, "select * from analytics.mart_publications")
    view_sql = raw_umami.query(conn, "select pg_get_viewdef('analytics.operator_course_metrics') as sql")[0]["sql"]
    conn.close()
    assert len(rows) == 1
    assert rows[0]["as_of"].isoformat() == "2026-11-19T23:59:59+00:00"
    assert rows[0]["rebuild_from_date"].isoformat() == "2026-11-17"
    assert rows[0]["full_refresh"] is False
    # the view reads the published tables, never the build schema
    assert "analytics_build" not in view_sql
    assert {r["strategy"] for r in rows[0]["relations"]} == {"full_copy", "replace", "view"}


def _course_build(warehouse: Warehouse, sync_time: str, **extra: str):
    """`dbt build` of the course marts (the fixture's full build made every other mart)."""
    return dbt(warehouse, ["build", "--exclude", "tag:tracking"], dbt_vars=_vars(sync_time, **extra))


def _event_like(published: dict, seq: int, **changes) -> dict:
    base = next(e for e in published["stored"]["events"] if e["_seq"] == seq)
    return {**{k: v for k, v in base.items() if not k.startswith("_")}, **changes}


def test_failing_tests_leave_analytics_unchanged(published: dict) -> None:
    """Two bad loads at once: a duplicated session row (it would double-count u-0001's visits)
    and a course_visit Umami counted that the warehouse lost (closed 30-day window)."""
    warehouse = published["warehouse"]
    before = _snapshot(warehouse)
    session = next(s for s in published["stored"]["sessions"] if s["distinct_id"] == "u-0001")
    lost = _event_like(published, 63)
    conn = warehouse.connect()
    raw_umami.insert_rows(conn, "sessions", [session])
    conn.close()
    _execute(warehouse, "delete from umami_raw.events where event_id = %s", (lost["event_id"],))

    outcome = _course_build(warehouse, "2026-11-20T01:05:00Z")
    assert not outcome.success
    failed = {
        r["unique_id"].rsplit(".", 1)[0] if r["unique_id"].count(".") > 2 else r["unique_id"]
        for r in outcome.failures()
    }
    assert "test.course_analytics.unique_stg_umami__sessions_session_id" in failed
    assert "test.course_analytics.assert_no_course_visits_missing_from_closed_umami_windows" in failed
    # the pipeline publishes only after a successful build: analytics is as it was
    assert _snapshot(warehouse) == before

    # repaired for the next tests
    _execute(
        warehouse,
        "delete from umami_raw.sessions where ctid in (select max(ctid) from umami_raw.sessions "
        "where distinct_id = 'u-0001')",
    )
    conn = warehouse.connect()
    raw_umami.insert_rows(conn, "events", [lost])
    conn.close()


def test_publication_is_atomic_and_a_good_run_publishes(published: dict) -> None:
    """A publication that fails at its very last statement leaves no trace; the next good run
    publishes everything, including build rows below its own rebuild date that a build
    changed but no publication carried (the failed one)."""
    warehouse = published["warehouse"]
    before = _snapshot(warehouse)
    conn = warehouse.connect()
    count_before = raw_umami.query(conn, "select count(*) as n from analytics.mart_publications")[0]["n"]
    # new visits on 2026-11-17 .. 2026-11-19 change every kind of mart
    raw_umami.insert_rows(
        conn,
        "events",
        [
            _event_like(
                published,
                70,
                event_id=f"atomic-{day}",
                created_at=datetime(2026, 11, day, 9, 0, tzinfo=UTC),
                properties=raw_umami.encode_properties({"shifu_bid": "shifu-new", "preview_mode": False}),
            )
            for day in (17, 18, 19)
        ],
    )
    conn.close()
    assert _course_build(warehouse, "2026-11-20T04:05:00Z").success

    # make the last statement of the publication (the mart_publications insert) fail
    _execute(
        warehouse,
        "alter table analytics.mart_publications add constraint reject_new_rows check (publication_id <= %s) not valid",
        (count_before,),
    )
    with pytest.raises(OperationFailed):
        _publish(warehouse, "2026-11-20T04:05:00Z")
    assert _snapshot(warehouse) == before
    conn = warehouse.connect()
    leftovers = raw_umami.query(
        conn,
        "select table_name from information_schema.tables "
        "where table_schema = 'analytics' and table_name like '%%__publish_%%'",
    )
    conn.close()
    assert leftovers == []
    _execute(warehouse, "alter table analytics.mart_publications drop constraint reject_new_rows")

    # the next run rebuilds from 2026-11-19 only; its publication carries 11-17 and 11-18 too
    assert _course_build(warehouse, "2026-11-20T05:05:00Z", rebuild_from_date="2026-11-19").success
    publish(warehouse, _vars("2026-11-20T05:05:00Z", "2026-11-19"))
    after = _snapshot(warehouse)
    assert after != before
    assert after | {"_relations": None} == _snapshot(warehouse, "analytics_build") | {"_relations": None}
    new_days = [r for r in after["analytics_course_daily_stats"] if r[2] == "shifu-new"]
    assert sorted(r[1].isoformat() for r in new_days) == ["2026-11-17", "2026-11-18", "2026-11-19"]
    assert ("shifu-new", 1) in [(r[0], r[1]) for r in after["operator_course_metrics"]]
    conn = warehouse.connect()
    last = raw_umami.query(
        conn, "select relations from analytics.mart_publications order by publication_id desc limit 1"
    )[0]["relations"]
    conn.close()
    daily = next(r for r in last if r["relation"] == "analytics_course_daily_stats")
    assert daily == {"relation": "analytics_course_daily_stats", "strategy": "partition", "from": "2026-11-17"}


def test_full_refresh_publication_copies_everything(published: dict) -> None:
    warehouse = published["warehouse"]
    publish(warehouse, _vars("2026-11-20T05:05:00Z", "2026-11-19"), full_refresh=True)
    conn = warehouse.connect()
    last = raw_umami.query(
        conn, "select full_refresh, relations from analytics.mart_publications order by publication_id desc limit 1"
    )[0]
    conn.close()
    assert last["full_refresh"] is True
    assert {r["strategy"] for r in last["relations"]} == {"full_copy", "replace", "view"}
    assert _snapshot(warehouse) | {"_relations": None} == _snapshot(warehouse, "analytics_build") | {"_relations": None}


def test_analyst_role_reads_marts_only(contract_build: ContractBuild) -> None:
    warehouse = contract_build.warehouse
    run_operation(warehouse, "grant_analyst_access", {"role": "analyst_readonly"}, raise_on_failure=True)
    # a publication after the grant swaps tables in: default privileges cover them
    publish(warehouse, _vars("2026-11-20T00:05:00Z"))
    conn = warehouse.connect()
    try:
        with conn.cursor() as cur:
            cur.execute("select rolcanlogin from pg_roles where rolname = 'analyst_readonly'")
            assert cur.fetchone() == (False,)
            cur.execute("set role analyst_readonly")
            for name in [*PUBLISHED, "mart_publications"]:
                cur.execute(f"select count(*) from analytics.{name}")
                assert cur.fetchone()[0] > 0, name
            cur.execute("select visit_count_30d from analytics.operator_course_metrics where shifu_bid = 'shifu-gamma'")
            assert cur.fetchone() == (6,)
            for forbidden in ["umami_raw.events", "umami_raw.sessions", "analytics_build.analytics_course_daily_stats"]:
                cur.execute("savepoint probe")
                with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                    cur.execute(f"select 1 from {forbidden} limit 1")
                cur.execute("rollback to savepoint probe")
            cur.execute("savepoint probe")
            with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                cur.execute("delete from analytics.analytics_course_daily_stats")
            cur.execute("rollback to savepoint probe")
            cur.execute("savepoint probe")
            with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                cur.execute("create table analytics.analyst_scratch (x int)")
            cur.execute("rollback to savepoint probe")
    finally:
        conn.rollback()
        conn.close()
    # idempotent
    run_operation(warehouse, "grant_analyst_access", {"role": "analyst_readonly"}, raise_on_failure=True)


def test_publish_marts_refuses_to_run_without_a_build(make_database: Callable[[str], Warehouse]) -> None:
    warehouse = make_database("dbt_publish_empty")
    outcome = publish(warehouse, window_vars(AS_OF), raise_on_failure=False)
    assert not outcome.success
    conn = warehouse.connect()
    assert raw_umami.query(conn, "select count(*) as n from pg_namespace where nspname = 'analytics'")[0]["n"] == 0
    conn.close()
