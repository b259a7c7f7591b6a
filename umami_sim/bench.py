"""Throughput benchmark: ``python -m umami_sim.bench --events 1000000 [--db FILE] [--memory]``.

Bulk-fills a SQLite file (``--db FILE`` keeps it; an existing file is read as it is, not refilled:
give the same ``--events``, ``--users`` and ``--courses``), then serves it from a separate
``python -m umami_sim`` process and reads it over HTTP the way the loader does, measuring the
server's own CPU time (Linux ``/proc``), so the client and other processes count less:

* ``/events`` and ``/event-data``: page 1 of ``pageSize`` rows for ``event=course_visit`` in time
  slices that each hold about one page, spread over the whole store;
* ``/sessions/{id}`` for sessions seen on those pages;
* ``/events/stats`` and ``/event-data/values`` (``shifu_bid``) over the last 30 days.

It prints the load average next to each figure: the machine may be shared.
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
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from .bulk import FillSpec
from .simulator import UmamiSimulator
from .store import DAY_MS


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m umami_sim.bench", description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--page-size", type=int, default=10_000)
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--courses", type=int, default=200)
    parser.add_argument("--slices", type=int, default=50, help="time slices read per list endpoint")
    parser.add_argument("--sessions", type=int, default=2_000, help="GET /sessions/{id} requests")
    parser.add_argument("--db", help="the store file to fill (kept) or, when it exists, to read")
    parser.add_argument("--memory", action="store_true", help="also time a bulk fill in memory")
    args = parser.parse_args(argv)
    spec = FillSpec(events=args.events, users=args.users, guests=args.users // 10, courses=args.courses)
    with tempfile.TemporaryDirectory(prefix="umami-sim-bench-") as folder:
        db = args.db or str(Path(folder) / "bench.sqlite")
        if args.memory:
            _fill(None, spec)
        if not Path(db).exists():
            _fill(db, spec)
        size = sum(f.stat().st_size for f in Path(db).parent.glob(Path(db).name + "*"))
        print(f"store file: {size / 1e6:,.0f} MB ({size / max(args.events, 1):,.0f} bytes per event)")
        with _served(db) as server:
            _reads(server, spec, args.page_size, args.slices, args.sessions)


def _fill(path: str | None, spec: FillSpec) -> None:
    with UmamiSimulator(db_path=path, seed=1) as sim:
        website = sim.create_website()
        load = os.getloadavg()[0]
        cpu = time.process_time()
        result = sim.bulk_fill(website, spec)
        cpu = time.process_time() - cpu
    where = "a file" if path else "memory"
    print(f"bulk fill into {where}: {result.events:,} events in {result.seconds:.1f} s = "
          f"{result.events_per_second:,.0f}/s ({cpu:.1f} CPU-s; load average {load:.2f} before, "
          f"{os.getloadavg()[0]:.2f} after)")  # fmt: skip


class _Server:
    """A served store: an HTTP/1.1 keep-alive client logged in, and the server's CPU seconds."""

    def __init__(self, base: str, pid: int) -> None:
        url = urlsplit(base)
        self.prefix = url.path
        self.pid = pid
        self._conn = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=600)
        self._auth: dict[str, str] = {}
        login = self.call("POST", "/auth/login", json.dumps({"username": "admin", "password": "umami"}))
        self._auth = {"Authorization": f"Bearer {login['token']}"}

    def call(self, method: str, path: str, body: str | None = None) -> Any:
        self._conn.request(method, self.prefix + path, body, self._auth)
        response = self._conn.getresponse()
        raw = response.read()
        if response.status != 200:
            raise RuntimeError(f"{method} {path}: {response.status} {raw[:300]!r}")
        return json.loads(raw)

    def get(self, path: str, **query: object) -> Any:
        return self.call("GET", f"{path}?{urlencode(query)}" if query else path)

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server process."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def _served(db: str) -> Iterator[_Server]:
    """``python -m umami_sim --db FILE`` in a child process."""
    command = [sys.executable, "-m", "umami_sim", "--host", "127.0.0.1", "--port", "0", "--db", db, "--seed", "1"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        match = re.search(r"listening on (\S+)", process.stdout.readline())
        if match is None:
            raise RuntimeError("the simulator did not start")
        yield _Server(match.group(1), process.pid)
    finally:
        process.terminate()
        process.communicate(timeout=30)


@contextmanager
def _measured(server: _Server, label: str, unit: str) -> Iterator[list[int]]:
    """Times the block, which appends (requests, rows) to the yielded list; prints server CPU per
    request (and rows per CPU second when ``unit`` names the rows)."""
    counts: list[int] = []
    load = os.getloadavg()[0]
    cpu, wall = server.cpu_seconds(), time.perf_counter()
    yield counts
    cpu, wall = server.cpu_seconds() - cpu, time.perf_counter() - wall
    requests, rows = counts
    rate = f", {rows / cpu:,.0f} {unit}/s of server CPU" if unit and cpu else ""
    print(f"{label}: {requests:,} requests, {1000 * cpu / requests:.2f} ms server CPU and {1000 * wall / requests:.2f} "
          f"ms wall each{rate} (load average {load:.2f})")  # fmt: skip


def _reads(server: _Server, spec: FillSpec, page_size: int, slices: int, sessions: int) -> None:
    website = server.get("/websites")["data"][0]["id"]
    site = f"/websites/{website}"
    end = int(datetime.strptime(spec.end, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()) * 1000
    start = end - spec.days * DAY_MS
    total = server.get(f"{site}/events", startAt=start, endAt=end - 1, event="course_visit", pageSize=1)["count"]
    width = max(1, (end - start) * page_size // max(total, 1))  # a slice holds about one page
    step = (end - start - width) // max(slices - 1, 1)
    windows = [(start + i * step, start + i * step + width - 1) for i in range(slices)]
    seen: list[str] = []
    for endpoint in ("events", "event-data"):
        with _measured(server, f"/{endpoint}, pages of {page_size:,} in {slices} slices", "rows") as counts:
            rows = 0
            for low, high in windows:
                page = server.get(f"{site}/{endpoint}", startAt=low, endAt=high, event="course_visit", page=1,
                                  pageSize=page_size)  # fmt: skip
                rows += len(page["data"])
                if endpoint == "events":
                    seen += [row["sessionId"] for row in page["data"]]
            counts += [slices, rows]
    unique = list(dict.fromkeys(seen))[:sessions]
    with _measured(server, "/sessions/{id}", "") as counts:
        for session in unique:
            server.get(f"{site}/sessions/{session}")
        counts += [len(unique), 0]
    window = {"startAt": end - 30 * DAY_MS, "endAt": end - 1, "event": "course_visit"}
    with _measured(server, "/events/stats, 30 days", "") as counts:
        stats = server.get(f"{site}/events/stats", **window)
        counts += [1, 0]
    with _measured(server, "/event-data/values, 30 days", "") as counts:
        server.get(f"{site}/event-data/values", **window, propertyName="shifu_bid")
        counts += [1, 0]
    print(f"(the 30 days hold {stats['data']['events']:,} events of {stats['data']['visitors']:,} sessions)")


if __name__ == "__main__":
    main()
