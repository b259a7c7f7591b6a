"""The loader against the contract dataset: exactly the contract's events, properties and users."""

from __future__ import annotations

from datetime import timedelta

import pytest

from flows.warehouse import Warehouse
from loader.pipeline import RAW_TABLES, LoadResult
from tests.loader.conftest import AS_OF, UmamiSite, expected_events, raw_events, raw_snapshot
from umami_sim import UmamiSimulator, course_visit_body


@pytest.mark.parametrize("page_size", [1, 2, 3, 7, 50, 10_000])
def test_raw_tables_hold_exactly_the_contract(
    contract_site, contract_dataset, fresh_database: Warehouse, load_site, page_size: int
) -> None:
    """Ties are shuffled on every request: at any page size no event is lost or duplicated."""
    result = load_site(contract_site, fresh_database, page_size=page_size)
    expected = expected_events(contract_dataset)
    assert sum(expected.values()) == 51  # 52 course_visit sent; one is after the as-of instant
    assert raw_events(fresh_database) == expected
    assert result.rows["events"] == 51 and result.report.rejected == 0
    with fresh_database.connect() as conn, conn.cursor() as cur:
        cur.execute("select count(*), count(distinct_id), bool_and(found) from umami_raw.sessions")
        assert cur.fetchone() == (13, 8, True)  # 8 users, 5 guest sessions (one guest in two months)
        cur.execute("select events, visitors, visits, window_start_date::text, end_at from umami_raw.window_stats")
        assert cur.fetchall() == [(43, 13, 37, "2026-10-21", AS_OF)]  # Umami's own 30-day figures
        cur.execute("select value, total from umami_raw.window_property_values order by total desc, value")
        values = cur.fetchall()
    assert values[:4] == [("shifu-beta", 11), ("shifu-alpha", 9), ("shifu-delta", 9), ("shifu-gamma", 8)]
    assert ("123", 1) in values  # Umami shows the number 123 without ".0000"


def test_numeric_and_unicode_values_keep_their_type(contract_site, fresh_database: Warehouse, load_site) -> None:
    load_site(contract_site, fresh_database)
    with fresh_database.connect() as conn, conn.cursor() as cur:
        cur.execute(
            "select properties->'shifu_bid' from umami_raw.events where properties->'shifu_bid'->>'data_type' <> '1'"
        )
        (numeric,) = cur.fetchone()
        cur.execute(
            "select count(*) from umami_raw.events where properties->'shifu_bid'->>'string_value' = %s",
            ("shifu-数学-α🎓",),
        )
        unicode_count = cur.fetchone()[0]
        cur.execute("select count(*) from umami_raw.events where properties = '{}'::jsonb and not has_data")
        without_data = cur.fetchone()[0]
    assert numeric == {"data_type": 2, "string_value": "123.0000", "number_value": "123", "date_value": None}
    assert unicode_count == 1
    assert without_data == 1  # the course_visit sent with no data at all is loaded too


def test_two_runs_in_a_row_change_nothing(contract_site, fresh_database: Warehouse, load_site, home_dir) -> None:
    first_load = load_site(contract_site, fresh_database)
    first = raw_snapshot(fresh_database)
    first_counted = _counted(fresh_database, first_load)
    again = load_site(contract_site, fresh_database)
    # the rows each run reports are the rows its load packages hold in the tables
    assert first_load.rows == first_counted and first_load.rows["events"] == 51
    assert again.rows == _counted(fresh_database, again)
    assert again.rows["events"] == sum(again.report.events.values()) > 0  # the 3-day lookback, read again
    assert again.rows["sessions"] == 0
    assert raw_snapshot(fresh_database) == first
    assert again.report.sessions_fetched == 0  # sessions are fetched once per id, never again
    assert contract_site.sim.request_count("/sessions/") == 13
    assert not list(home_dir.rglob("event-files-*"))  # the events' CSV files live in the load packages only


def _counted(warehouse: Warehouse, run: LoadResult) -> dict[str, int]:
    """The rows of each raw table that carry one of the run's load ids."""
    with warehouse.connect() as conn, conn.cursor() as cur:
        counts = {}
        for table in RAW_TABLES:
            cur.execute(f"select count(*) from umami_raw.{table} where _dlt_load_id = any(%s)", (run.load_ids,))
            counts[table] = cur.fetchone()[0]
        return counts


def test_other_event_names_load_through_the_same_resource(
    contract_site, contract_dataset, fresh_database: Warehouse, load_site
) -> None:
    names = ("course_visit", "daily_login", "work_play_start", "Course_Visit")
    load_site(contract_site, fresh_database, event_names=names)
    assert raw_events(fresh_database) == expected_events(contract_dataset, set(names))


def test_values_that_look_like_timestamps_stay_text(fresh_database: Warehouse, load_site) -> None:
    """Umami ranks values by count and shuffles ties; whichever comes first, ``value`` is text.

    dlt would type a new column from its first value ("2026-11-01T08:00:00Z" → timestamp), and
    the next value ("", "shifu-a") would then fail the COPY of the whole load package.
    """
    sent = {"2026-11-01T08:00:00.000Z": 3, "2026-11-02": 2, "shifu-a": 1, "": 1}
    with UmamiSimulator() as sim:
        website = sim.create_website("timestamp-like", "course.example.com")
        values = [value for value, times in sent.items() for _ in range(times)]
        for minute, value in enumerate(values, start=1):
            at_s = int((AS_OF - timedelta(days=1, minutes=minute)).timestamp())
            assert sim.send(course_visit_body(website, f"u-{minute}", value, at_s))[0] == 200
        load_site(UmamiSite(sim, website), fresh_database)
    with fresh_database.connect() as conn, conn.cursor() as cur:
        cur.execute(
            "select data_type from information_schema.columns"
            " where table_schema = 'umami_raw' and table_name = 'window_property_values' and column_name = 'value'"
        )
        assert cur.fetchone() == ("character varying",)
        cur.execute("select value, total from umami_raw.window_property_values order by total desc, value")
        values = cur.fetchall()
    # Umami shows a stored date truncated to the hour; the other strings as sent
    assert values == [("2026-11-01T08:00:00Z", 3), ("2026-11-02", 2), ("", 1), ("shifu-a", 1)]
