"""Benchmark: loader throughput, hourly incremental cycle, full refresh, against COPY and SQL floors.

    python bench/run.py [--quick] --json FILE

Everything runs on this machine: the Umami simulator (bulk-filled SQLite) in this process, the
loader and the transform as separate ``course-analytics`` processes (as the hourly job runs them;
their wall time includes interpreter start-up), a local PostgreSQL server. After each full refresh
the floor (bench/floor.sql: the marts' numbers in hand-written SQL) runs on the same server and its
numbers must equal the published marts'. Prints one table and dbt's slowest nodes, and writes the
figures as JSON. See docs/benchmarks.md for what each figure means.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg2

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import cpu, floor  # noqa: E402
from flows.pgserver import LocalPostgres, ServerInfo  # noqa: E402
from umami_sim import FillSpec, UmamiSimulator, course_visit_body  # noqa: E402

CLI = str(Path(sys.executable).parent / "course-analytics")
END = datetime(2026, 11, 20, tzinfo=UTC)  # history ends at this UTC midnight
TOP_NODES = 10  # dbt nodes reported per build, slowest first


@dataclass
class Scenario:
    events: int
    days: int
    # consecutive hourly cycles measured on top of this history (0: none); the figure is their
    # median: the first hour after a full refresh also pays for a cold cache (docs/benchmarks.md)
    cycle_hours: int


@dataclass
class Figures:
    events: int
    days: int
    fill_s: float = 0.0
    load_s: float = 0.0
    loader_events_per_s: float = 0.0
    loader_peak_rss_mb: float = 0.0
    # CPU seconds (user + system) during the full-history load: the loader process's own, the
    # simulator's threads in this process, the PostgreSQL server's processes (_run_cli)
    loader_cpu_s: float = 0.0
    loader_cpu_s_per_100k: float = 0.0
    simulator_cpu_s: float = 0.0
    simulator_cpu_s_per_100k: float = 0.0
    warehouse_cpu_s: float = 0.0
    warehouse_cpu_s_per_100k: float = 0.0
    requests: int = 0
    requests_per_10k_events: float = 0.0
    copy_s: float = 0.0
    loader_vs_copy_ratio: float = 0.0
    full_refresh_s: float = 0.0
    floor_s: float = 0.0  # bench/floor.sql on the refreshed warehouse, checked against the published marts
    refresh_vs_floor_ratio: float = 0.0
    # dbt's slowest nodes ({"node": unique_id, "s": execution seconds}) in the full refresh and
    # in the median hour's transform (run_results.json)
    refresh_top_nodes: list[dict[str, object]] = field(default_factory=list)
    cycle_top_nodes: list[dict[str, object]] = field(default_factory=list)
    cycle_new_events: int = 0
    cycle_load_s: float = 0.0
    cycle_transform_s: float = 0.0
    cycle_s: float = 0.0  # the median cycle (its load + transform)
    cycles: list[tuple[float, float]] = field(default_factory=list)  # (load s, transform s) of each hour
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class CliRun:
    """One ``course-analytics`` process, and the CPU seconds (user + system) spent while it ran."""

    wall_s: float
    peak_rss_mb: float
    cpu_s: float  # the process's own
    simulator_cpu_s: float  # the simulator's threads, in this process
    warehouse_cpu_s: float  # the PostgreSQL server's processes


def _run_cli(args: list[str], env: dict[str, str], postmaster: int) -> CliRun:
    """Run ``course-analytics args`` against the PostgreSQL server of ``postmaster`` (its pid).

    The peak RSS is the process's own high-water mark (``VmHWM``), sampled every 0.1 s until it
    exits. ``ru_maxrss`` from ``wait4`` cannot be used: fork and exec carry the parent's high-water
    mark into the child's, and this process holds the simulator's store (1.4 GB at 10M events).
    CPU time does not carry over (a child starts at none), but ``wait4``'s also counts the
    children the process waited for; the process's own is read from ``/proc`` once it has exited
    (``cpu.exit_cpu_s``), the last moment it can be, so no sampling is needed.

    The simulator's CPU is this process's (``time.process_time``: every thread, including those
    that ended) less the two threads that start and watch the child (this one, mostly blocked
    on the child's output, and the sampler): all the other threads are the simulator's (its
    accepting thread and one per connection). Adding up the simulator's threads in
    ``/proc/self/task`` before and after would miss the connections' threads that ended between.
    """
    warehouse_before = cpu.server_cpu_s(postmaster)
    process_before, main_before = time.process_time(), time.thread_time()
    started = time.perf_counter()
    process = subprocess.Popen([CLI, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peak_kb = 0
    sampler_cpu_s = 0.0

    def sample() -> None:
        nonlocal peak_kb, sampler_cpu_s
        sampler_started = time.thread_time()
        status = Path(f"/proc/{process.pid}/status")
        try:
            while process.returncode is None:
                try:
                    lines = status.read_text().splitlines()
                except OSError:
                    return
                for line in lines:
                    if line.startswith("VmHWM:"):
                        peak_kb = max(peak_kb, int(line.split()[1]))
                time.sleep(0.1)
        finally:
            sampler_cpu_s = time.thread_time() - sampler_started

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    output = process.stdout.read() if process.stdout else ""
    loader_cpu_s = cpu.exit_cpu_s(process.pid)
    process.wait()
    wall = time.perf_counter() - started
    sampler.join()
    simulator_cpu_s = time.process_time() - process_before - (time.thread_time() - main_before) - sampler_cpu_s
    warehouse_cpu_s = cpu.server_cpu_s(postmaster) - warehouse_before
    if process.returncode != 0:
        raise RuntimeError(f"course-analytics {' '.join(args)} failed:\n{output[-3000:]}")
    return CliRun(wall, peak_kb / 1024, loader_cpu_s, simulator_cpu_s, warehouse_cpu_s)


def _scalar(dsn: str, query: str) -> int:
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(query)
        return cur.fetchone()[0]


def _copy_baseline(dsn: str, work: Path) -> float:
    """Seconds for PostgreSQL COPY to write the loaded event rows from a file into an empty table.

    The table has the events' columns and nothing else (no index): the floor for these rows.
    """
    dump = work / "events.copy"
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur, dump.open("w") as out:
        cur.copy_expert("copy umami_raw.events to stdout", out)
        cur.execute("drop table if exists public.copy_baseline")
        cur.execute("create table public.copy_baseline (like umami_raw.events)")
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur, dump.open() as source:
        started = time.perf_counter()
        cur.copy_expert("copy public.copy_baseline from stdin", source)
        conn.commit()
        seconds = time.perf_counter() - started
        cur.execute("drop table public.copy_baseline")
    dump.unlink()
    return seconds


def _top_nodes(home: Path) -> list[dict[str, object]]:
    """The slowest nodes of the last dbt build of this installation (its target/run_results.json)."""
    results = json.loads((home / "dbt" / "target" / "run_results.json").read_text())["results"]
    slowest = sorted(results, key=lambda r: r["execution_time"], reverse=True)[:TOP_NODES]
    return [{"node": r["unique_id"], "s": round(r["execution_time"], 2)} for r in slowest]


def _floor(dsn: str, as_of: datetime) -> float:
    """Seconds of bench/floor.sql; fails unless its numbers equal the published marts'."""
    seconds = floor.run(dsn, as_of)
    try:
        floor.check(dsn)
    finally:
        floor.drop(dsn)
    return seconds


def _new_hour(sim: UmamiSimulator, website: str, events: int, start: datetime) -> None:
    """``events`` course visits spread over the hour after ``start``, sent like a browser would."""
    for i in range(events):
        at = start + timedelta(seconds=(3600 * i) // max(events, 1))
        user = f"u-{i % 5000 + 1:04d}"
        course = f"shifu-{i % 100 + 1:03d}"
        body = course_visit_body(website, user, course, int(at.timestamp()), entry_type="resume")
        status, _ = sim.send(body)
        if status != 200:
            raise RuntimeError(f"send failed with {status}")


def run_scenario(scenario: Scenario, work: Path) -> Figures:
    """One history size, on its own PostgreSQL server (as the embedded warehouse runs it)."""
    name = f"bench_{scenario.events}_{scenario.days}"
    home = work / name
    home.mkdir()
    server = LocalPostgres(home / "pg")
    try:
        return _measure(scenario, server.start(), home, work / f"{name}.sqlite")
    finally:
        server.stop()
        (work / f"{name}.sqlite").unlink(missing_ok=True)


def _measure(scenario: Scenario, server: ServerInfo, home: Path, store: Path) -> Figures:
    figures = Figures(scenario.events, scenario.days)
    dsn = server.dsn
    name = home.name
    work = home.parent
    with UmamiSimulator(db_path=str(store), seed=7) as sim:
        website = sim.create_website(name, "course.example.com")
        fill = sim.bulk_fill(
            website,
            FillSpec(events=scenario.events, days=scenario.days, end=END.strftime("%Y-%m-%dT%H:%M:%SZ"), seed=7),
        )
        figures.fill_s = fill.seconds
        print(f"[{name}] simulator filled with {fill.events:,} events in {fill.seconds:.1f}s", flush=True)
        env = {
            **os.environ,
            # the CLI runs this checkout's code, as this script does (not that of the installed package)
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
            "UMAMI_API_URL": sim.base_url,
            "UMAMI_WEBSITE_ID": website,
            "UMAMI_USERNAME": sim.username,
            "UMAMI_PASSWORD": sim.password,
            "WAREHOUSE_DSN": dsn,
            "COURSE_ANALYTICS_HOME": str(home),
            "COURSE_ANALYTICS_LOG_LEVEL": "WARNING",
        }
        as_of_instant = END - timedelta(seconds=1)
        as_of = as_of_instant.isoformat()
        start_date = (END - timedelta(days=scenario.days)).date().isoformat()
        sim.reset_counters()
        load = _run_cli(["load", "--as-of", as_of, "--start-date", start_date], env, server.pid)
        figures.load_s, figures.loader_peak_rss_mb = load.wall_s, load.peak_rss_mb
        figures.loader_cpu_s, figures.simulator_cpu_s = load.cpu_s, load.simulator_cpu_s
        figures.warehouse_cpu_s = load.warehouse_cpu_s
        per_100k = 100_000 / scenario.events
        figures.loader_cpu_s_per_100k = load.cpu_s * per_100k
        figures.simulator_cpu_s_per_100k = load.simulator_cpu_s * per_100k
        figures.warehouse_cpu_s_per_100k = load.warehouse_cpu_s * per_100k
        figures.requests = sim.request_count()
        loaded = _scalar(dsn, "select count(*) from umami_raw.events")
        if loaded != scenario.events:
            raise RuntimeError(f"loaded {loaded} events, expected {scenario.events}")
        figures.loader_events_per_s = scenario.events / figures.load_s
        figures.requests_per_10k_events = figures.requests * 10_000 / scenario.events
        print(
            f"[{name}] initial load {figures.load_s:.1f}s ({figures.loader_events_per_s:,.0f} events/s, "
            f"{figures.requests} requests, peak RSS {figures.loader_peak_rss_mb:.0f} MB); CPU: loader "
            f"{figures.loader_cpu_s:.1f}s, simulator {figures.simulator_cpu_s:.1f}s, "
            f"PostgreSQL {figures.warehouse_cpu_s:.1f}s",
            flush=True,
        )
        figures.copy_s = _copy_baseline(dsn, work)
        figures.loader_vs_copy_ratio = figures.load_s / figures.copy_s
        figures.full_refresh_s = _run_cli(["transform", "--as-of", as_of, "--full-refresh"], env, server.pid).wall_s
        figures.refresh_top_nodes = _top_nodes(home)
        figures.floor_s = _floor(dsn, as_of_instant)
        figures.refresh_vs_floor_ratio = figures.full_refresh_s / figures.floor_s
        print(
            f"[{name}] COPY baseline {figures.copy_s:.1f}s; marts full refresh {figures.full_refresh_s:.1f}s; "
            f"floor {figures.floor_s:.1f}s (equal to the published marts)",
            flush=True,
        )
        if scenario.cycle_hours:
            per_hour = max(1, scenario.events // (scenario.days * 24))
            figures.cycle_new_events = per_hour
            hour_nodes: list[list[dict[str, object]]] = []
            for hour in range(scenario.cycle_hours):
                start = END + timedelta(hours=hour)
                _new_hour(sim, website, per_hour, start)
                as_of_hour = (start + timedelta(hours=1) - timedelta(seconds=1)).isoformat()
                load_s = _run_cli(["load", "--as-of", as_of_hour], env, server.pid).wall_s
                transform_s = _run_cli(["transform", "--as-of", as_of_hour], env, server.pid).wall_s
                figures.cycles.append((load_s, transform_s))
                hour_nodes.append(_top_nodes(home))
                print(
                    f"[{name}] hourly cycle {hour + 1} ({per_hour} new events): load {load_s:.1f}s + "
                    f"transform {transform_s:.1f}s",
                    flush=True,
                )
            median = sorted(range(len(figures.cycles)), key=lambda i: sum(figures.cycles[i]))[len(figures.cycles) // 2]
            figures.cycle_load_s, figures.cycle_transform_s = figures.cycles[median]
            figures.cycle_s = sum(figures.cycles[median])
            figures.cycle_top_nodes = hour_nodes[median]
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, same measurements (under 3 minutes)")
    parser.add_argument("--json", type=Path, required=True, help="write the figures to this JSON file")
    args = parser.parse_args(argv)
    if args.quick:
        # same daily traffic (about 3,300 events a day), five times the history
        scenarios = [Scenario(20_000, 6, 1), Scenario(100_000, 30, 1)]  # one hour each: under 3 minutes
    else:
        # The 1M and 10M histories have the same daily traffic (about 11,000 events a day) and both
        # span at least 90 days, so the widest window the marts compute (last_90_days) holds the
        # same events in both: what differs between the two cycles is the history alone.
        scenarios = [Scenario(100_000, 30, 0), Scenario(1_000_000, 90, 3), Scenario(10_000_000, 900, 3)]
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="ca-bench-", dir="/tmp"))
    work.chmod(0o755)
    try:
        results = [run_scenario(s, work) for s in scenarios]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    # the throughput targets are set at 1M events: report that size when it ran, else the largest
    headline = next((r for r in results if r.events == 1_000_000), max(results, key=lambda r: r.events))
    largest = max(results, key=lambda r: r.events)
    cycles = [r for r in results if r.cycle_s]
    small, large = min(cycles, key=lambda r: r.events), max(cycles, key=lambda r: r.events)
    summary = {
        "mode": "quick" if args.quick else "full",
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "sizes": [r.events for r in results],
        "loader_events_per_s": round(headline.loader_events_per_s),
        "loader_vs_copy_ratio": round(headline.loader_vs_copy_ratio, 2),
        "incremental_ratio": round(large.cycle_s / small.cycle_s, 2),
        "refresh_vs_floor_ratio": round(largest.refresh_vs_floor_ratio, 2),
        "floor_s": {str(r.events): round(r.floor_s, 2) for r in results},
        "cycle_transform_s": {str(r.events): round(r.cycle_transform_s, 2) for r in cycles},
        "loader_peak_rss_mb": round(max(r.loader_peak_rss_mb for r in results), 1),
        "loader_cpu_s_per_100k": {str(r.events): round(r.loader_cpu_s_per_100k, 2) for r in results},
        "simulator_cpu_s_per_100k": {str(r.events): round(r.simulator_cpu_s_per_100k, 2) for r in results},
        "warehouse_cpu_s_per_100k": {str(r.events): round(r.warehouse_cpu_s_per_100k, 2) for r in results},
        "requests_per_10k_events": round(headline.requests_per_10k_events, 2),
        "total_seconds": round(time.perf_counter() - started, 1),
        "scenarios": [asdict(r) for r in results],
    }
    args.json.write_text(json.dumps(summary, indent=2) + "\n")
    _print_report(results, summary)
    print(f"written to {args.json}")
    return 0


def _print_report(results: list[Figures], summary: dict[str, object]) -> None:
    header = (
        f"{'events':>11} {'days':>5} {'load s':>8} {'CPU s':>6} {'sim CPU':>7} {'PG CPU':>6} {'events/s':>9} "
        f"{'RSS MB':>7} {'req/10k':>8} "
        f"{'COPY s':>7} {'x COPY':>7} {'refresh s':>9} {'floor s':>8} {'x floor':>8} {'cycle s':>8} {'transf s':>8}"
    )
    print()
    print(header)
    for r in results:
        cycle = f"{r.cycle_s:8.1f} {r.cycle_transform_s:8.1f}" if r.cycle_s else f"{'-':>8} {'-':>8}"
        print(
            f"{r.events:>11,} {r.days:>5} {r.load_s:8.1f} {r.loader_cpu_s:6.1f} {r.simulator_cpu_s:7.1f} "
            f"{r.warehouse_cpu_s:6.1f} {r.loader_events_per_s:9,.0f} {r.loader_peak_rss_mb:7.0f} "
            f"{r.requests_per_10k_events:8.2f} {r.copy_s:7.2f} {r.loader_vs_copy_ratio:7.1f} "
            f"{r.full_refresh_s:9.1f} {r.floor_s:8.2f} {r.refresh_vs_floor_ratio:8.1f} {cycle}"
        )
    for r in results:
        builds = [("full refresh", r.refresh_top_nodes), ("median hourly transform", r.cycle_top_nodes)]
        for build, nodes in builds:
            if nodes:
                print(f"\nslowest dbt nodes, {build} at {r.events:,} events:")
                for node in nodes:
                    print(f"  {node['s']:8.2f} s  {node['node']}")
    print()
    for key in (
        "loader_events_per_s",
        "loader_vs_copy_ratio",
        "incremental_ratio",
        "refresh_vs_floor_ratio",
        "floor_s",
        "cycle_transform_s",
        "loader_peak_rss_mb",
        "loader_cpu_s_per_100k",
        "simulator_cpu_s_per_100k",
        "warehouse_cpu_s_per_100k",
        "requests_per_10k_events",
        "total_seconds",
    ):
        print(f"{key}: {summary[key]}")


if __name__ == "__main__":
    sys.exit(main())
