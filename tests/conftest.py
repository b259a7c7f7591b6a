"""Shared fixtures: a real PostgreSQL server for the whole test session.

Tests marked ``pg_matrix`` (the dbt marts, publishing, the incremental runs, the end-to-end
contract run) run once per server build of ``--pg`` (default: 15, 16 and 18, see
tests/pg_builds.py); every other test runs on PostgreSQL 18, the embedded default.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg2
import pytest

# Keep every tool local and quiet before anything imports it.
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

from flows.pgserver import LocalPostgres
from flows.warehouse import Warehouse
from tests import pg_builds
from tests.browser import BrowserMissing, ChromiumFactory
from tests.databases import Databases

_PG_VERSIONS = pytest.StashKey[list[str]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--pg",
        default=",".join(pg_builds.ALL),
        help="PostgreSQL major versions the pg_matrix tests run on: comma-separated from "
        f"{', '.join(pg_builds.ALL)}, or 'all' (default: all). Other tests run on {pg_builds.DEFAULT}.",
    )


def pytest_configure(config: pytest.Config) -> None:
    try:
        versions = pg_builds.parse_option(config.getoption("--pg"))
    except ValueError as error:
        raise pytest.UsageError(str(error)) from None
    config.stash[_PG_VERSIONS] = versions


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "pg_build" not in metafunc.fixturenames:
        return
    matrix = metafunc.definition.get_closest_marker("pg_matrix") is not None
    versions = metafunc.config.stash[_PG_VERSIONS] if matrix else [pg_builds.DEFAULT]
    metafunc.parametrize("pg_build", versions, indirect=True, scope="session", ids=[f"pg{v}" for v in versions])


@pytest.fixture(scope="session")
def pg_build(request: pytest.FixtureRequest) -> str:
    """The PostgreSQL major version of this test's server (a session-wide parameter)."""
    return request.param


def _world_traversable_tempdir(prefix: str) -> Path:
    # Under root the server runs as another OS user, which must be able to enter the folder.
    path = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    path.chmod(0o755)
    return path


@pytest.fixture(scope="session")
def postgres_server(pg_build: str) -> Iterator[LocalPostgres]:
    """A PostgreSQL server of build ``pg_build``, started by the project's own mechanism."""
    try:
        bindir = pg_builds.bindir(pg_build)
    except FileNotFoundError as error:
        pytest.fail(str(error), pytrace=False)
    base = _world_traversable_tempdir(f"ca-test-pg{pg_build}-")
    server = LocalPostgres(base / "pg", durable=False, bindir=bindir)
    info = server.start()
    with psycopg2.connect(info.dsn) as conn:
        assert conn.server_version // 10000 == int(pg_build), (
            f"asked for PostgreSQL {pg_build}, got {conn.server_version}"
        )
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def warehouse_dsn(postgres_server: LocalPostgres) -> str:
    return postgres_server.start().dsn


@pytest.fixture(scope="session")
def home_dir() -> Iterator[Path]:
    """COURSE_ANALYTICS_HOME for the session: dlt pipelines, dbt target, Prefect database."""
    base = _world_traversable_tempdir("ca-test-home-")
    old = os.environ.get("COURSE_ANALYTICS_HOME")
    os.environ["COURSE_ANALYTICS_HOME"] = str(base)
    try:
        yield base
    finally:
        if old is None:
            os.environ.pop("COURSE_ANALYTICS_HOME", None)
        else:
            os.environ["COURSE_ANALYTICS_HOME"] = old
        shutil.rmtree(base, ignore_errors=True)


@contextmanager
def _named_after(request: pytest.FixtureRequest, server: LocalPostgres) -> Iterator:
    """``factory(suffix)``: databases named after the requesting test or module."""
    databases = Databases(server)
    base = "".join(c if c.isalnum() else "_" for c in request.node.name.lower())[:40]
    try:
        yield lambda suffix="": databases.create(f"t_{base}{'_' + suffix if suffix else ''}")
    finally:
        databases.drop_all()


@pytest.fixture(scope="session")
def make_database(postgres_server: LocalPostgres, home_dir: Path) -> Iterator:
    """``make(name)``: an empty database on the session server, dropped at the end of the session."""
    databases = Databases(postgres_server)
    try:
        yield databases.create
    finally:
        databases.drop_all()


@pytest.fixture
def database_factory(postgres_server: LocalPostgres, request: pytest.FixtureRequest) -> Iterator:
    """Make empty databases on the session server (``factory(suffix)``); all dropped after the test."""
    with _named_after(request, postgres_server) as factory:
        yield factory


@pytest.fixture(scope="module")
def database_factory_module(postgres_server: LocalPostgres, request: pytest.FixtureRequest) -> Iterator:
    """The same, for module-scoped fixtures; dropped after the module."""
    with _named_after(request, postgres_server) as factory:
        yield factory


@pytest.fixture
def fresh_database(database_factory) -> Warehouse:
    """An empty database on the session server, dropped after the test."""
    return database_factory()


@pytest.fixture(scope="session")
def chromium_factory() -> Iterator[ChromiumFactory]:
    factory = ChromiumFactory()
    try:
        yield factory
    finally:
        factory.close()


@pytest.fixture(scope="session")
def browser(chromium_factory: ChromiumFactory):
    """One headless Chromium for the session (browser tests open their own pages in it)."""
    try:
        return chromium_factory.new_driver()
    except BrowserMissing as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Screenshots and pages the browser tests keep for people to look at (test-artifacts/, not in git)."""
    path = Path(__file__).resolve().parents[1] / "test-artifacts"
    path.mkdir(exist_ok=True)
    return path
