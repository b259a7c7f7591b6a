"""Throughput benchmark: ``python -m umami_sim.bench --events 1000000 --page-size 10000``.

Bulk-fills a SQLite file, serves it from a separate ``python -m umami_sim`` process and reads every
``/events`` and ``/event-data`` page of the filled range over HTTP (so the client does not share the
server's interpreter), then prints events/s for each phase.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from .bulk import FillSpec
from .simulator import UmamiSimulator


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m umami_sim.bench", description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--page-size", type=int, default=10_000)
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--courses", type=int, default=200)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="umami-sim-bench-") as folder:
        db = str(Path(folder) / "bench.sqlite")
        for path in (None, db):
            with UmamiSimulator(db_path=path, seed=1) as sim:
                website = sim.create_website()
                spec = FillSpec(events=args.events, users=args.users, guests=args.users // 10, courses=args.courses)
                cpu = time.process_time()
                result = sim.bulk_fill(website, spec)
                cpu = time.process_time() - cpu
            where = "a file" if path else "memory"
            print(f"bulk fill into {where}: {result.events:,} events in {result.seconds:.1f} s = "
                  f"{result.events_per_second:,.0f}/s ({cpu:.1f} CPU-s)")  # fmt: skip
        with _served(db) as (base, pid):
            period = {"startAt": result.start_ms, "endAt": result.end_ms, "event": "course_visit"}
            for endpoint in ("events", "event-data"):
                cpu = _cpu_seconds(pid)
                seen, seconds = _read_all(base, f"/websites/{website}/{endpoint}", period, args.page_size)
                cpu = _cpu_seconds(pid) - cpu
                print(f"/{endpoint} pages of {args.page_size:,}: {seen:,} rows in {seconds:.1f} s = "
                      f"{seen / seconds:,.0f}/s (server {cpu:.1f} CPU-s)")  # fmt: skip


class _served:
    """``python -m umami_sim --db FILE`` in a child process; yields its API base URL."""

    def __init__(self, db: str) -> None:
        command = [sys.executable, "-m", "umami_sim", "--host", "127.0.0.1", "--port", "0", "--db", db]
        self._process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)

    def __enter__(self) -> tuple[str, int]:
        assert self._process.stdout is not None
        match = re.search(r"listening on (\S+)", self._process.stdout.readline())
        if match is None:
            raise RuntimeError("the simulator did not start")
        return match.group(1), self._process.pid

    def __exit__(self, *exc: object) -> None:
        self._process.terminate()
        self._process.communicate(timeout=10)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc; the machine may be shared)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _read_all(base: str, path: str, period: dict[str, object], page_size: int) -> tuple[int, float]:
    url = urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=600)
    conn.request("POST", f"{url.path}/auth/login", json.dumps({"username": "admin", "password": "umami"}),
                 {"Content-Type": "application/json"})  # fmt: skip
    token = json.loads(conn.getresponse().read())["token"]
    started = time.perf_counter()
    rows, page = 0, 1
    while True:
        query = urlencode({**period, "page": page, "pageSize": page_size})
        conn.request("GET", f"{url.path}{path}?{query}", headers={"Authorization": f"Bearer {token}"})
        body = json.loads(conn.getresponse().read())
        rows += len(body["data"])
        if page * page_size >= body["count"]:
            return rows, time.perf_counter() - started
        page += 1


if __name__ == "__main__":
    main()
