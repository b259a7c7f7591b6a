"""Fixtures for the dbt project's tests: databases on the session's PostgreSQL, the contract
dataset loaded the way the loader stores it, and one shared build of it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg2
import pytest

from flows.pgserver import LocalPostgres
from flows.warehouse import Warehouse
from tests.dbt import raw_umami
from tests.dbt.run_helpers import dbt

AS_OF = "2026-11-19T23:59:59Z"
SYNC_TIME = "2026-11-20T00:05:00Z"
BUILD_VARS = {"as_of": AS_OF, "sync_time": SYNC_TIME}


@pytest.fixture(scope="session")
def make_database(postgres_server: LocalPostgres, home_dir: Path) -> Iterator[Callable[[str], Warehouse]]:
    """Create an empty database on the session server (dropped at the end of the session)."""
    admin_dsn = postgres_server.start().dsn
    created: list[str] = []

    def make(name: str) -> Warehouse:
        conn = psycopg2.connect(admin_dsn)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f'drop database if exists "{name}" with (force)')
            cur.execute(f'create database "{name}"')
        conn.close()
        created.append(name)
        return Warehouse(admin_dsn.rsplit("/", 1)[0] + "/" + name)

    yield make
    conn = psycopg2.connect(admin_dsn)
    conn.autocommit = True
    with conn.cursor() as cur:
        for name in created:
            cur.execute(f'drop database if exists "{name}" with (force)')
    conn.close()


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
    dbt(
        warehouse,
        ["run-operation", "publish_marts", "--args", '{"rebuild_from_date": "2026-11-17"}'],
        dbt_vars=BUILD_VARS,
        raise_on_failure=True,
    )
    print(f"\ndbt build of the contract dataset: {seconds:.1f} s ({outcome.summary()})")
    return ContractBuild(warehouse, stored, seconds, outcome.results)
