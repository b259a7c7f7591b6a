"""Crash safety under SIGKILL at points of a load's progress, and PostgreSQL restarted in the middle of a load.

The 20-trial run is marked slow (`make test-all`; the default suite kills loads at fixed points
in tests/loader/test_crash.py). Each trial starts `course-analytics load` in the same working
folder and SIGKILLs it at a point drawn by a seeded RNG (``CRASH_TRIALS_SEED``) from four
phases of its progress, polled every 5 ms: after N requests to Umami, once dlt extracted a
package of its own (normalize runs), once it normalized one (the load begins), or after N job
files were loaded. The bounds come from two clean loads measured first (the whole history, then
the lookback window), so every trial reaches its point on any machine speed. At the end one load
runs to completion; its raw tables, and the marts built from them, must equal those of loads that
were never interrupted: no event lost, none duplicated. Every run's output is kept under the
test's tmp_path; a failure names the trial, its kill point and the logs' last lines, and keeps
the logs and the crashed working folder in /tmp/crash-trials-<time>-*/.
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
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn

import pytest

from flows import sync
from flows.pgserver import LocalPostgres
from flows.publish import publish
from flows.warehouse import Warehouse
from loader.pipeline import PIPELINE_NAME
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


def _load(site: UmamiSite, dsn: str, home: Path, log: Path | None = None) -> subprocess.Popen:
    """``course-analytics load``; its stdout and stderr go to ``log`` (a file: a full pipe would block it)."""
    args = [CLI, "load", "--as-of", AS_OF.isoformat(), "--page-size", PAGE_SIZE]
    if log is None:
        return subprocess.Popen(args, env=_env(site, dsn, home), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    with log.open("w") as output:
        return subprocess.Popen(args, env=_env(site, dsn, home), stdout=output, stderr=subprocess.STDOUT)


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


def _children(folder: Path) -> set[str]:
    return {path.name for path in folder.iterdir()} if folder.is_dir() else set()


@dataclass(frozen=True)
class WorkingFolder:
    """What a load's dlt working folder holds, by the path of each package and job file in it."""

    extracted: frozenset[str]  # packages extracted, not yet normalized
    normalized: frozenset[str]  # packages normalized, being loaded
    completed_jobs: frozenset[str]  # job files loaded (in packages being loaded or loaded)

    @classmethod
    def of(cls, home: Path) -> WorkingFolder:
        pipeline = next(home.glob(f"dlt/*/{PIPELINE_NAME}"), None)
        if pipeline is None:
            return cls(frozenset(), frozenset(), frozenset())
        load = pipeline / "load"
        jobs = {
            f"{state}/{package}/{job}"
            for state in ("normalized", "loaded")
            for package in _children(load / state)
            for job in _children(load / state / package / "completed_jobs")
        }
        return cls(
            frozenset(_children(pipeline / "normalize" / "extracted")),
            frozenset(_children(load / "normalized")),
            frozenset(jobs),
        )


PHASES = ("requests", "extracted", "normalized", "jobs")


@dataclass(frozen=True)
class KillPoint:
    """When to kill a load, by its progress since it started: after ``count`` HTTP requests to
    Umami (``requests``), once a package of its own is extracted (dlt's normalize runs) or
    normalized (its load begins), or after ``count`` job files were loaded (``jobs``)."""

    phase: str
    count: int = 1

    def reached(self, requests: int, start: WorkingFolder, now: WorkingFolder) -> bool:
        if self.phase == "requests":
            return requests >= self.count
        if self.phase == "extracted":
            return bool(now.extracted - start.extracted)
        if self.phase == "normalized":
            return bool(now.normalized - start.normalized)
        return len(now.completed_jobs - start.completed_jobs) >= self.count

    def __str__(self) -> str:
        return f"{self.phase} >= {self.count}" if self.phase in ("requests", "jobs") else self.phase


@dataclass
class Trial:
    index: int
    point: KillPoint
    log: Path
    killed: bool = False
    returncode: int | None = None
    seconds: float = 0.0

    def __str__(self) -> str:
        outcome = "killed" if self.killed else f"not killed, exit {self.returncode}"
        return f"trial {self.index:2d}: kill at {self.point}: {outcome} after {self.seconds:.2f}s"


def _tail(path: Path, lines: int = 25) -> str:
    text = path.read_text(errors="replace").splitlines() if path.exists() else ["(no log)"]
    return "\n".join(f"    {line}" for line in text[-lines:])


class TrialLogs:
    """Every run's output under ``tmp_path/logs``; on a failure, kept in /tmp and shown."""

    def __init__(self, tmp_path: Path, crashed_home: Path) -> None:
        self.folder = tmp_path / "logs"
        self.folder.mkdir()
        self.crashed_home = crashed_home
        self.trials: list[Trial] = []

    def fail(self, what: str, *logs: Path) -> NoReturn:
        kept = Path(tempfile.mkdtemp(prefix=f"crash-trials-{datetime.now(UTC):%Y%m%dT%H%M%SZ}-", dir="/tmp"))
        shutil.copytree(self.folder, kept / "logs")
        if (self.crashed_home / "dlt").is_dir():  # the working folder the failing run found
            shutil.copytree(self.crashed_home / "dlt", kept / "crashed-dlt")
        tails = "\n".join(f"--- {log.name} (last lines) ---\n{_tail(log)}" for log in logs)
        summary = "\n".join(map(str, self.trials))
        pytest.fail(f"{what}\n{summary}\n{tails}\nall logs and the crashed working folder kept in {kept}")


