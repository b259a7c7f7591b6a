"""A load killed with SIGKILL at some point, then run again, leaves exactly the raw tables of a clean run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.loader.conftest import AS_OF, UmamiSite, raw_snapshot
from umami_sim import Fault

CLI = str(Path(sys.executable).parent / "course-analytics")


def _start_load(site: UmamiSite, dsn: str, home: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "UMAMI_API_URL": site.sim.base_url,
        "UMAMI_WEBSITE_ID": site.website_id,
        "UMAMI_USERNAME": site.sim.username,
        "UMAMI_PASSWORD": site.sim.password,
        "WAREHOUSE_DSN": dsn,
        "COURSE_ANALYTICS_HOME": str(home),
    }
    args = [CLI, "load", "--as-of", AS_OF.isoformat(), "--page-size", "3"]
    home.mkdir(parents=True, exist_ok=True)
    output = (home / "load-output.txt").open("w")  # a file: a full pipe would block the load
    return subprocess.Popen(args, env=env, stdout=output, stderr=subprocess.STDOUT, text=True)


@pytest.mark.parametrize("kill_after_requests", [3, 12, 30])
def test_sigkill_mid_load_then_rerun(
    contract_site: UmamiSite,
    database_factory,
    load_site,
    home_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    kill_after_requests: int,
) -> None:
    crashed, clean = database_factory("crashed"), database_factory("clean")
    # The reference: one uninterrupted load, with its own dlt working folder.
    monkeypatch.setenv("COURSE_ANALYTICS_HOME", str(home_dir / f"clean-{kill_after_requests}"))
    load_site(contract_site, clean, page_size=3)
    monkeypatch.setenv("COURSE_ANALYTICS_HOME", str(home_dir / f"crashed-{kill_after_requests}"))

    contract_site.sim.reset_counters()
    contract_site.sim.add_fault(Fault("latency", count=None, latency_ms=60))  # time to aim the kill
    process = _start_load(contract_site, crashed.dsn, home_dir / f"crashed-{kill_after_requests}")
    output = home_dir / f"crashed-{kill_after_requests}" / "load-output.txt"
    deadline = time.monotonic() + 60
    while contract_site.sim.request_count() < kill_after_requests and process.poll() is None:
        assert time.monotonic() < deadline, f"the load never reached the kill point: {output.read_text()}"
        time.sleep(0.01)
    assert process.poll() is None, f"the load ended before the kill point: {output.read_text()}"
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    assert process.returncode == -signal.SIGKILL
    contract_site.sim.clear_faults()

    load_site(contract_site, crashed, page_size=3)  # the rerun, same dlt working folder
    assert raw_snapshot(crashed) == raw_snapshot(clean)
