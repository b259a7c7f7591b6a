"""`course-analytics load` on a real pseudo-terminal: the reads shown live by rich with Umami's
counts, the display ended at the full count on success and erased before the error on failure;
no display off a terminal or at DEBUG."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from flows.catalog import default_event_names
from flows.warehouse import Warehouse
from loader.umami.client import ClientSettings, UmamiClient
from loader.umami.windows import DEFAULT_START_DATE, midnight, to_ms
from tests.contract_site import cli_environment, contract_simulator
from tests.loader.conftest import AS_OF
from tests.terminal import Screen, run_on_terminal
from umami_sim import Fault, UmamiSimulator

CLI = str(Path(sys.executable).parent / "course-analytics")
ROOT = Path(__file__).resolve().parents[2]
LOAD = [CLI, "load", "--as-of", AS_OF.isoformat(), "--page-size", "10"]
_ESCAPES = re.compile(r"\x1b\[[\d;?]*[A-Za-z]")


@pytest.fixture
def site() -> Iterator[tuple[UmamiSimulator, str]]:
    with contract_simulator() as site:
        yield site


@pytest.fixture
def env(site: tuple[UmamiSimulator, str], fresh_database: Warehouse, tmp_path: Path) -> dict[str, str]:
    """The CLI's environment: the site, an empty warehouse, this checkout's code, INFO logs."""
    return {
        **cli_environment(*site),
        "WAREHOUSE_DSN": fresh_database.dsn,
        "COURSE_ANALYTICS_HOME": str(tmp_path / "home"),
        "COURSE_ANALYTICS_LOG_LEVEL": "INFO",
        "PYTHONPATH": str(ROOT),
        "TERM": "xterm-256color",
    }


def umami_count(site: tuple[UmamiSimulator, str], event_name: str) -> int:
    sim, website = site
    client = UmamiClient(ClientSettings(api_url=sim.base_url, username=sim.username, password=sim.password))
    params = {"startAt": to_ms(midnight(DEFAULT_START_DATE)), "endAt": to_ms(AS_OF), "event": event_name, "pageSize": 1}
    return client.get(f"/websites/{website}/events", params)["count"]


def drawn_lines(terminal: str) -> list[str]:
    """Every line any frame drew, erased or not."""
    return [line.strip() for line in re.split(r"[\r\n]", _ESCAPES.sub("", terminal)) if line.strip()]


def test_a_load_on_a_terminal_shows_each_name_of_umamis_count_and_ends_at_the_full_count(
    site: tuple[UmamiSimulator, str], env: dict[str, str], fresh_database: Warehouse
) -> None:
    site[0].add_fault(Fault("latency", count=None, path="/events", latency_ms=60))  # reads long enough to draw
    run = run_on_terminal(LOAD, env, stdout_on_terminal=False)
    assert run.returncode == 0, run.terminal[-3000:]
    assert run.stdout is not None and run.stdout.startswith("loaded: ") and "\x1b" not in run.stdout

    course_visits = umami_count(site, "course_visit")
    assert any(re.match(rf"course_visit [━╸╺]+ +\d+/{course_visits} +\d+%", line) for line in drawn_lines(run.terminal))
    names = default_event_names()
    counted = sum(umami_count(site, name) for name in names)
    with fresh_database.connect() as conn, conn.cursor() as cur:
        cur.execute("select count(*) from umami_raw.events")
        (loaded,) = cur.fetchone()
    assert loaded == counted > course_visits

    screen = Screen(run.terminal)
    left = [line for line in screen.text if line.startswith("event names")]
    assert len(left) == 1, screen.text  # the last frame, once
    assert re.fullmatch(
        rf"event names ━+ {len(names)}/{len(names)} 100% {loaded:,} events read, {counted:,} counted \d:\d\d:\d\d",
        left[0],
    ), left
    assert not any(line.startswith(names) for line in screen.text)  # no row of a name is left
    assert screen.cursor_visible


def test_a_failed_load_on_a_terminal_erases_its_display_before_the_error(
    site: tuple[UmamiSimulator, str], env: dict[str, str]
) -> None:
    sim = site[0]
    sim.add_fault(Fault("latency", count=None, path="/events", latency_ms=60))
    sim.add_fault(Fault("status", count=None, path="/sessions/", status=418))  # no retry: the load fails
    run = run_on_terminal(LOAD, env)  # stdout on the terminal too
    assert run.returncode == 1, run.terminal[-3000:]
    assert any(line.startswith("event names") for line in drawn_lines(run.terminal))  # it was drawn

    screen = Screen(run.terminal)
    shown = [line for line in screen.text if line]
    assert not any("━" in line or line.startswith("event names") for line in shown), shown
    error = next(i for i, line in enumerate(shown) if line.startswith("error: "))
    assert "answered HTTP 418" in "".join(shown[error:]), shown[error:]  # the last lines: the error, wrapped
    assert screen.cursor_visible


def test_off_a_terminal_a_load_draws_nothing(env: dict[str, str]) -> None:
    result = subprocess.run(LOAD, env=env, capture_output=True, text=True, timeout=300, cwd="/")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "\x1b" not in result.stderr + result.stdout and "━" not in result.stderr
    assert "loader.umami.source: course_visit: " in result.stderr  # the log lines as ever


def test_at_debug_a_load_on_a_terminal_draws_nothing(env: dict[str, str]) -> None:
    run = run_on_terminal(LOAD, {**env, "COURSE_ANALYTICS_LOG_LEVEL": "DEBUG"}, stdout_on_terminal=False)
    assert run.returncode == 0, run.terminal[-3000:]
    assert "━" not in run.terminal and "\x1b[?25l" not in run.terminal  # no bar, the cursor never hidden
    assert f"DEBUG loader.umami.progress: reading {len(default_event_names())} event names" in run.terminal
