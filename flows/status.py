"""``course-analytics status``: where the warehouse is, the last sync and its outcome, and every
published mart with its rows, publication time and data as-of time (either engine)."""

from __future__ import annotations

from datetime import datetime

from flows import last_run
from flows.published import mart_states, utc
from flows.warehouse import MARTS_SCHEMA, RAW_SCHEMA, Warehouse


def _instant(moment: datetime | None) -> str:
    return f"{utc(moment):%Y-%m-%dT%H:%M:%SZ}" if moment is not None else "never"


def warehouse_status(warehouse: Warehouse) -> str:
    lines = [f"warehouse: {warehouse.display}" + (" (embedded)" if warehouse.embedded else "")]
    if warehouse.embedded is not None:
        lines.append(f"  data directory: {warehouse.embedded.data_dir}")
    record = last_run.read()
    lines.append(f"last run: {record.describe() if record else 'none recorded on this machine'}")
    if warehouse.relation_exists(RAW_SCHEMA, "sync_runs"):
        _, rows = warehouse.query(
            f"select website_id, api_url, max(as_of), max(started_at), count(*) "
            f"from {RAW_SCHEMA}.sync_runs group by website_id, api_url order by website_id"
        )
        for website_id, api_url, as_of, started_at, runs in rows:
            lines.append(
                f"last successful load: Umami {api_url} website {website_id}: data up to "
                f"{_instant(as_of)}, started {_instant(started_at)} ({runs} loads)"
            )
    else:
        lines.append("last successful load: none yet")
    states = mart_states(warehouse)
    if not states:
        lines.append(f"marts: schema {MARTS_SCHEMA} is empty (no successful transform yet)")
        return "\n".join(lines)
    width = max(len(s.name) for s in states)
    lines.append(f"marts in {MARTS_SCHEMA}:")
    lines.append(f"  {'mart':<{width}}  {'rows':>9}  {'published':<20}  data as of")
    for state in states:
        lines.append(
            f"  {state.name:<{width}}  {state.rows:>9}  {_instant(state.published_at):<20}  {_instant(state.as_of)}"
        )
    return "\n".join(lines)
