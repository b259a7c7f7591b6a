"""The hourly deployment of ``course-analytics-sync``, as ``prefect.yaml`` declares it.

``prefect.yaml`` is the one declaration (``prefect deploy`` reads it for a Prefect server and a
work pool); ``course-analytics serve`` builds the same deployment from it and runs it in-process.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from prefect.client.schemas.objects import ConcurrencyLimitConfig
from prefect.deployments.runner import RunnerDeployment
from prefect.schedules import Cron

from flows.flow import course_analytics_sync

# a source checkout keeps prefect.yaml beside flows/; a wheel carries a copy inside the package
_HERE = Path(__file__).resolve().parent
_CANDIDATES = (_HERE.parent / "prefect.yaml", _HERE / "prefect.yaml")
PREFECT_YAML = next((p for p in _CANDIDATES if p.is_file()), _CANDIDATES[0])
DEPLOYMENT_NAME = "hourly"


def declared_deployment(name: str = DEPLOYMENT_NAME, prefect_yaml: Path = PREFECT_YAML) -> dict[str, Any]:
    """The deployment ``name`` of ``prefect.yaml``."""
    declared = yaml.safe_load(prefect_yaml.read_text(encoding="utf-8"))
    for deployment in declared.get("deployments") or []:
        if deployment.get("name") == name:
            return deployment
    raise LookupError(f"{prefect_yaml} declares no deployment named {name!r}")


def hourly_deployment(prefect_yaml: Path = PREFECT_YAML) -> RunnerDeployment:
    """The deployment ``course-analytics serve`` runs: schedules, concurrency and tags from ``prefect.yaml``."""
    declared = declared_deployment(prefect_yaml=prefect_yaml)
    return course_analytics_sync.to_deployment(
        name=declared["name"],
        schedules=[Cron(s["cron"], timezone=s.get("timezone", "UTC")) for s in declared.get("schedules") or []],
        concurrency_limit=ConcurrencyLimitConfig(**declared["concurrency_limit"]),
        description=declared.get("description"),
        tags=declared.get("tags") or [],
        parameters=declared.get("parameters") or {},
    )


def serve() -> None:
    """Run the hourly deployment on this machine until interrupted (no Prefect server needed)."""
    from prefect import serve as prefect_serve

    prefect_serve(hourly_deployment())
