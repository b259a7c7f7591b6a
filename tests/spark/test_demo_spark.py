"""`course-analytics demo --engine spark`: the demo on a local standalone Spark cluster, exact, and
nothing left running."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.demo_expected import expected_top_courses, printed_top_courses

CLI = str(Path(sys.executable).parent / "course-analytics")


def test_the_spark_demo_prints_the_exact_top_courses_and_stops_its_cluster(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UMAMI_", "WAREHOUSE_", "SPARK_", "LAKE_"))}
    env["COURSE_ANALYTICS_HOME"] = str(tmp_path)
    result = subprocess.run(
        [CLI, "demo", "--engine", "spark"], env=env, capture_output=True, text=True, timeout=900, cwd="/"
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    out = result.stdout
    top = expected_top_courses(out)
    assert printed_top_courses(out) == top and len(top) == 10
    assert "warehouse: Spark cluster spark://127.0.0.1:" in out
    home = tmp_path / "demo-spark"
    assert sorted((home / "lake" / "umami_raw" / "events").glob("*.parquet"))  # the raw data went to the lake
    report = home / "report" / "index.html"
    assert f"report (open it in a browser): {report}" in out and top[0][0] in report.read_text()
    cluster = home / "spark" / "cluster"
    assert sorted((cluster / "logs").glob("*")), "the cluster's logs are kept"
    assert not (cluster / "cluster.json").exists()
    assert _processes_naming(cluster / "worker-1") == []  # the workers (and so the cluster) were stopped


def _processes_naming(path: Path) -> list[int]:
    """Processes whose command line names ``path`` (a worker is started with --work-dir there)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and str(path).encode() in (proc / "cmdline").read_bytes():
                found.append(int(proc.name))
        except OSError:
            continue
    return found
