"""Rows Umami sends in a shape the loader cannot store go to ``umami_raw.rejected_rows``: none lost.

The simulator's ``bad_rows`` fault spoils rows of list answers as a broken proxy or a changed API
might. A clean load of the same site is the oracle: every event it holds is either loaded or
quarantined by the spoiled load, never both, never neither.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from flows.warehouse import Warehouse
from tests.loader.conftest import UmamiSite, expected_events, raw_events
from umami_sim import Fault


def _rows(warehouse: Warehouse, query: str) -> list[tuple]:
    with warehouse.connect() as conn, conn.cursor() as cur:
        cur.execute(query)
        return cur.fetchall()


def _events(warehouse: Warehouse) -> dict[str, tuple[Any, ...]]:
    """Event id -> (created_at as Umami prints it, session id, url path)."""
    rows = _rows(
        warehouse,
        "select event_id, to_char(created_at at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),"
        " session_id, url_path from umami_raw.events",
    )
    return {row[0]: tuple(row[1:]) for row in rows}


def _rejected(warehouse: Warehouse) -> list[tuple[str, str, dict]]:
    return _rows(warehouse, "select endpoint, reason, payload from umami_raw.rejected_rows")


SPOILED_EVENTS = {
    "no time": ({"createdAt": None}, "missing_created_at"),
    "a word for a time": ({"createdAt": "yesterday"}, "bad_created_at"),
    "an impossible time": ({"createdAt": "2026-13-45T99:00:00.000Z"}, "bad_created_at"),
    "a number for a session id": ({"sessionId": 7}, "sessionId_not_text"),
    "a list for a URL": ({"urlPath": ["/c/1"]}, "urlPath_not_text"),
}


@pytest.mark.parametrize(("patch", "reason"), SPOILED_EVENTS.values(), ids=SPOILED_EVENTS.keys())
def test_events_that_cannot_be_stored_are_quarantined_and_none_is_lost(
    contract_site: UmamiSite, contract_dataset, database_factory, load_site, patch: dict, reason: str
) -> None:
    """Every events page comes with one spoiled row (a random one, on every request)."""
    clean: Warehouse = database_factory("clean")
    load_site(contract_site, clean, page_size=7)
    oracle = _events(clean)
    assert len(oracle) == 51

    spoiled: Warehouse = database_factory("spoiled")
    contract_site.sim.add_fault(Fault("bad_rows", path="/events", patch=patch, count=None))
    result = load_site(contract_site, spoiled, page_size=7)

    rejected = _rejected(spoiled)
    assert rejected and {(endpoint, reason) for endpoint, reason, _ in rejected} == {("events", reason)}
    assert result.report.rejected == len(rejected)
    assert result.report.events == {"course_visit": 51 - len(rejected)}
    assert result.rows["events"] == 51 - len(rejected) and result.rows["rejected_rows"] == len(rejected)
    loaded = _events(spoiled)
    assert all(loaded[event_id] == oracle[event_id] for event_id in loaded)
    quarantined = Counter(payload["id"] for _, _, payload in rejected)
    assert max(quarantined.values()) == 1 and not set(quarantined) & set(loaded)
    assert set(loaded) | set(quarantined) == set(oracle)  # nothing lost
    for _, _, payload in rejected:  # the row as Umami sent it, spoiled fields aside
        sent = dict(zip(("createdAt", "sessionId", "urlPath"), oracle[payload["id"]], strict=True))
        assert payload == {**payload, **{k: v for k, v in sent.items() if k not in patch}, **patch}

    # Read again once Umami answers well, the quarantined events load; nothing is doubled.
    contract_site.sim.clear_faults()
    load_site(contract_site, spoiled, page_size=7, full_refresh=True)
    assert raw_events(spoiled) == expected_events(contract_dataset)
    assert len(_rejected(spoiled)) == len(rejected)  # the quarantine is a log: kept


def test_odd_property_value_rows_are_quarantined(contract_site: UmamiSite, database_factory, load_site) -> None:
    values = "select value, total from umami_raw.window_property_values"
    clean: Warehouse = database_factory("clean")
    load_site(contract_site, clean)
    oracle = dict(_rows(clean, values))
    assert len(oracle) == 8

    spoiled: Warehouse = database_factory("spoiled")
    contract_site.sim.add_fault(Fault("bad_rows", path="/event-data/values", patch={"total": "many"}, patch_rows=2))
    load_site(contract_site, spoiled)
    rejected = _rejected(spoiled)
    assert [(endpoint, reason) for endpoint, reason, _ in rejected] == [("event-data/values", "bad_total")] * 2
    kept = dict(_rows(spoiled, values))
    assert {payload["value"] for _, _, payload in rejected} == set(oracle) - set(kept)
    assert len(kept) == 6 and all(oracle[value] == total for value, total in kept.items())

    # The next run replaces the window's values; this time one row comes without its value.
    contract_site.sim.add_fault(Fault("bad_rows", path="/event-data/values", patch={"value": None}))
    load_site(contract_site, spoiled)
    kept = dict(_rows(spoiled, values))
    assert "None" not in kept and len(kept) == 7 and all(oracle[value] == total for value, total in kept.items())
    (missing,) = set(oracle) - set(kept)
    latest = [payload for _, reason, payload in _rejected(spoiled) if reason == "missing_value"]
    assert latest == [{"value": None, "total": oracle[missing]}]


SPOILED_SESSIONS = {
    "a number for a distinct id": ({"distinctId": 7}, "distinctId_not_text"),
    "an object for a distinct id": ({"distinctId": {"id": "u-1"}}, "distinctId_not_text"),
    "a word for firstAt": ({"firstAt": "garbage"}, "bad_first_at"),
    "a number for firstAt": ({"firstAt": 5}, "bad_first_at"),
}


@pytest.mark.parametrize(("patch", "reason"), SPOILED_SESSIONS.values(), ids=SPOILED_SESSIONS.keys())
def test_session_answers_that_cannot_be_stored_are_quarantined(
    contract_site: UmamiSite, database_factory, load_site, patch: dict, reason: str
) -> None:
    """Not stored (so asked again when its events are read again), never as a user "7"."""
    sessions = "select session_id, distinct_id, first_at, found from umami_raw.sessions"
    clean: Warehouse = database_factory("clean")
    load_site(contract_site, clean)
    oracle = {row[0]: row[1:] for row in _rows(clean, sessions)}
    assert all(found for *_, found in oracle.values())

    spoiled: Warehouse = database_factory("spoiled")
    contract_site.sim.add_fault(Fault("bad_rows", path="/sessions/", patch=patch))
    load_site(contract_site, spoiled)
    ((endpoint, why, payload),) = _rejected(spoiled)
    assert (endpoint, why) == ("sessions", reason) and payload == {**payload, **patch}
    stored = {row[0]: row[1:] for row in _rows(spoiled, sessions)}
    assert payload["id"] not in stored
    assert stored == {k: v for k, v in oracle.items() if k != payload["id"]}
    column_types = _rows(
        spoiled,
        "select column_name, data_type from information_schema.columns"
        " where table_schema = 'umami_raw' and table_name = 'sessions' and column_name in ('distinct_id', 'first_at')",
    )
    assert sorted(column_types) == [("distinct_id", "character varying"), ("first_at", "character varying")]

    load_site(contract_site, spoiled, full_refresh=True)  # its events read again: asked again
    assert {row[0]: row[1:] for row in _rows(spoiled, sessions)} == oracle
