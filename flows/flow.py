"""The Prefect flow ``course-analytics-sync``: load, then transform, then publish.

``course-analytics run`` and the hourly deployment run this same flow. The marts analysts read
change only in ``publish``, after the load and every dbt test succeeded; a failure anywhere
before leaves them at their last published values.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import date, datetime
from typing import Annotated, Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NONE as NO_CACHE
from prefect.client.schemas.objects import FlowRun
from prefect.events import emit_event
from prefect.states import State
from prefect.tasks import exponential_backoff
from pydantic import Field

from flows import failures, redact, sync
from flows.publish import publish
from flows.steps import Steps, SyncSteps, load_step, run_sync, transform_step
from loader.umami.windows import DEFAULT_LOOKBACK_DAYS, DEFAULT_PAGE_SIZE

FLOW_NAME = "course-analytics-sync"
ALERT_RESOURCE = {"prefect.resource.id": "course-analytics.sync", "prefect.resource.name": FLOW_NAME}
DEFAULT_ALERT_AFTER_FAILURES = 3

log = logging.getLogger(__name__)


def _retry_transient(task: Any, task_run: Any, state: State) -> bool:
    """Retry the load only for transient Umami or network errors, never for configuration."""
    exc = state.result(raise_on_failure=False)
    return isinstance(exc, BaseException) and not failures.is_permanent(exc)


def _alert(message: str, event: str, payload: dict[str, Any]) -> None:
    get_run_logger().error("ALERT: %s", message)
    emit_event(event=event, resource=ALERT_RESOURCE, payload={"message": message, **payload})


TASK_STEPS = SyncSteps(
    plan=task(name="plan", cache_policy=NO_CACHE)(sync.plan),
    load=task(
        name="load",
        retries=3,
        retry_delay_seconds=exponential_backoff(backoff_factor=20),
        retry_jitter_factor=0.5,
        retry_condition_fn=_retry_transient,
        cache_policy=NO_CACHE,
    )(load_step),
    transform=task(name="transform", cache_policy=NO_CACHE)(transform_step),
    publish=task(name="publish", cache_policy=NO_CACHE)(publish),
)


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
    as_of: datetime | None = None,
    start_date: date | None = None,
    lookback_days: Annotated[int, Field(ge=0)] = DEFAULT_LOOKBACK_DAYS,
    full_refresh: bool = False,
    page_size: Annotated[int, Field(ge=1)] = DEFAULT_PAGE_SIZE,
    steps: Steps = "all",
    alert_after_failures: Annotated[int, Field(ge=1)] = DEFAULT_ALERT_AFTER_FAILURES,
) -> dict[str, Any]:
    """Load Umami into the warehouse, build and test the marts, publish them; returns the run summary.

    ``as_of``: the closed instant to load and compute up to (default: now minus 5 minutes; UTC
    when it has no offset). ``start_date``: first UTC date of a first load (default: all history);
    earlier than what is loaded, a backfill from there. ``steps``: ``load`` only loads;
    ``transform`` builds and publishes from what is loaded, without calling Umami.
    """
    redact.install_log_masking()
    parameters = sync.SyncParameters(
        as_of=as_of, start_date=start_date, lookback_days=lookback_days, full_refresh=full_refresh, page_size=page_size
    )
    report = run_sync(parameters, steps, TASK_STEPS, _alert)
    get_run_logger().info("sync done: %s", report.one_line())
    create_markdown_artifact(report.markdown(), key="course-analytics-sync", description="last sync summary")
    return asdict(report)
