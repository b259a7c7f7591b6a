"""Publishing the tested marts to the schema analysts read, and reading what is published."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

from psycopg2 import sql

from flows.dbt import run_dbt
from flows.warehouse import MARTS_SCHEMA, Warehouse
from loader.umami import SyncWindow


@dataclass(frozen=True)
class MartsSnapshot:
    """The published course window figures, to tell what a publish changed."""

    windows: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)

    @property
    def visitors_30d_total(self) -> int:
        return sum(v for (window, _), (v, _) in self.windows.items() if window == "last_30_days")

    @property
    def courses(self) -> int:
        return sum(1 for window, _ in self.windows if window == "last_30_days")


def _exists(cur, relation: str) -> bool:
    cur.execute("select to_regclass(%s)", (relation,))
    return cur.fetchone()[0] is not None


def marts_snapshot(warehouse: Warehouse) -> MartsSnapshot:
    table = f"{MARTS_SCHEMA}.analytics_course_window_stats"
    with warehouse.connect() as conn, conn.cursor() as cur:
        if not _exists(cur, table):
            return MartsSnapshot()
        cur.execute(
            sql.SQL("select window_type, shifu_bid, visitor_count, visit_count from {}.{}").format(
                sql.Identifier(MARTS_SCHEMA), sql.Identifier("analytics_course_window_stats")
            )
        )
        return MartsSnapshot({(w, c): (v, n) for w, c, v, n in cur.fetchall()})


def publish(warehouse: Warehouse, window: SyncWindow, sync_time: datetime) -> dict[str, int]:
    """Swap the tested marts into ``analytics`` in one transaction; rows changed per mart."""
    before = marts_snapshot(warehouse)
    run_dbt(
        warehouse,
        ["run-operation", "publish_marts", "--args", json.dumps({"full_refresh": window.full_refresh})],
        dbt_vars=window.dbt_vars(sync_time),
    )
    after = marts_snapshot(warehouse)
    changed = {
        "analytics_course_window_stats": sum(
            1 for key in set(before.windows) | set(after.windows) if before.windows.get(key) != after.windows.get(key)
        )
    }
    with warehouse.connect() as conn, conn.cursor() as cur:
        for table in ("analytics_course_daily_stats",):
            if not _exists(cur, f"{MARTS_SCHEMA}.{table}"):
                continue
            cur.execute(
                sql.SQL("select count(*) from {}.{} where updated_at = %s").format(
                    sql.Identifier(MARTS_SCHEMA), sql.Identifier(table)
                ),
                (sync_time,),
            )
            changed[table] = cur.fetchone()[0]
    return changed
