"""``course-analytics status``: where the warehouse is, the last syncs, the marts' sizes (either engine)."""

from __future__ import annotations

import re

from flows.warehouse import MARTS_SCHEMA, RAW_SCHEMA, Warehouse

# Spark publishes each mart as a view over a versioned copy (<mart>__v<N>): the copies are not marts
_PUBLISHED_VERSION = re.compile(r"__v\d+$")


def warehouse_status(warehouse: Warehouse) -> str:
    lines = [f"warehouse: {warehouse.display}" + (" (embedded)" if warehouse.embedded else "")]
    if warehouse.embedded is not None:
        lines.append(f"  data directory: {warehouse.embedded.data_dir}")
    if warehouse.relation_exists(RAW_SCHEMA, "sync_runs"):
        _, rows = warehouse.query(
            f"select website_id, api_url, max(as_of), max(started_at), count(*) "
            f"from {RAW_SCHEMA}.sync_runs group by website_id, api_url order by website_id"
        )
        for website_id, api_url, as_of, started_at, runs in rows:
            lines.append(
                f"last successful load: Umami {api_url} website {website_id}: data up to "
                f"{as_of:%Y-%m-%dT%H:%M:%SZ}, started {started_at:%Y-%m-%dT%H:%M:%SZ} ({runs} loads)"
            )
    else:
        lines.append("last successful load: none yet")
    if warehouse.relation_exists(MARTS_SCHEMA, "mart_publications"):
        _, rows = warehouse.query(
            f"select published_at, as_of from {MARTS_SCHEMA}.mart_publications order by published_at desc limit 1"
        )
        if rows:
            lines.append(f"marts published: {rows[0][0]:%Y-%m-%dT%H:%M:%SZ} (as of {rows[0][1]})")
    tables = [name for name in warehouse.tables(MARTS_SCHEMA) if not _PUBLISHED_VERSION.search(name)]
    if not tables:
        lines.append(f"marts: schema {MARTS_SCHEMA} is empty (no successful transform yet)")
    for table in tables:
        _, rows = warehouse.query(f"select count(*) from {MARTS_SCHEMA}.{table}")
        lines.append(f"  {MARTS_SCHEMA}.{table}: {rows[0][0]} rows")
    return "\n".join(lines)
