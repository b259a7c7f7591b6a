"""Fixtures for the dbt project's tests: databases on the session's PostgreSQL, the contract
dataset loaded the way the loader stores it, and one shared build of it."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from flows.warehouse import Warehouse
from tests.dbt import raw_umami
from tests.dbt.run_helpers import dbt, publish, window_vars

AS_OF = "2026-11-19T23:59:59Z"
SYNC_TIME = "2026-11-20T00:05:00Z"
BUILD_VARS = window_vars(AS_OF, SYNC_TIME)  # rebuilt from 2026-11-17


@dataclass
class ContractBuild:
    warehouse: Warehouse
    stored: dict[str, Any]
    build_seconds: float
    results: list[dict[str, Any]] = field(default_factory=list)

    def query(self, statement: str, params: Any = None) -> list[dict[str, Any]]:
        conn = self.warehouse.connect()
        try:
            return raw_umami.query(conn, statement, params)
        finally:
            conn.close()


def load_contract(warehouse: Warehouse) -> dict[str, Any]:
    conn = warehouse.connect()
    try:
        return raw_umami.load_contract_dataset(conn)
    finally:
        conn.close()


@pytest.fixture(scope="session")
def contract_build(make_database: Callable[[str], Warehouse]) -> ContractBuild:
    """The contract dataset in umami_raw, built once with `dbt build` at as_of 2026-11-19T23:59:59Z
    and published. Tests that only read it share it; tests that change data make their own."""
    warehouse = make_database("dbt_contract")
    stored = load_contract(warehouse)
    started = time.perf_counter()
    outcome = dbt(warehouse, ["build"], dbt_vars=BUILD_VARS, raise_on_failure=True)
    seconds = time.perf_counter() - started
    publish(warehouse, BUILD_VARS)
    print(f"\ndbt build of the contract dataset: {seconds:.1f} s ({outcome.summary()})")
    return ContractBuild(warehouse, stored, seconds, outcome.results)
