"""The warehouse: a configured DSN, or the embedded local PostgreSQL.

One setting (``WAREHOUSE_DSN``) names the warehouse for dlt and dbt alike; dbt reads its parts
from the ``WAREHOUSE_*`` environment variables this module derives from it (see
``profiles.yml.example``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import psycopg2
from psycopg2.extensions import parse_dsn

from flows import paths, settings
from flows.pgserver import LocalPostgres

RAW_SCHEMA = "umami_raw"
MARTS_SCHEMA = "analytics"
BUILD_SCHEMA = "analytics_build"


@dataclass
class Warehouse:
    dsn: str = field(repr=False)
    embedded: LocalPostgres | None = None
    started_here: bool = False

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
    def password(self) -> str | None:
        return self.parts.get("password") or None

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

    def close(self) -> None:
        """Stop the embedded server if this process started it."""
        if self.embedded is not None and self.started_here:
            self.embedded.stop()
            self.started_here = False

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def embedded_server(base_dir: Path | None = None) -> LocalPostgres:
    return LocalPostgres(base_dir or paths.data_dir() / "postgres")


def open_warehouse(dsn: str | None = None) -> Warehouse:
    """The configured warehouse, or the embedded one (started, or reused when it runs)."""
    dsn = dsn or settings.warehouse_dsn()
    if dsn:
        return Warehouse(dsn)
    server = embedded_server()
    info = server.start()
    return Warehouse(info.dsn, embedded=server, started_here=info.started_here)
