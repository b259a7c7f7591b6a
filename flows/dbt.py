"""Running dbt (in-process, through dbt's programmatic ``dbtRunner``) against the warehouse."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flows import paths
from flows.environment import scoped_environment
from flows.warehouse import Warehouse


class DbtFailure(RuntimeError):
    """dbt reported an error or a failing test."""


@dataclass
class DbtOutcome:
    success: bool
    results: list[dict[str, Any]] = field(default_factory=list)

    def failures(self) -> list[dict[str, Any]]:
        return [r for r in self.results if r["status"] in ("error", "fail", "runtime error")]

    def summary(self) -> str:
        counts: dict[str, int] = {}
        for r in self.results:
            counts[r["status"]] = counts.get(r["status"], 0) + 1
        return ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "nothing ran"


def target_dir() -> Path:
    """dbt's target folder for this installation's data: compiled SQL, run results, the docs site."""
    return paths.data_dir() / "dbt" / "target"


def run_dbt(
    warehouse: Warehouse,
    args: list[str],
    *,
    dbt_vars: Mapping[str, Any] | None = None,
    raise_on_failure: bool = True,
) -> DbtOutcome:
    """Run one dbt command (``["build", "--select", "..."]``) with the project's profile."""
    from dbt.cli.main import dbtRunner  # dbt is heavy to import: only when used

    project_dir = paths.dbt_project_dir()
    work_dir: Path = paths.data_dir() / "dbt"
    work_dir.mkdir(parents=True, exist_ok=True)
    # dbt prints every node to the console; the pipeline logs its own summary, and dbt's full
    # log stays in <data dir>/dbt/logs. COURSE_ANALYTICS_DBT_LOG_LEVEL=info shows dbt's progress.
    console_level = os.environ.get("COURSE_ANALYTICS_DBT_LOG_LEVEL", "warn")
    command = [
        "--log-level",
        console_level,
        "--no-use-colors",
        *args,
        "--project-dir",
        str(project_dir),
        "--profiles-dir",
        str(project_dir),
        "--target-path",
        str(target_dir()),
        "--log-path",
        str(work_dir / "logs"),
    ]
    command += ["--target", warehouse.dbt_target]
    all_vars = {**warehouse.dbt_vars(), **(dbt_vars or {})}
    if all_vars:
        command += ["--vars", json.dumps(all_vars, default=str)]
    warehouse.prepare_dbt()
    env = {**warehouse.dbt_env(), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    with scoped_environment(env):
        result = dbtRunner().invoke(command)
    outcome = DbtOutcome(success=bool(result.success))
    run_results = getattr(result.result, "results", None) or []
    for r in run_results:
        node = getattr(r, "node", None)  # run-operation results have no node
        outcome.results.append(
            {
                "unique_id": node.unique_id if node is not None else getattr(r, "unique_id", "operation"),
                "status": str(r.status),
                "message": r.message,
                "failures": r.failures,
            }
        )
    if not outcome.success and raise_on_failure:
        failed = outcome.failures()
        detail = "; ".join(f"{r['unique_id']}: {r['message']}" for r in failed[:10])
        if not failed and result.exception is not None:
            detail = f"{type(result.exception).__name__}: {result.exception}"
        raise DbtFailure(f"dbt {args[0]} failed ({outcome.summary()}): {detail}")
    return outcome
