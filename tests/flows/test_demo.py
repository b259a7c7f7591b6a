"""`course-analytics demo`: the README's main job runs end to end, exactly, and leaves nothing running."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.demo_expected import expected_top_courses, printed_top_courses

CLI = str(Path(sys.executable).parent / "course-analytics")


def test_demo_prints_exact_top_courses_and_stops_everything(home_dir: Path) -> None:
    home = home_dir / "demo-test"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UMAMI_", "WAREHOUSE_"))}
    env["COURSE_ANALYTICS_HOME"] = str(home)
    result = subprocess.run([CLI, "demo"], env=env, capture_output=True, text=True, timeout=600, cwd="/")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    out = result.stdout

    top = expected_top_courses(out)
    assert len(top) == 10
    assert printed_top_courses(out) == top

    assert "warehouse: postgresql://postgres@127.0.0.1:" in out and "psql '" in out
    assert not (home / "postgres" / "data" / "postmaster.pid").exists()  # the embedded server was stopped
    assert "stg_***" not in out + result.stderr  # nothing masked by accident
    report = Path(re.search(r"^report \(open it in a browser\): (\S+)$", out, flags=re.MULTILINE).group(1))
    assert report == home / "demo" / "report" / "index.html"
    page = report.read_text()
    assert all(f'id="{chart}"' in page for chart in ("visitors-30d", "daily-visitors", "window-visitors"))
    assert top[0][0] in page  # the page is the demo's (its charts are checked in a browser in tests/analyst)

    log = result.stderr
    assert "Warning" not in log, log  # e.g. Prefect's home folder made before Prefect starts, in a fresh data folder
    assert "prefect.task_runs" not in log and "docs.prefect.io" not in log, log  # Prefect's routine notices
    assert re.search(r"INFO prefect.flow_runs: sync done: as of .{,140}$", log, flags=re.MULTILINE), log
    assert len((out + log).splitlines()) < 40, out + log  # a log a person reads to the end
    assert out.rstrip().splitlines()[-1].startswith("report (open it in a browser): ")  # the table, then the page
