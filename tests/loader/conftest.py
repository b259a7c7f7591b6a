"""Fixtures for loader tests: the contract dataset in a real Umami-compatible server on loopback."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from flows import sync
from flows.settings import UmamiSettings
from flows.warehouse import Warehouse
from loader.pipeline import LoadResult
from tests import oracle
from umami_sim import UmamiSimulator

AS_OF = datetime(2026, 11, 19, 23, 59, 59, tzinfo=UTC)
# Fast retries so that fault tests take seconds; the budget (attempts) stays the default.
FAST_CLIENT = {"backoff_factor": 0.05, "max_retry_delay": 0.5, "jitter": 0.05, "read_timeout": 2.0}


@pytest.fixture(scope="session")
def contract_dataset() -> dict:
    return oracle.load_json("dataset.json")


@dataclass
class UmamiSite:
    sim: UmamiSimulator
    website_id: str

    def settings(self, **overrides: Any) -> UmamiSettings:
        values = {
            "api_url": self.sim.base_url,
            "website_id": self.website_id,
            "username": self.sim.username,
            "password": self.sim.password,
        }
        if self.sim.api_key:
            values.update(username=None, password=None, api_key=self.sim.api_key)
        values.update(overrides)
        return UmamiSettings(**values)


@pytest.fixture
def contract_site(contract_dataset: dict) -> Iterator[UmamiSite]:
    """A fresh simulator (ties shuffled on every request) holding the contract dataset."""
    with UmamiSimulator() as sim:
        website = sim.create_website("umami-contract", "course.example.com")
        answers = sim.send_dataset(contract_dataset, website)
        assert all(a["status"] == 200 for a in answers)
        yield UmamiSite(sim, website)


@pytest.fixture
def load_site(home_dir) -> Callable[..., LoadResult]:
    """Run the real load (dlt pipeline) of a site into a warehouse."""

    def run(site: UmamiSite, warehouse: Warehouse, **options: Any) -> LoadResult:
        names = options.pop("event_names", ("course_visit",))
        client = {**FAST_CLIENT, **options.pop("client_options", {})}
        umami = site.settings(**options.pop("settings", {}))
        parameters = sync.SyncParameters(**{"as_of": AS_OF, **options})
        window = sync.plan(warehouse, umami, parameters, event_names=names)
        return sync.load(warehouse, umami, window, parameters.page_size, client_options=client)

    return run


def raw_events(warehouse: Warehouse) -> Counter:
    """The loaded course events as comparable facts: (name, time, user, url, properties)."""
    with warehouse.connect() as conn, conn.cursor() as cur:
        cur.execute(
            """
            select e.event_name, e.created_at, s.distinct_id, e.url_path, e.properties
            from umami_raw.events e left join umami_raw.sessions s using (session_id)
            """
        )
        rows = cur.fetchall()
    return Counter(
        oracle.SentEvent(
            name,
            at,
            user,
            url,
            frozenset((k, p["data_type"], p["string_value"]) for k, p in props.items()),
        )
        for name, at, user, url, props in rows
    )


def raw_snapshot(warehouse: Warehouse) -> dict[str, list[tuple]]:
    """Every raw table's business columns (no load ids or load times), sorted."""
    queries = {
        "events": "select event_id, website_id, session_id, event_name, created_at, url_path, has_data, "
        "properties::text from umami_raw.events",
        "sessions": "select session_id, website_id, distinct_id, first_at, found from umami_raw.sessions",
        "window_stats": "select window_type, event_name, window_start_date, window_end_date, start_at, end_at, "
        "events, visitors, visits from umami_raw.window_stats",
        "window_property_values": "select window_type, window_end_date, event_name, property_name, value, total "
        "from umami_raw.window_property_values",
    }
    snapshot = {}
    with warehouse.connect() as conn, conn.cursor() as cur:
        for table, query in queries.items():
            cur.execute(query)
            snapshot[table] = sorted(cur.fetchall(), key=repr)
    return snapshot


def expected_events(dataset: dict, names: set[str] | None = None) -> Counter:
    return Counter(oracle.sent_events(dataset, until=AS_OF, names=names or {oracle.COURSE_EVENT}))
