"""One contract run for the analyst-facing tests: the contract dataset on the simulator, then
`course-analytics run` into a PostgreSQL database, as a user would; the tests then run `report`,
`docs` and `status` on that home and warehouse."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from flows.warehouse import Warehouse
from tests.contract_site import contract_site

CLI = str(Path(sys.executable).parent / "course-analytics")
AS_OF = "2026-11-19T23:59:59Z"
SECRET = "Planted-Secret-3f9a-analyst"


@dataclass
class Published:
    warehouse: Warehouse
    env: dict[str, str]  # the CLI's environment for this home and warehouse
    home: Path

    def cli(self, *args: str, timeout: int = 600, **env: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [CLI, *args], env={**self.env, **env}, capture_output=True, text=True, timeout=timeout, cwd="/"
        )


@pytest.fixture(scope="package")
def published(postgres_server, tmp_path_factory) -> Iterator[Published]:
    from tests.databases import Databases

    databases = Databases(postgres_server)
    warehouse = databases.create("t_analyst_contract")
    home = tmp_path_factory.mktemp("analyst-home")
    try:
        with contract_site(SECRET) as site:
            env = {**site, "WAREHOUSE_DSN": warehouse.dsn, "COURSE_ANALYTICS_HOME": str(home)}
            run = subprocess.run(
                [CLI, "run", "--as-of", AS_OF], env=env, capture_output=True, text=True, timeout=600, cwd="/"
            )
            assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-5000:]
        yield Published(warehouse, env, home)
    finally:
        databases.drop_all()


def rows(warehouse: Warehouse, query: str) -> list[tuple]:
    with warehouse.connect() as conn, conn.cursor() as cur:
        cur.execute(query)
        return cur.fetchall()
