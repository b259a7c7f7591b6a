"""`dbt docs generate` works and `sqlfluff lint dbt_project` is clean (dbt templater against the
test database: incremental models need a reachable warehouse to compile)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from flows import paths
from tests.dbt.conftest import BUILD_VARS, ContractBuild
from tests.dbt.run_helpers import dbt

REPO = Path(__file__).resolve().parents[2]
COURSE_MARTS = [
    "analytics_course_daily_stats",
    "analytics_course_window_stats",
    "analytics_courses_seen",
    "operator_course_metrics",
    "umami_reconciliation",
]


def test_docs_generate(contract_build: ContractBuild) -> None:
    dbt(contract_build.warehouse, ["docs", "generate"], dbt_vars=BUILD_VARS, raise_on_failure=True)
    target = paths.data_dir() / "dbt" / "target"
    catalog = json.loads((target / "catalog.json").read_text())
    manifest = json.loads((target / "manifest.json").read_text())
    for name in COURSE_MARTS:
        node = manifest["nodes"][f"model.course_analytics.{name}"]
        assert node["description"], name
        assert node["config"]["contract"]["enforced"] is True, name
        assert all(column["description"] for column in node["columns"].values()), name
        assert f"model.course_analytics.{name}" in catalog["nodes"], name


def test_sqlfluff_lint_is_clean(contract_build: ContractBuild, tmp_path: Path) -> None:
    env = {
        **os.environ,
        **contract_build.warehouse.dbt_env(),
        "DBT_TARGET_PATH": str(tmp_path / "target"),
        "DBT_LOG_PATH": str(tmp_path / "logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    sqlfluff = Path(sys.executable).parent / "sqlfluff"
    result = subprocess.run(
        [str(sqlfluff), "lint", "dbt_project", "--format", "json", "--nofail"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    start = result.stdout.find("[")
    assert start >= 0, result.stdout[-2000:] + result.stderr[-2000:]
    report = json.loads(result.stdout[start:])
    linted = [f["filepath"] for f in report]
    assert any(path.endswith("analytics_course_daily_stats.sql") for path in linted)
    problems = [
        f"{f['filepath']}:{v['start_line_no']} {v['code']} {v['description']}" for f in report for v in f["violations"]
    ]
    assert not problems, "\n".join(problems)
