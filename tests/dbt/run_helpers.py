"""Running dbt for the tests: every command, operations included, through flows.dbt.run_dbt
(same profile, project and target folder as the pipeline)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from flows.dbt import DbtOutcome, run_dbt
from flows.warehouse import Warehouse


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


__all__ = ["OperationFailed", "dbt", "run_operation"]
