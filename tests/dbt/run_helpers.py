"""Running dbt for the tests: every command, operations included, through flows.dbt.run_dbt
(same profile, project and target folder as the pipeline)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

from flows.dbt import DbtOutcome, run_dbt
from flows.warehouse import Warehouse
from loader.umami import plan_sync_window


def window_vars(as_of: str, sync_time: str | None = None, rebuild_from_date: str | None = None) -> dict[str, str]:
    """The dbt vars a run as of ``as_of`` passes (the pipeline's own ``SyncWindow.dbt_vars``):
    rebuilt from ``rebuild_from_date``, by default the lookback's first day (as_of_date - 2)."""
    moment = datetime.fromisoformat(as_of)
    window = plan_sync_window(event_names=(), marks={}, as_of=moment, now=datetime.max.replace(tzinfo=UTC))
    if rebuild_from_date is not None:
        window = replace(window, rebuild_from=date.fromisoformat(rebuild_from_date))
    return window.dbt_vars(datetime.fromisoformat(sync_time) if sync_time else datetime.now(UTC))


def dbt(
    warehouse: Warehouse, args: list[str], *, dbt_vars: Mapping[str, Any] | None = None, raise_on_failure: bool = False
) -> DbtOutcome:
    return run_dbt(warehouse, args, dbt_vars=dbt_vars, raise_on_failure=raise_on_failure)


class OperationFailed(RuntimeError):
    pass


def run_operation(
    warehouse: Warehouse,
    macro: str,
    macro_args: Mapping[str, Any] | None = None,
    *,
    dbt_vars: Mapping[str, Any] | None = None,
    raise_on_failure: bool = True,
) -> DbtOutcome:
    args = ["run-operation", macro]
    if macro_args:
        args += ["--args", json.dumps(dict(macro_args), default=str)]
    outcome = run_dbt(warehouse, args, dbt_vars=dbt_vars, raise_on_failure=False)
    if not outcome.success and raise_on_failure:
        raise OperationFailed(f"dbt run-operation {macro} failed: {outcome.summary()}")
    return outcome


def publish(
    warehouse: Warehouse, dbt_vars: Mapping[str, Any], *, full_refresh: bool = False, raise_on_failure: bool = True
) -> DbtOutcome:
    """``publish_marts`` with a build's vars, as the pipeline runs it."""
    return run_operation(
        warehouse, "publish_marts", {"full_refresh": full_refresh}, dbt_vars=dbt_vars, raise_on_failure=raise_on_failure
    )


__all__ = ["OperationFailed", "dbt", "publish", "run_operation", "window_vars"]
