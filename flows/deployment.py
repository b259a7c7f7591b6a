"""The hourly deployment of ``course-analytics-sync``: cron in UTC, never two runs at once."""

from __future__ import annotations

from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
from prefect.deployments.runner import RunnerDeployment
from prefect.schedules import Cron

from flows.flow import course_analytics_sync

DEPLOYMENT_NAME = "hourly"
HOURLY_CRON = "0 * * * *"


def hourly_deployment() -> RunnerDeployment:
    """The deployment ``course-analytics serve`` runs (prefect.yaml declares the same for work pools)."""
    return course_analytics_sync.to_deployment(
        name=DEPLOYMENT_NAME,
        schedules=[Cron(HOURLY_CRON, timezone="UTC")],
        # One run at a time: a run still going when the next hour starts makes the new one wait
        # for it (ENQUEUE) rather than overlap; the loader's state then picks up where it ended.
        concurrency_limit=ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.ENQUEUE),
        description="Load Umami into the warehouse, build and test the marts, publish them. Hourly, UTC.",
        tags=["course-analytics"],
    )


def serve() -> None:
    """Run the hourly deployment on this machine until interrupted (no Prefect server needed)."""
    from prefect import serve as prefect_serve

    prefect_serve(hourly_deployment())
