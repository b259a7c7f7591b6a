"""The warehouse check: every supported PostgreSQL passes it; an older one is refused by name."""

from __future__ import annotations

import pytest

from flows.settings import ConfigError
from flows.warehouse import OLDEST_SUPPORTED_MAJOR, Warehouse, open_warehouse, require_supported_server


@pytest.mark.pg_matrix
def test_each_server_of_the_matrix_passes_the_check(warehouse_dsn: str, pg_build: str) -> None:
    with open_warehouse(warehouse_dsn) as warehouse:
        assert warehouse.check_server() // 10000 == int(pg_build)


@pytest.mark.parametrize(("version_num", "shown"), [(140012, "14.12"), (130000, "13.0"), (90624, "9.6.24")])
def test_an_older_server_is_refused_with_its_version(version_num: int, shown: str) -> None:
    where = Warehouse("postgresql://analyst:hidden@db.example.com:5432/analytics").display
    with pytest.raises(ConfigError) as error:
        require_supported_server(version_num, where)
    message = str(error.value)
    assert f"runs PostgreSQL {shown}" in message and "db.example.com" in message
    assert f"supports PostgreSQL {OLDEST_SUPPORTED_MAJOR} to 18" in message and "WAREHOUSE_DSN" in message
    assert "hidden" not in message


@pytest.mark.parametrize("version_num", [150000, 160002, 180006])
def test_supported_versions_pass(version_num: int) -> None:
    require_supported_server(version_num, "somewhere")
