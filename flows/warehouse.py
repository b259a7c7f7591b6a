"""The warehouse: a configured DSN, the embedded local PostgreSQL, or Spark over a lake.

``WAREHOUSE_ENGINE`` picks the engine (postgres by default, or spark: ``flows.spark``). On
PostgreSQL one setting (``WAREHOUSE_DSN``) names the warehouse for dlt and dbt alike; dbt reads
its parts from the ``WAREHOUSE_*`` environment variables this module derives from it (see
``profiles.yml.example``). Both engines' warehouses offer what the steps use: the raw pipeline,
the known sessions, the dbt target, and plain queries (``query``, ``relation_exists``).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import dlt
import psycopg2
from psycopg2.extensions import parse_dsn

from flows import paths, settings
from flows.pgserver import LocalPostgres
from loader import pipeline as raw

# The oldest PostgreSQL the models, the loader and publishing are tested on (15, 16 and 18 run in
# the test suite); older servers are refused before anything runs.
OLDEST_SUPPORTED_MAJOR = 15

RAW_SCHEMA = "umami_raw"
MARTS_SCHEMA = "analytics"
BUILD_SCHEMA = "analytics_build"


@dataclass
class Warehouse:
    """A PostgreSQL warehouse: raw tables merged by dlt, marts built by dbt-postgres."""

    dsn: str = field(repr=False)
    embedded: LocalPostgres | None = None
    started_here: bool = False
    engine = "postgres"
    dbt_target = "warehouse"  # the profile's output (dbt_project/profiles.yml)
    loader_file_format = "csv"

    @property
    def parts(self) -> dict[str, str]:
        return parse_dsn(self.dsn)

    @property
    def display(self) -> str:
        """The DSN without its password, safe to print."""
        p = self.parts
        user = quote(p.get("user", ""), safe="") if p.get("user") else ""
        auth = f"{user}:***@" if p.get("password") else (f"{user}@" if user else "")
        host = p.get("host", "")
        port = f":{p['port']}" if p.get("port") else ""
        return f"postgresql://{auth}{host}{port}/{p.get('dbname', '')}"

    @property
    def key(self) -> str:
        """A short stable name of this warehouse (host, port, database, user; not the password)."""
        p = self.parts
        identity = "|".join(p.get(k, "") for k in ("host", "port", "dbname", "user"))
        return hashlib.sha256(identity.encode()).hexdigest()[:16]

    @property
    def secrets(self) -> dict[str, str | None]:
        """The DSN's password by the setting it comes from (for ``flows.redact.register``)."""
        return {settings.WAREHOUSE_DSN.env: self.parts.get("password") or None}

    def dbt_env(self) -> dict[str, str]:
        """Environment variables the dbt profile reads (profiles.yml.example)."""
        p = self.parts
        return {
            "WAREHOUSE_HOST": p.get("host", ""),
            "WAREHOUSE_PORT": p.get("port", "5432"),
            "WAREHOUSE_USER": p.get("user", os.environ.get("USER", "postgres")),
            "WAREHOUSE_PASSWORD": p.get("password", ""),
            "WAREHOUSE_DBNAME": p.get("dbname", ""),
        }

    def connect(self):  # -> psycopg2 connection
        return psycopg2.connect(self.dsn)

    def dbt_vars(self) -> dict[str, str]:
        return {}

    def prepare_dbt(self) -> None:
        """Nothing: dbt-postgres opens its own connections."""

    def raw_pipeline(self) -> dlt.Pipeline:
        """The dlt pipeline of this warehouse. Its working folder is the warehouse's own (named by
        host, port and database, never the password): another warehouse never plans from its state."""
        return raw.make_pipeline(self.dsn, paths.data_dir() / "dlt" / self.key)

    def prepare_source(self, source: dlt.sources.DltSource) -> dlt.sources.DltSource:
        return source

    def known_sessions(self) -> Callable[[list[str]], set[str]]:
        return raw.known_sessions_lookup(self.dsn)

    def after_load(self) -> None:
        raw.ensure_indexes(self.dsn)

    def missing_raw_tables(self) -> list[str]:
        return self.missing_tables(RAW_SCHEMA, raw.RAW_TABLES)

    def query(self, text: str, *, read_only: bool = False) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Run one statement; its column names and rows (none for a statement without rows)."""
        with self.connect() as conn, conn.cursor() as cur:
            if read_only:
                cur.execute("set transaction read only")
                text = f"select * from ({text}) as q"
            cur.execute(text)
            if cur.description is None:
                return [], []
            return [c.name for c in cur.description], [tuple(row) for row in cur.fetchall()]

    def relation_exists(self, schema: str, name: str) -> bool:
        with self.connect() as conn, conn.cursor() as cur:
            cur.execute("select to_regclass(%s)", (f'"{schema}"."{name}"',))
            return cur.fetchone()[0] is not None

    def tables(self, schema: str) -> list[str]:
        """The tables and views of ``schema``, by name."""
        with self.connect() as conn, conn.cursor() as cur:
            cur.execute(
                "select table_name from information_schema.tables where table_schema = %s order by 1", (schema,)
            )
            return [name for (name,) in cur.fetchall()]

    def missing_tables(self, schema: str, tables: Sequence[str]) -> list[str]:
        """Which of ``tables`` do not exist in ``schema``."""
        with self.connect() as conn, conn.cursor() as cur:
            cur.execute(
                "select table_name from information_schema.tables where table_schema = %s and table_name = any(%s)",
                (schema, list(tables)),
            )
            present = {name for (name,) in cur.fetchall()}
        return [table for table in tables if table not in present]

    def check_server(self) -> int:
        """The server's version number (``150018``); a ConfigError when it is older than supported."""
        with self.connect() as conn:
            version = conn.server_version
        require_supported_server(version, self.display)
        return version

    def close(self) -> None:
        """Stop the embedded server if this process started it."""
        if self.embedded is not None and self.started_here:
            self.embedded.stop()
            self.started_here = False

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def require_supported_server(version_num: int, where: str) -> None:
    """Refuse PostgreSQL servers older than :data:`OLDEST_SUPPORTED_MAJOR` (``version_num`` as libpq gives it)."""
    major = version_num // 10000
    if major < OLDEST_SUPPORTED_MAJOR:
        # libpq's numbering: 150012 is 15.12; before 10, 90624 is 9.6.24
        readable = (
            f"{major}.{version_num % 10000}"
            if version_num >= 100000
            else f"{major}.{version_num // 100 % 100}.{version_num % 100}"
        )
        raise settings.ConfigError(
            f"The warehouse at {where} runs PostgreSQL {readable}; course-analytics supports PostgreSQL "
            f"{OLDEST_SUPPORTED_MAJOR} to 18 (tested on 15, 16 and 18). Point {settings.WAREHOUSE_DSN.env} at a "
            f"PostgreSQL {OLDEST_SUPPORTED_MAJOR} or newer server, or unset it to use the embedded one."
        )


def embedded_server(base_dir: Path | None = None) -> LocalPostgres:
    return LocalPostgres(base_dir or paths.data_dir() / "postgres")


def open_warehouse(dsn: str | None = None) -> Warehouse:
    """The configured warehouse: Spark (``WAREHOUSE_ENGINE=spark``), a PostgreSQL DSN, or the
    embedded PostgreSQL (started, or reused when it runs)."""
    if dsn is None and settings.warehouse_engine() == "spark":
        from flows.spark import SparkWarehouse

        return SparkWarehouse(settings.spark_settings())  # type: ignore[return-value]
    dsn = dsn or settings.warehouse_dsn()
    if dsn:
        warehouse = Warehouse(dsn)
    else:
        server = embedded_server()
        info = server.start()
        warehouse = Warehouse(info.dsn, embedded=server, started_here=info.started_here)
    try:
        warehouse.check_server()
    except BaseException:
        warehouse.close()
        raise
    return warehouse
