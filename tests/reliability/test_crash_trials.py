"""Crash safety under SIGKILL at random points, and PostgreSQL restarted in the middle of a load.

The 20-trial run is marked slow (`make test-all`; the default suite kills loads at three fixed
points in tests/loader/test_crash.py). Each trial
kills `course-analytics load` at a random instant of a load (during requests, dlt's normalize or
its database writes), and the next trial starts the load again in the same working folder. At
the end one load runs to completion; its raw tables, and the marts built from them, must equal
those of a load that was never interrupted: no event lost, none duplicated.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from flows import sync
from flows.pgserver import LocalPostgres
from flows.publish import publish
from flows.warehouse import Warehouse
from tests.databases import Databases
from tests.loader.conftest import UmamiSite, raw_snapshot
from umami_sim import TrafficSpec, UmamiSimulator, generate

CLI = str(Path(sys.executable).parent / "course-analytics")
SPEC = TrafficSpec(seed=8, users=120, courses=12, days=20, reference_time="2026-11-20T00:00:00Z")
AS_OF = datetime(2026, 11, 19, 23, 59, 59, tzinfo=UTC)
PAGE_SIZE = "40"


@pytest.fixture(scope="module")
def traffic_site() -> Iterator[UmamiSite]:
    with UmamiSimulator(seed=3) as sim:
        website = sim.create_website("crash", "course.example.com")
        sim.send_dataset(generate(SPEC), website, over_http=False)
        yield UmamiSite(sim, website)


def _env(site: UmamiSite, dsn: str, home: Path) -> dict[str, str]:
    return {
        **os.environ,
        "UMAMI_API_URL": site.sim.base_url,
        "UMAMI_WEBSITE_ID": site.website_id,
        "UMAMI_USERNAME": site.sim.username,
        "UMAMI_PASSWORD": site.sim.password,
        "WAREHOUSE_DSN": dsn,
        "COURSE_ANALYTICS_HOME": str(home),
    }


def _load(site: UmamiSite, dsn: str, home: Path) -> subprocess.Popen:
    args = [CLI, "load", "--as-of", AS_OF.isoformat(), "--page-size", PAGE_SIZE]
    return subprocess.Popen(args, env=_env(site, dsn, home), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _marts(warehouse: Warehouse, home: Path) -> dict[str, list[tuple]]:
    os.environ["COURSE_ANALYTICS_HOME"] = str(home)
    window = sync.plan(warehouse, None, sync.SyncParameters(as_of=AS_OF, full_refresh=True))
    sync_time = datetime.now(UTC)
    sync.transform(warehouse, window, sync_time)
    publish(warehouse, window, sync_time)
    queries = {
        "daily": "select stat_date, shifu_bid, visit_count, visitor_count from analytics.analytics_course_daily_stats",
        "window": "select window_type, shifu_bid, visitor_count, visit_count "
        "from analytics.analytics_course_window_stats",
        "tracking": "select event_id, event_key, scope_id, user_id, day_key from analytics.tracking_event",
    }
    with warehouse.connect() as conn, conn.cursor() as cur:
        result = {}
        for name, query in queries.items():
            cur.execute(query)
            result[name] = sorted(cur.fetchall(), key=repr)
    return result


def _trials(count: int, traffic_site: UmamiSite, database_factory, tmp_path: Path) -> None:
    clean_db, crashed_db = database_factory("clean"), database_factory("crashed")
    clean_home, crashed_home = tmp_path / "clean", tmp_path / "crashed"
    started = time.monotonic()
    reference = _load(traffic_site, clean_db.dsn, clean_home)
    assert reference.wait(timeout=300) == 0, reference.stderr.read().decode()
    duration = time.monotonic() - started
    rng = random.Random(20261122 + count)
    kills = 0
    for _ in range(count):
        process = _load(traffic_site, crashed_db.dsn, crashed_home)
        time.sleep(rng.uniform(0.05, duration))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            kills += 1
        process.wait(timeout=60)
    final = _load(traffic_site, crashed_db.dsn, crashed_home)
    assert final.wait(timeout=300) == 0, final.stderr.read().decode()
    print(f"{count} trials, {kills} killed mid-load; clean load {duration:.1f}s")  # shown with -s / -rP
    assert kills >= count // 2  # most trials really were interrupted
    clean_raw = raw_snapshot(clean_db)
    assert raw_snapshot(crashed_db) == clean_raw
    assert len(clean_raw["events"]) > 1000
    assert _marts(crashed_db, crashed_home) == _marts(clean_db, clean_home)


@pytest.mark.slow
def test_twenty_random_sigkills_then_rerun_equal_a_clean_run(traffic_site, database_factory, tmp_path) -> None:
    _trials(20, traffic_site, database_factory, tmp_path)


@pytest.mark.slow
def test_postgres_restarted_mid_load(traffic_site: UmamiSite, tmp_path: Path) -> None:
    """The warehouse goes away during a load: the run fails clearly or succeeds completely, and a
    rerun afterwards gives the complete raw tables."""
    base = Path(tempfile.mkdtemp(prefix="ca-restart-", dir="/tmp"))  # reachable by the server's OS user
    base.chmod(0o755)
    server = LocalPostgres(base / "pg", durable=False)
    dsn = server.start().dsn
    reference_dsn = Databases(server).create("reference").dsn
    try:
        reference = _load(traffic_site, reference_dsn, tmp_path / "reference-home")
        assert reference.wait(timeout=300) == 0
        traffic_site.sim.add_fault(kind="latency", count=None, latency_ms=30)
        process = _load(traffic_site, dsn, tmp_path / "home")
        while traffic_site.sim.request_count() < 5 and process.poll() is None:
            time.sleep(0.01)
        server.stop()
        time.sleep(0.5)
        server.start()
        process.wait(timeout=300)
        traffic_site.sim.clear_faults()
        message = process.stderr.read().decode()
        if process.returncode != 0:
            assert "error:" in message and "Traceback" not in message  # one clear line, no crash dump
        rerun = _load(traffic_site, dsn, tmp_path / "home")
        assert rerun.wait(timeout=300) == 0, rerun.stderr.read().decode()
        assert raw_snapshot(Warehouse(dsn)) == raw_snapshot(Warehouse(reference_dsn))
    finally:
        traffic_site.sim.clear_faults()
        server.stop()
        shutil.rmtree(base, ignore_errors=True)
