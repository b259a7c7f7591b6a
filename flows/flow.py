"""The Prefect flow ``course-analytics-sync``: load, then transform, then publish.

``course-analytics run`` and the hourly deployment run this same flow. The marts analysts read
change only in ``publish``, after the load and every dbt test succeeded; a failure anywhere
before leaves them at their last published values.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NONE as NO_CACHE
from prefect.client.schemas.objects import FlowRun
from prefect.events import emit_event
from prefect.states import State
from prefect.tasks import exponential_backoff

from flows import failures, redact, settings, sync
from flows.publish import marts_snapshot, publish
from flows.warehouse import Warehouse, open_warehouse

FLOW_NAME = "course-analytics-sync"
ALERT_RESOURCE = {"prefect.resource.id": "course-analytics.sync", "prefect.resource.name": FLOW_NAME}
DEFAULT_ALERT_AFTER_FAILURES = 3

log = logging.getLogger(__name__)


@dataclass
class SyncReport:
    as_of: str
    sync_time: str
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


def _retry_transient(task: Any, task_run: Any, state: State) -> bool:
    """Retry the load only for transient Umami or network errors, never for configuration."""
    exc = state.result(raise_on_failure=False)
    return isinstance(exc, BaseException) and not failures.is_permanent(exc)


def _alert(message: str, event: str, payload: dict[str, Any]) -> None:
    get_run_logger().error("ALERT: %s", message)
    emit_event(event=event, resource=ALERT_RESOURCE, payload={"message": message, **payload})


@task(
    name="load",
    retries=3,
    retry_delay_seconds=exponential_backoff(backoff_factor=20),
    retry_jitter_factor=0.5,
    retry_condition_fn=_retry_transient,
    cache_policy=NO_CACHE,
)
def load_task(warehouse: Warehouse, umami: settings.UmamiSettings, options: sync.SyncOptions) -> Any:
    try:
        return sync.load(warehouse, umami, options)
    except Exception as exc:
        get_run_logger().error("load failed: %s", failures.describe(exc))
        raise


@task(name="transform", cache_policy=NO_CACHE)
def transform_task(warehouse: Warehouse, options: sync.SyncOptions, sync_time: datetime, rebuild_from: date) -> str:
    return sync.transform(warehouse, options, sync_time, rebuild_from).summary()


@task(name="publish", cache_policy=NO_CACHE)
def publish_task(
    warehouse: Warehouse, options: sync.SyncOptions, sync_time: datetime, rebuild_from: date
) -> dict[str, int]:
    return publish(warehouse, options, sync_time, rebuild_from)


def _on_failure(flow_obj: Any, flow_run: FlowRun, state: State) -> None:
    """After a failed run: alert when this was the N-th failure in a row."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName, FlowRunFilter, FlowRunFilterId
    from prefect.client.schemas.sorting import FlowRunSort

    threshold = int(flow_run.parameters.get("alert_after_failures") or DEFAULT_ALERT_AFTER_FAILURES)
    with get_client(sync_client=True) as client:
        previous = client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=[FLOW_NAME])),
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(not_any_=[flow_run.id])),
            sort=FlowRunSort.START_TIME_DESC,
            limit=threshold * 3,
        )
    finished = [r for r in previous if r.state is not None and r.state.is_final()][: threshold - 1]
    streak = 1
    for run in finished:
        if not (run.state.is_failed() or run.state.is_crashed()):
            break
        streak += 1
    if streak >= threshold:
        message = f"{FLOW_NAME} failed {streak} times in a row; last error: {redact.mask(state.message or '')}"
        log.error("ALERT: %s", message)
        emit_event(
            event="course-analytics.alert.repeated-failure",
            resource=ALERT_RESOURCE,
            payload={"message": message, "consecutive_failures": streak},
        )


@flow(name=FLOW_NAME, on_failure=[_on_failure], on_crashed=[_on_failure], log_prints=False)
def course_analytics_sync(
    as_of: str | None = None,
    lookback_days: int = sync.DEFAULT_LOOKBACK_DAYS,
    start_date: str | None = None,
    full_refresh: bool = False,
    alert_after_failures: int = DEFAULT_ALERT_AFTER_FAILURES,
    page_size: int = 10_000,
) -> dict[str, Any]:
    """Load Umami into the warehouse, build and test the marts, publish them; returns the run summary."""
    redact.install_log_masking()
    logger = get_run_logger()
    options = sync.SyncOptions.create(
        datetime.fromisoformat(as_of) if as_of else None,
        lookback_days=lookback_days,
        full_refresh=full_refresh,
        page_size=page_size,
        **({"start_date": date.fromisoformat(start_date)} if start_date else {}),
    )
    umami = settings.umami_settings()
    redact.register(*umami.secrets)
    sync_time = datetime.now(UTC)
    with open_warehouse() as warehouse:
        redact.register(warehouse.password)
        logger.info("sync as of %s into %s", options.as_of.isoformat(), warehouse.display)
        before = marts_snapshot(warehouse)
        loaded = load_task(warehouse, umami, options)
        rebuild_from = sync.rebuild_from_date(options, loaded)
        dbt_summary = transform_task(warehouse, options, sync_time, rebuild_from)
        changed = publish_task(warehouse, options, sync_time, rebuild_from)
        after = marts_snapshot(warehouse)

    report = SyncReport(
        as_of=options.as_of.isoformat(),
        sync_time=sync_time.isoformat(),
        umami=loaded.stats.api_url,
        website_id=loaded.stats.website_id,
        windows={name: list(bounds) for name, bounds in loaded.stats.windows.items()},
        requests=loaded.stats.requests,
        rows_loaded=loaded.rows,
        rows_rejected=loaded.stats.rejected,
        dbt=dbt_summary,
        marts_rows_changed=changed,
        rebuild_from_date=rebuild_from.isoformat(),
        visitors_30d_total=after.visitors_30d_total,
    )
    if after.visitors_30d_total == 0 and before.visitors_30d_total > 0:
        message = (
            f"Visitors (30d) dropped to 0 for all {after.courses} courses "
            f"(previous sync: {before.visitors_30d_total} summed over courses)"
        )
        report.alerts.append(message)
        _alert(message, "course-analytics.alert.zero-visitors", {"previous_total": before.visitors_30d_total})
    logger.info(
        "sync done: window %s; Umami %s website %s; rows loaded %s; rows rejected %d; marts rows changed %s; "
        "synced at %s",
        report.windows,
        report.umami,
        report.website_id,
        report.rows_loaded,
        report.rows_rejected,
        report.marts_rows_changed,
        report.sync_time,
    )
    create_markdown_artifact(report.markdown(), key="course-analytics-sync", description="last sync summary")
    return asdict(report)
