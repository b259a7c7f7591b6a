"""Publishing the tested marts to the schema analysts read, and reading what is published."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

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


def marts_snapshot(warehouse: Warehouse) -> MartsSnapshot:
    if not warehouse.relation_exists(MARTS_SCHEMA, "analytics_course_window_stats"):
        return MartsSnapshot()
    _, rows = warehouse.query(
        f"select window_type, shifu_bid, visitor_count, visit_count from {MARTS_SCHEMA}.analytics_course_window_stats"
    )
    return MartsSnapshot({(w, c): (v, n) for w, c, v, n in rows})


def publish(warehouse: Warehouse, window: SyncWindow, sync_time: datetime) -> dict[str, int]:
    """Swap the tested marts into ``analytics`` in one transaction; rows changed per mart."""
    before = marts_snapshot(warehouse)
    # --no-write-json: target/run_results.json keeps the build's node timings (bench/run.py reads them)
    run_dbt(
        warehouse,
        [
            "run-operation",
            "publish_marts",
            "--no-write-json",
            "--args",
            json.dumps({"full_refresh": window.full_refresh}),
        ],
        dbt_vars=window.dbt_vars(sync_time),
    )
    after = marts_snapshot(warehouse)
    changed = {
        "analytics_course_window_stats": sum(
            1 for key in set(before.windows) | set(after.windows) if before.windows.get(key) != after.windows.get(key)
        )
    }
    for table in ("analytics_course_daily_stats",):
        if warehouse.relation_exists(MARTS_SCHEMA, table):
            # grouped here, compared in Python: the engines write timestamp literals differently
            _, rows = warehouse.query(f"select updated_at, count(*) from {MARTS_SCHEMA}.{table} group by updated_at")
            changed[table] = sum(n for updated_at, n in rows if updated_at == sync_time)
    return changed
