"""`course-analytics report`: the page opened in headless Chromium as an operator would open it.

The charts' numbers are read back from the rendered page (each Plotly chart's data on its
element) and compared with an oracle computed here from dataset.json, and the tables with the
published marts; the page renders without console errors and fetches nothing but itself.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta

import pytest

from flows.report import DAILY_DAYS, TOP_COURSES, TOP_LINES
from tests import oracle
from tests.analyst.conftest import Published, rows
from tests.browser import StaticServer, console_errors, wait_for

AS_OF = datetime(2026, 11, 19, 23, 59, 59, tzinfo=UTC)
CHARTS = ("visitors-30d", "daily-visitors", "window-visitors")


@pytest.fixture(scope="module")
def page(published: Published, browser, tmp_path_factory, artifacts_dir):
    out = tmp_path_factory.mktemp("report") / "report.html"
    result = published.cli("report", "--out", str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == f"report written: {out}"
    shutil.copy(out, artifacts_dir / "report.html")
    with StaticServer({"/": out.parent}) as site:
        console_errors(browser)  # drop what earlier pages in this browser logged
        browser.get(site.url("/report.html"))
        wait_for(browser, f"return document.querySelectorAll('.js-plotly-plot .main-svg').length >= {len(CHARTS)}")
        browser.save_screenshot(str(artifacts_dir / "report.png"))
        traces = browser.execute_script(
            "return arguments[0].map(id => document.getElementById(id).data.map(t => "
            "({name: t.name, x: Array.from(t.x), y: Array.from(t.y)})))",
            list(CHARTS),
        )
        tables = browser.execute_script(
            "return Object.fromEntries(Array.from(document.querySelectorAll('table')).map(t => [t.id, "
            "Array.from(t.querySelectorAll('tbody tr')).map(r => Array.from(r.cells).map(c => c.innerText))]))"
        )
        errors = console_errors(browser)
        requests = list(site.requests)
    return {
        "charts": dict(zip(CHARTS, traces, strict=True)),
        "tables": tables,
        "errors": errors,
        "requests": requests,
        "html": out.read_text(),
    }


def _oracle() -> oracle.CourseMarts:
    return oracle.course_marts(oracle.load_json("dataset.json"), AS_OF)


def _top(marts: oracle.CourseMarts) -> list[tuple[str, int]]:
    visitors = [(course, v) for (window, course), (v, _) in marts.windows.items() if window == "last_30_days"]
    return sorted(visitors, key=lambda r: (-r[1], r[0]))[:TOP_COURSES]


def test_the_page_renders_without_errors_and_fetches_nothing_else(page) -> None:
    assert page["errors"] == []
    assert page["requests"] == ["/report.html"]
    assert "https://" not in page["html"].split("</script>", 1)[1]  # nothing after the inlined plotly.js loads


def test_the_visitors_30d_bars_hold_the_exact_distinct_visitors(page) -> None:
    [bars] = page["charts"]["visitors-30d"]
    expected = _top(_oracle())
    assert len(expected) >= 3
    assert list(zip(bars["x"], bars["y"], strict=True)) == expected


def test_the_daily_lines_hold_each_days_distinct_visitors_for_the_top_courses(page) -> None:
    marts = _oracle()
    top = [course for course, _ in _top(marts)][:TOP_LINES]
    last_day = AS_OF.date()
    days = [last_day - timedelta(days=n) for n in range(DAILY_DAYS - 1, -1, -1)]
    lines = page["charts"]["daily-visitors"]
    assert [line["name"] for line in lines] == top
    for line in lines:
        assert [x[:10] for x in line["x"]] == [day.isoformat() for day in days]
        assert line["y"] == [marts.daily.get((day, line["name"]), (0, 0))[1] for day in days], line["name"]
        assert sum(line["y"]) > 0


def test_the_three_windows_side_by_side(page) -> None:
    marts = _oracle()
    courses = [course for course, _ in _top(marts)]
    bars = page["charts"]["window-visitors"]
    assert [b["name"] for b in bars] == ["last 7 days", "last 30 days", "last 90 days"]
    for trace, window in zip(bars, ("last_7_days", "last_30_days", "last_90_days"), strict=True):
        assert trace["x"] == courses
        assert trace["y"] == [marts.windows.get((window, c), (0, 0))[0] for c in courses]
    table = page["tables"]["windows-table"]
    assert table == [[c, *(str(marts.windows.get((w, c), (0, 0))[0]) for w in oracle.WINDOWS)] for c in courses]


def test_freshness_names_every_published_mart_with_its_rows(page, published: Published) -> None:
    table = {row[0]: row for row in page["tables"]["freshness-table"]}
    marts = [
        name
        for (name,) in rows(
            published.warehouse,
            "select table_name from information_schema.tables "
            "where table_schema = 'analytics' and table_name <> 'mart_publications'",
        )
    ]
    assert sorted(table) == sorted(marts)
    (published_at,) = rows(published.warehouse, "select max(published_at) from analytics.mart_publications")[0]
    for name in marts:
        (count,) = rows(published.warehouse, f"select count(*) from analytics.{name}")[0]
        assert table[name][1] == str(count)
        assert table[name][2] == f"{published_at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"
        assert table[name][3] == "2026-11-19 23:59:59 UTC"
    assert "last run: success (all)" in page["html"]


def test_reconciliation_says_equal_or_by_how_much_it_differs(page, published: Published) -> None:
    dataset = oracle.load_json("dataset.json")
    checks = {(row[0], row[1]): row for row in page["tables"]["reconciliation-table"]}
    windows = rows(
        published.warehouse,
        "select distinct window_type, start_at, end_at from analytics.umami_reconciliation",
    )
    assert {window for _, window in checks} == {window for window, *_ in windows} != set()
    for window, start_at, end_at in windows:
        figures = oracle.umami_figures(dataset, start_at, end_at)
        for check, umami in (("window_events", figures.events), ("window_sessions", figures.visitors)):
            (warehouse_count,) = rows(
                published.warehouse,
                f"select warehouse_count from analytics.umami_reconciliation "
                f"where check_name = '{check}' and window_type = '{window}'",
            )[0]
            row = checks[(check, window)]
            assert (int(row[3]), int(row[4])) == (umami, warehouse_count)
            difference = warehouse_count - umami
            assert row[5] == ("equal" if difference == 0 else f"differs by {difference:+d}")
        umami_values = oracle.umami_values(dataset, start_at, end_at)
        statuses = rows(
            published.warehouse,
            f"select status, count(*) from analytics.umami_reconciliation "
            f"where check_name = 'shifu_bid_events' and window_type = '{window}' group by 1",
        )
        values = sum(n for _, n in statuses)
        assert values >= len(umami_values) > 0
        row = checks[("shifu_bid_events", window)]
        assert int(row[3]) == sum(umami_values.values())
        if dict(statuses).get("match") == values:
            assert row[5] == f"equal for all {values} course ids"
        else:
            assert f"of {values} course ids differ" in row[5]