def _run_to_end(site: UmamiSite, dsn: str, home: Path, log: Path, logs: TrialLogs) -> None:
    process = _load(site, dsn, home, log)
    if process.wait(timeout=300) != 0:
        logs.fail(f"{log.stem} failed (exit {process.returncode})", log)


def _kill_at(point: KillPoint, process: subprocess.Popen, site: UmamiSite, home: Path) -> bool:
    """SIGKILL ``process`` the moment it reaches ``point`` (polled every 5 ms); False if it ended first."""
    start = WorkingFolder.of(home)
    deadline = time.monotonic() + 120
    while process.poll() is None:
        if point.reached(site.sim.request_count(), start, WorkingFolder.of(home)):
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=60)
            return process.returncode == -signal.SIGKILL
        assert time.monotonic() < deadline, f"the load neither ended nor reached {point} in 120 s"
        time.sleep(0.005)
    return False


def _trials(count: int, traffic_site: UmamiSite, database_factory, tmp_path: Path, seed: int) -> None:
    clean_db, crashed_db = database_factory("clean"), database_factory("crashed")
    clean_home, crashed_home = tmp_path / "clean", tmp_path / "crashed"
    logs = TrialLogs(tmp_path, crashed_home)
    sim = traffic_site.sim
    # The reference: a load of the whole history, then a load after it (the lookback window only)
    sim.reset_counters()
    started = time.monotonic()
    _run_to_end(traffic_site, clean_db.dsn, clean_home, logs.folder / "clean-full.log", logs)
    duration = time.monotonic() - started
    full_requests, session_requests = sim.request_count(), sim.request_count("/sessions/")
    before = WorkingFolder.of(clean_home)
    sim.reset_counters()
    _run_to_end(traffic_site, clean_db.dsn, clean_home, logs.folder / "clean-again.log", logs)
    again_requests = sim.request_count()
    again_jobs = len(WorkingFolder.of(clean_home).completed_jobs - before.completed_jobs)
    # Every trial reads at least the lookback window: it makes at least the second load's requests
    # (one after a full read that was killed makes the full load's, less the sessions an
    # interrupted package already stored) and loads as many job files.
    max_requests = min(again_requests, full_requests - session_requests)

    rng = random.Random(seed)
    for index in range(count):
        phase = rng.choice(PHASES)
        bound = {"requests": max_requests - 1, "jobs": again_jobs}.get(phase, 1)
        trial = Trial(index, KillPoint(phase, rng.randint(1, bound)), logs.folder / f"trial-{index:02d}.log")
        logs.trials.append(trial)
        sim.reset_counters()
        started = time.monotonic()
        process = _load(traffic_site, crashed_db.dsn, crashed_home, trial.log)
        trial.killed = _kill_at(trial.point, process, traffic_site, crashed_home)
        trial.returncode, trial.seconds = process.returncode, time.monotonic() - started
        if not trial.killed and process.returncode != 0:
            logs.fail(f"trial {index} exited {process.returncode} before its kill point", trial.log, *_previous(logs))
    final_log = logs.folder / "final.log"
    _run_to_end(traffic_site, crashed_db.dsn, crashed_home, final_log, logs)

    kills = Counter(t.point.phase for t in logs.trials if t.killed)
    drawn = Counter(t.point.phase for t in logs.trials)
    print(  # shown with -s / -rP
        f"{count} trials (seed {seed}), {sum(kills.values())} killed mid-load; per phase killed/drawn: "
        + ", ".join(f"{phase} {kills[phase]}/{drawn[phase]}" for phase in PHASES)
        + f"; clean load {duration:.1f}s, {full_requests} requests ({session_requests} sessions), "
        f"the next {again_requests} requests, {again_jobs} job files"
    )
    if sum(kills.values()) < 0.9 * count:
        logs.fail(f"only {sum(kills.values())} of {count} trials were killed mid-load", final_log)
    clean_raw = raw_snapshot(clean_db)
    assert len(clean_raw["events"]) > 1000
    crashed_raw = raw_snapshot(crashed_db)
    if crashed_raw != clean_raw:
        differing = ", ".join(
            f"{table} ({len(set(crashed_raw[table]) - set(rows))} extra, {len(set(rows) - set(crashed_raw[table]))} "
            f"missing, {len(crashed_raw[table])} vs {len(rows)} rows)"
            for table, rows in clean_raw.items()
            if crashed_raw[table] != rows
        )
        logs.fail(f"raw tables after the final load differ from a clean run's: {differing}", final_log)
    if _marts(crashed_db, crashed_home) != _marts(clean_db, clean_home):
        logs.fail("the marts built after the final load differ from a clean run's", final_log)


def _previous(logs: TrialLogs) -> list[Path]:
    """The log of the trial before the last one: its kill left what the last one met."""
    return [logs.trials[-2].log] if len(logs.trials) > 1 else []


@pytest.mark.slow
def test_twenty_random_sigkills_then_rerun_equal_a_clean_run(traffic_site, database_factory, tmp_path) -> None:
    _trials(20, traffic_site, database_factory, tmp_path, seed=int(os.environ.get("CRASH_TRIALS_SEED", "20261142")))


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
