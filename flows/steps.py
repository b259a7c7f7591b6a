"""One sync, step by step: plan the window once, load, transform, publish, and its report.

The Prefect flow (``flows.flow``) runs these steps as its tasks; ``course-analytics load`` and
``transform`` run the same steps as plain calls, with no Prefect server to start.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from flows import failures, last_run, redact, settings, sync
from flows.publish import marts_snapshot, publish
from flows.warehouse import Warehouse, open_warehouse
from loader.pipeline import LoadResult
from loader.umami import SyncWindow

log = logging.getLogger(__name__)

Steps = Literal["all", "load", "transform"]


@dataclass
class SyncReport:
    as_of: str
    sync_time: str
    steps: str
    umami: str
    website_id: str
    windows: dict[str, list[str]] = field(default_factory=dict)
    requests: int = 0
    rows_loaded: dict[str, int] = field(default_factory=dict)
    rows_rejected: int = 0
    dbt: str = ""
    marts_rows_changed: dict[str, int] = field(default_factory=dict)
    rebuild_from_date: str = ""
    visitors_30d_total: int = 0
    alerts: list[str] = field(default_factory=list)

    def one_line(self) -> str:
        """The totals, short enough to read in a log line; :meth:`markdown` and the fields hold the detail."""
        parts = []
        if self.umami:
            events, rows = self.rows_loaded.get("events", 0), sum(self.rows_loaded.values())
            parts.append(f"{events} events, {rows} rows loaded, {self.rows_rejected} rejected")
        if self.dbt:
            parts.append(f"dbt {self.dbt}; marts rows changed {sum(self.marts_rows_changed.values())}")
        return f"as of {self.as_of}: " + "; ".join(parts)

    def markdown(self) -> str:
        rows = "\n".join(f"| `{t}` | {n} |" for t, n in self.rows_loaded.items())
        marts = "\n".join(f"| `{t}` | {n} |" for t, n in self.marts_rows_changed.items())
        windows = "\n".join(f"- `{name}`: {start} .. {end}" for name, (start, end) in self.windows.items())
        alerts = "\n".join(f"- **{a}**" for a in self.alerts) or "- none"
        return (
            f"# course-analytics sync\n\n"
            f"- synced at **{self.sync_time}**, data up to **{self.as_of}**\n"
            f"- Umami: {self.umami}, website `{self.website_id}`, {self.requests} requests\n"
            f"- rebuilt from {self.rebuild_from_date}; dbt: {self.dbt}\n"
            f"- Visitors (30d), all courses summed per course: {self.visitors_30d_total}\n\n"
            f"## Sync window\n{windows or '- nothing read'}\n\n"
            f"## Rows loaded (upserted)\n| table | rows |\n|---|---|\n{rows}\n\n"
            f"Rows rejected (quarantined in `umami_raw.rejected_rows`): {self.rows_rejected}\n\n"
            f"## Marts rows changed by publish\n| mart | rows |\n|---|---|\n{marts}\n\n"
            f"## Alerts\n{alerts}\n"
        )


def load_step(warehouse: Warehouse, umami: settings.UmamiSettings, window: SyncWindow, page_size: int) -> LoadResult:
    try:
        return sync.load(warehouse, umami, window, page_size)
    except Exception as exc:
        log.error("load failed: %s", failures.describe(exc))
        raise


def transform_step(warehouse: Warehouse, window: SyncWindow, sync_time: datetime) -> str:
    return sync.transform(warehouse, window, sync_time).summary()


@dataclass(frozen=True)
class SyncSteps:
    """The steps of a sync: as Prefect tasks (the flow), or as the plain functions under them
    (``course-analytics load`` and ``transform``, which need no Prefect server)."""

    plan: Callable[..., SyncWindow]
    load: Callable[..., LoadResult]
    transform: Callable[..., str]
    publish: Callable[..., dict[str, int]]


PLAIN_STEPS = SyncSteps(plan=sync.plan, load=load_step, transform=transform_step, publish=publish)


def _log_alert(message: str, event: str, payload: dict[str, Any]) -> None:
    log.error("ALERT: %s", message)


def run_sync(
    parameters: sync.SyncParameters,
    steps: Steps = "all",
    calls: SyncSteps = PLAIN_STEPS,
    alert: Callable[[str, str, dict[str, Any]], None] = _log_alert,
) -> SyncReport:
    """Plan the window once, then load (``steps`` all or load), transform and publish (all or
    transform); the marts change only in publish. Alerts when every course dropped to zero.
    The outcome is recorded for ``status`` (flows/last_run.py)."""
    record = last_run.started(steps)
    try:
        report = _run_sync(parameters, steps, calls, alert)
    except BaseException as exc:
        last_run.finished(record, exc)
        raise
    last_run.finished(record)
    return report


def _run_sync(
    parameters: sync.SyncParameters,
    steps: Steps,
    calls: SyncSteps,
    alert: Callable[[str, str, dict[str, Any]], None],
) -> SyncReport:
    umami = settings.umami_settings() if steps in ("all", "load") else None
    if umami is not None:
        redact.register(**umami.secrets)
    sync_time = datetime.now(UTC)
    loaded: LoadResult | None = None
    dbt_summary, changed = "", {}
    with open_warehouse() as warehouse:
        redact.register(**warehouse.secrets)
        window = calls.plan(warehouse, umami, parameters)
        before = marts_snapshot(warehouse)
        if umami is not None:
            loaded = calls.load(warehouse, umami, window, parameters.page_size)
        if steps in ("all", "transform"):
            dbt_summary = calls.transform(warehouse, window, sync_time)
            changed = calls.publish(warehouse, window, sync_time)
        after = marts_snapshot(warehouse)

    report = SyncReport(
        as_of=window.as_of.isoformat(),
        sync_time=sync_time.isoformat(),
        steps=steps,
        umami=loaded.report.api_url if loaded else "",
        website_id=loaded.report.website_id if loaded else "",
        windows={
            name: [read.start.isoformat(), read.end.isoformat()]
            for name, read in window.reads.items()
            if loaded and loaded.report.events.get(name)
        },
        requests=loaded.report.requests if loaded else 0,
        rows_loaded={table: n for table, n in loaded.rows.items() if n} if loaded else {},
        rows_rejected=loaded.report.rejected if loaded else 0,
        dbt=dbt_summary,
        marts_rows_changed=changed,
        rebuild_from_date=window.rebuild_from.isoformat(),
        visitors_30d_total=after.visitors_30d_total,
    )
    if steps != "load" and after.visitors_30d_total == 0 and before.visitors_30d_total > 0:
        message = (
            f"Visitors (30d) dropped to 0 for all {after.courses} courses "
            f"(previous sync: {before.visitors_30d_total} summed over courses)"
        )
        report.alerts.append(message)
        alert(message, "course-analytics.alert.zero-visitors", {"previous_total": before.visitors_30d_total})
    return report
