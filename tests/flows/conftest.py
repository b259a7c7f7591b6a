"""Fixtures for the Prefect flow tests: Prefect's test harness, a simulator, a warehouse."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from flows.warehouse import Warehouse
from umami_sim import UmamiSimulator


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture
def sync_env(monkeypatch: pytest.MonkeyPatch, fresh_database: Warehouse, home_dir, prefect_harness):
    """Point the flow's settings at a new simulator website and a fresh warehouse database."""
    with UmamiSimulator() as sim:
        website = sim.create_website("flow", "course.example.com")
        monkeypatch.setenv("UMAMI_API_URL", sim.base_url)
        monkeypatch.setenv("UMAMI_WEBSITE_ID", website)
        monkeypatch.setenv("UMAMI_USERNAME", sim.username)
        monkeypatch.setenv("UMAMI_PASSWORD", sim.password)
        monkeypatch.delenv("UMAMI_API_KEY", raising=False)
        monkeypatch.setenv("WAREHOUSE_DSN", fresh_database.dsn)
        yield sim, website, fresh_database
