"""`course-analytics status`: every published mart with its rows, publication and data as-of
times, and the last run's outcome — success, then a failed run with its time and error.

Runs after test_docs and test_report (pytest's file order): its failed run changes the last run."""

from __future__ import annotations

import socket
from datetime import UTC, datetime

from tests.analyst.conftest import SECRET, Published, rows


def _marts_table(output: str) -> dict[str, tuple[int, str, str]]:
    lines = output.splitlines()
    start = lines.index("marts in analytics:") + 2
    return {name: (int(n), published, as_of) for name, n, published, as_of in (line.split() for line in lines[start:])}


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # nothing listens there once the socket is closed


def test_status_lists_every_mart_and_the_last_runs_outcome(published: Published) -> None:
    result = published.cli("status")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "last run: success (all), finished 20" in result.stdout
    table = _marts_table(result.stdout)
    marts = rows(
        published.warehouse,
        "select table_name from information_schema.tables "
        "where table_schema = 'analytics' and table_name <> 'mart_publications'",
    )
    assert sorted(table) == sorted(name for (name,) in marts)
    (published_at,) = rows(published.warehouse, "select max(published_at) from analytics.mart_publications")[0]
    for name, (count, published_when, as_of) in table.items():
        assert count == rows(published.warehouse, f"select count(*) from analytics.{name}")[0][0]
        assert published_when == f"{published_at.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"
        assert as_of == "2026-11-19T23:59:59Z"

    before = datetime.now(UTC).replace(microsecond=0)
    failed = published.cli("load", UMAMI_API_URL=f"http://127.0.0.1:{_closed_port()}/api")
    assert failed.returncode != 0
    after = published.cli("status")
    assert after.returncode == 0, after.stderr[-3000:]
    [line] = [line for line in after.stdout.splitlines() if line.startswith("last run: ")]
    assert line.startswith("last run: FAILED (load) at ")
    failed_at = datetime.fromisoformat(line.removeprefix("last run: FAILED (load) at ").split(": ", 1)[0])
    assert before <= failed_at <= datetime.now(UTC)
    assert "connection refused" in line and SECRET not in line + after.stdout + after.stderr
    assert _marts_table(after.stdout) == table  # a failed load leaves the published marts as they were
