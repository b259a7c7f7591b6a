"""Empty databases on a test server: the one way tests create and drop them (tests/conftest.py)."""

from __future__ import annotations

import psycopg2

from flows.pgserver import LocalPostgres
from flows.warehouse import Warehouse


class Databases:
    """Empty databases on one test server, each dropped (with its connections) by ``drop_all``."""

    def __init__(self, server: LocalPostgres) -> None:
        self.admin_dsn = server.start().dsn
        self._created: list[str] = []

    def _execute(self, *statements: str) -> None:
        conn = psycopg2.connect(self.admin_dsn)
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                for statement in statements:
                    cur.execute(statement)
        finally:
            conn.close()

    def create(self, name: str) -> Warehouse:
        """A new, empty database ``name`` (an existing one of that name is dropped first)."""
        self._execute(f'drop database if exists "{name}" with (force)', f'create database "{name}"')
        self._created.append(name)
        return Warehouse(self.admin_dsn.rsplit("/", 1)[0] + "/" + name)

    def drop_all(self) -> None:
        self._execute(*(f'drop database if exists "{name}" with (force)' for name in self._created))
        self._created.clear()
