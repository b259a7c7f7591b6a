"""Running dbt for the tests: commands through flows.dbt.run_dbt, operations through dbtRunner.

``flows.dbt.run_dbt`` reads ``result.node.unique_id`` of every run result, which
``dbt run-operation`` results do not have; :func:`run_operation` invokes dbt the same way
(same profile, project and target folder) for operations.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from flows import paths
from flows.dbt import DbtOutcome, _environment, run_dbt
from flows.warehouse import Warehouse


def dbt(
    warehouse: Warehouse, args: list[str], *, dbt_vars: Mapping[str, Any] | None = None, raise_on_failure: bool = False
) -> DbtOutcome:
    if args and args[0] == "run-operation":
        return run_operation(
            warehouse,
            args[1],
            json.loads(args[3]) if len(args) > 3 else None,
            dbt_vars=dbt_vars,
            raise_on_failure=raise_on_failure,
        )
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
    from dbt.cli.main import dbtRunner

    project_dir = paths.dbt_project_dir()
    work_dir = paths.data_dir() / "dbt"
    command = [
        "run-operation",
        macro,
        "--project-dir",
        str(project_dir),
        "--profiles-dir",
        str(project_dir),
        "--target-path",
        str(work_dir / "target"),
        "--log-path",
        str(work_dir / "logs"),
    ]
    if macro_args:
        command += ["--args", json.dumps(dict(macro_args), default=str)]
    if dbt_vars:
        command += ["--vars", json.dumps(dict(dbt_vars), default=str)]
    env = {**warehouse.dbt_env(), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    with _environment(env):
        result = dbtRunner().invoke(command)
    outcome = DbtOutcome(success=bool(result.success))
    if not outcome.success and raise_on_failure:
        raise OperationFailed(f"dbt run-operation {macro} failed: {result.exception}")
    return outcome


__all__ = ["OperationFailed", "dbt", "run_operation"]
