"""A load killed with SIGKILL at some point, then run again, leaves exactly the raw tables of a clean run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from flows.catalog import default_event_names
from tests.loader.conftest import AS_OF, UmamiSite, raw_snapshot
from umami_sim import Fault

CLI = str(Path(sys.executable).parent / "course-analytics")
# `course-analytics load` with one dlt function patched to SIGKILL the process at an exact point
KILLED_WHERE = """
import os, signal, sys
from flows.cli import app
{patch}
sys.argv[0] = "course-analytics"
app()
"""
# the moment dlt's normalize step has committed a package (renamed it into load/normalized),
# before it deletes the package's extracted copy: a window of a few system calls
AFTER_NORMALIZE_COMMIT = """
from dlt.common.storages.load_storage import LoadStorage
commit = LoadStorage.commit_new_load_package
def commit_then_die(self, load_id):
    commit(self, load_id)
    os.kill(os.getpid(), signal.SIGKILL)
LoadStorage.commit_new_load_package = commit_then_die
"""
# the moment the warehouse has committed a job of `table`, before dlt records it
BEFORE_JOB_RECORDED = """
from dlt.common.storages.load_package import PackageStorage
def die_before_recording(self, load_id, file_name, state, failed_message=None):
    if file_name.startswith({table!r} + ".") and state == "completed":
        os.kill(os.getpid(), signal.SIGKILL)
    record(self, load_id, file_name, state, failed_message)
record = PackageStorage.save_pending_transition
PackageStorage.save_pending_transition = die_before_recording
"""


def _killed_load(site: UmamiSite, dsn: str, home: Path, patch: str) -> Path:
    """Run the patched load to its SIGKILL; the dlt working folder it left."""
    args = ["load", "--as-of", AS_OF.isoformat(), "--page-size", "3"]
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_WHERE.format(patch=patch), *args],
        env=_load_env(site, dsn, home),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    [pipeline_dir] = (home / "dlt").glob("*/umami_course_analytics")
    return pipeline_dir


def _packages(folder: Path) -> list[Path]:
    """The load packages in one of dlt's package folders: its directories, as dlt lists them. A kill
    can also leave a temporary file there: dlt writes a package's state files through a file named
    at random in that folder and renames it, and jobs finishing on other threads write theirs at
    the moment of the kill (seen once in CI beside the package)."""
    return sorted(path for path in folder.iterdir() if path.is_dir())


def _load_env(site: UmamiSite, dsn: str, home: Path) -> dict[str, str]:
    return {
        **os.environ,
        "UMAMI_API_URL": site.sim.base_url,
        "UMAMI_WEBSITE_ID": site.website_id,
        "UMAMI_USERNAME": site.sim.username,
        "UMAMI_PASSWORD": site.sim.password,
        "WAREHOUSE_DSN": dsn,
        "COURSE_ANALYTICS_HOME": str(home),
    }


def _start_load(site: UmamiSite, dsn: str, home: Path) -> subprocess.Popen:
    env = _load_env(site, dsn, home)
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


def test_sigkill_between_normalize_commit_and_cleanup_then_rerun(
    contract_site: UmamiSite, database_factory, load_site, home_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rerun finishes the package the killed run had normalized, then reads its own window.
    Before, dlt normalized the leftover extracted copy again and failed to rename it onto the
    committed one ("OSError: [Errno 39] Directory not empty"), in every later run too."""
    crashed, clean = database_factory("crashed"), database_factory("clean")
    names = default_event_names()  # the names the CLI loads
    monkeypatch.setenv("COURSE_ANALYTICS_HOME", str(home_dir / "clean-normalize"))
    load_site(contract_site, clean, page_size=3, event_names=names)
    clean_again = load_site(contract_site, clean, page_size=3, event_names=names)  # what a next run reads
    home = home_dir / "crashed-normalize"
    monkeypatch.setenv("COURSE_ANALYTICS_HOME", str(home))
    # the raw dataset exists, so dlt keeps the working folder of the killed run
    load_site(contract_site, crashed, page_size=3, event_names=names)

    pipeline_dir = _killed_load(contract_site, crashed.dsn, home, AFTER_NORMALIZE_COMMIT)
    [normalized] = [p.name for p in _packages(pipeline_dir / "load" / "normalized")]
    assert [p.name for p in _packages(pipeline_dir / "normalize" / "extracted")] == [normalized]

    rerun = load_site(contract_site, crashed, page_size=3, event_names=names)  # same dlt working folder
    # it also read its own window: dlt's run alone would have loaded the package and read nothing
    assert rerun.report.events == clean_again.report.events and sum(rerun.report.events.values()) > 0
    assert not (pipeline_dir / "normalize" / "extracted" / normalized).exists()
    assert (pipeline_dir / "load" / "loaded" / normalized).is_dir()
    assert raw_snapshot(crashed) == raw_snapshot(clean)


@pytest.mark.parametrize("table", ["window_property_values", "sync_runs", "_dlt_pipeline_state"])
def test_sigkill_after_a_copy_committed_before_dlt_recorded_it_then_rerun(
    contract_site: UmamiSite, database_factory, load_site, home_dir: Path, monkeypatch: pytest.MonkeyPatch, table: str
) -> None:
    """dlt runs the job again: its rows are copied once. Before, the second copy failed on the
    unique ``_dlt_id`` in every later run ("duplicate key value violates unique constraint
    window_property_values__dlt_id_key", in the merged tables' staging copies, the appended
    tables and dlt's state table alike); a 20-trial run of tests/reliability met it."""
    crashed, clean = database_factory("crashed"), database_factory("clean")
    names = default_event_names()
    monkeypatch.setenv("COURSE_ANALYTICS_HOME", str(home_dir / f"clean-{table}"))
    load_site(contract_site, clean, page_size=3, event_names=names)
    home = home_dir / f"crashed-{table}"
    monkeypatch.setenv("COURSE_ANALYTICS_HOME", str(home))
    pipeline_dir = _killed_load(contract_site, crashed.dsn, home, BEFORE_JOB_RECORDED.format(table=table))
    [package] = _packages(pipeline_dir / "load" / "normalized")
    assert table in {p.name.split(".")[0] for p in (package / "started_jobs").iterdir()}  # and jobs running beside it

    load_site(contract_site, crashed, page_size=3, event_names=names)  # the rerun, same dlt working folder
    assert (pipeline_dir / "load" / "loaded" / package.name).is_dir()
    assert raw_snapshot(crashed) == raw_snapshot(clean)
    with crashed.connect() as conn, conn.cursor() as cur:
        cur.execute("select count(*), count(distinct run_id) from umami_raw.sync_runs")
        assert cur.fetchone() == (2, 2)  # the killed run's and the rerun's, once each
