"""``course-analytics report``: one self-contained HTML page of the published marts, for operators.

Visitors (30d) of the top courses (bars), the daily distinct visitors of the top courses over the
last 90 days (lines), the 7/30/90-day windows side by side (grouped bars and a table), the last
sync and how fresh each mart is, and the reconciliation with Umami's own totals. The charts are
Plotly figures with plotly.js inlined once, so the page needs no network when it is opened.
Everything is read from the published schema through the warehouse's plain queries (either engine).
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from flows import last_run, paths
from flows.published import MartState, mart_states, utc
from flows.warehouse import MARTS_SCHEMA, RAW_SCHEMA, Warehouse

TOP_COURSES = 15  # bars of Visitors (30d) and of the three windows
TOP_LINES = 5  # courses drawn in the daily chart
WINDOWS = ("last_7_days", "last_30_days", "last_90_days")
WINDOW_LABELS = {"last_7_days": "7 days", "last_30_days": "30 days", "last_90_days": "90 days"}
DAILY_DAYS = 90
WINDOW_STATS = f"{MARTS_SCHEMA}.analytics_course_window_stats"
DAILY_STATS = f"{MARTS_SCHEMA}.analytics_course_daily_stats"
RECONCILIATION = f"{MARTS_SCHEMA}.umami_reconciliation"


class NothingPublished(RuntimeError):
    """The marts the report reads are not published yet (no successful sync)."""


@dataclass(frozen=True)
class Reconciliation:
    check_name: str
    window_type: str
    window: str
    umami_count: int
    warehouse_count: int
    values: int = 1  # shifu_bid_events: the course ids compared, summed in one row
    matched: int = 1  # of those, how many Umami and the warehouse count equally
    unlisted: int = 0  # of those, how many are beyond Umami's top 100 values (Umami gives no count)

    @property
    def difference(self) -> int:
        return self.warehouse_count - self.umami_count

    @property
    def verdict(self) -> str:
        if self.check_name != "shifu_bid_events":
            return "equal" if self.difference == 0 else f"differs by {self.difference:+d}"
        if self.matched == self.values:
            return f"equal for all {self.values} course ids"
        parts = [f"{self.values - self.matched - self.unlisted} of {self.values} course ids differ"]
        if self.unlisted:
            parts.append(f"{self.unlisted} beyond Umami's top 100")
        return ", ".join(parts) + f" (by {self.difference:+d} in total)"


@dataclass
class ReportData:
    generated_at: datetime
    warehouse: str
    top: list[tuple[str, int]]  # (course, Visitors (30d)), most visitors first
    windows: dict[str, dict[str, int]]  # course -> window type -> distinct visitors
    window_end: date | None
    daily_days: list[date]
    daily: dict[str, list[int]]  # course -> distinct visitors per day of daily_days
    marts: list[MartState]
    last_load: datetime | None
    last_run: str
    reconciliation: list[Reconciliation] = field(default_factory=list)


def _require_published(warehouse: Warehouse) -> None:
    missing = [
        name
        for name in ("analytics_course_window_stats", "analytics_course_daily_stats")
        if not warehouse.relation_exists(MARTS_SCHEMA, name)
    ]
    if missing:
        raise NothingPublished(
            f"{', '.join(f'{MARTS_SCHEMA}.{m}' for m in missing)} not published yet: run `course-analytics run` first"
        )


def _ranked(rows: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """Most visitors first, ties by course id as Python orders text (the same on every engine)."""
    return sorted(((str(course), int(n)) for course, n in rows), key=lambda r: (-r[1], r[0]))


def _windows(warehouse: Warehouse, threshold: int) -> tuple[dict[str, dict[str, int]], date | None]:
    _, rows = warehouse.query(
        f"select w.shifu_bid, w.window_type, w.visitor_count, w.window_end_date from {WINDOW_STATS} as w "
        f"inner join (select shifu_bid from {WINDOW_STATS} where window_type = 'last_30_days' "
        f"and visitor_count >= {int(threshold)}) as top on w.shifu_bid = top.shifu_bid"
    )
    windows: dict[str, dict[str, int]] = {}
    for course, window_type, visitors, _ in rows:
        windows.setdefault(str(course), {})[str(window_type)] = int(visitors)
    ends = [end for *_, end in rows if end is not None]
    return windows, max(ends) if ends else None


def _daily(
    warehouse: Warehouse, courses: list[str], threshold: int, last_day: date
) -> tuple[list[date], dict[str, list[int]]]:
    days = [last_day - timedelta(days=n) for n in range(DAILY_DAYS - 1, -1, -1)]
    # the courses are chosen by their Visitors (30d) in SQL (no course id is written into a query),
    # then narrowed to the top ones here
    _, rows = warehouse.query(
        f"select d.shifu_bid, d.stat_date, d.visitor_count from {DAILY_STATS} as d "
        f"inner join (select shifu_bid from {WINDOW_STATS} where window_type = 'last_30_days' "
        f"and visitor_count >= {int(threshold)}) as top on d.shifu_bid = top.shifu_bid "
        f"where d.stat_date >= cast('{days[0].isoformat()}' as date) "
        f"and d.stat_date <= cast('{last_day.isoformat()}' as date)"
    )
    index = {day: i for i, day in enumerate(days)}
    daily = {course: [0] * len(days) for course in courses}
    for course, stat_date, visitors in rows:
        if str(course) in daily:
            daily[str(course)][index[stat_date]] += int(visitors)
    return days, daily


def _reconciliation(warehouse: Warehouse) -> list[Reconciliation]:
    if not warehouse.relation_exists(MARTS_SCHEMA, "umami_reconciliation"):
        return []
    _, rows = warehouse.query(
        f"select check_name, window_type, window_start_date, window_end_date, "
        f"sum(coalesce(umami_count, 0)), sum(warehouse_count), count(*), "
        f"sum(case when status = 'match' then 1 else 0 end), "
        f"sum(case when status = 'not_in_umami_top_100' then 1 else 0 end) "
        f"from {RECONCILIATION} group by check_name, window_type, window_start_date, window_end_date"
    )
    checks = [
        Reconciliation(
            str(name), str(window_type), f"{start} .. {end}", int(umami), int(counted), int(n), int(ok), int(beyond)
        )
        for name, window_type, start, end, umami, counted, n, ok, beyond in rows
    ]
    order = {name: i for i, name in enumerate(("window_events", "window_sessions", "shifu_bid_events"))}
    return sorted(checks, key=lambda c: (WINDOWS.index(c.window_type), order.get(c.check_name, 9), c.check_name))


def _last_load(warehouse: Warehouse) -> datetime | None:
    if not warehouse.relation_exists(RAW_SCHEMA, "sync_runs"):
        return None
    _, rows = warehouse.query(f"select max(started_at) from {RAW_SCHEMA}.sync_runs")
    return utc(rows[0][0])


def read_report(warehouse: Warehouse, now: datetime | None = None) -> ReportData:
    """Everything the page shows, from the published marts."""
    _require_published(warehouse)
    _, rows = warehouse.query(f"select shifu_bid, visitor_count from {WINDOW_STATS} where window_type = 'last_30_days'")
    ranked = _ranked(rows)
    top = ranked[:TOP_COURSES]
    windows, window_end = _windows(warehouse, top[-1][1]) if top else ({}, None)
    lines = [course for course, _ in top[:TOP_LINES]]
    last_day = window_end or (now or datetime.now(UTC)).date()
    days, daily = _daily(warehouse, lines, top[len(lines) - 1][1], last_day) if lines else ([], {})
    record = last_run.read()
    return ReportData(
        generated_at=(now or datetime.now(UTC)).astimezone(UTC),
        warehouse=warehouse.display,
        top=top,
        windows={course: windows.get(course, {}) for course, _ in top},
        window_end=window_end,
        daily_days=days,
        daily=daily,
        marts=mart_states(warehouse),
        last_load=_last_load(warehouse),
        last_run=record.describe() if record else "none recorded on this machine",
        reconciliation=_reconciliation(warehouse),
    )


def _figures(data: ReportData) -> list[tuple[str, str, object]]:
    """(element id, heading, Plotly figure) for each chart."""
    import plotly.graph_objects as go

    courses = [course for course, _ in data.top]
    # long course ids are shortened on the axis only; the bars' data keep them whole
    ticks = {"tickvals": courses, "ticktext": [_short(c) for c in courses], "automargin": True}
    layout = {"template": "plotly_white", "margin": {"l": 60, "r": 20, "t": 30, "b": 40}, "height": 420}
    visitors = go.Figure(
        go.Bar(x=courses, y=[n for _, n in data.top], name="Visitors (30d)", marker_color="#2a6fdb"), layout=layout
    )
    visitors.update_layout(yaxis_title="distinct users", xaxis={"title": "course (shifu_bid)", **ticks})
    daily = go.Figure(layout=layout)
    for course, counts in data.daily.items():
        daily.add_trace(go.Scatter(x=[d.isoformat() for d in data.daily_days], y=counts, mode="lines", name=course))
    daily.update_layout(yaxis_title="distinct visitors per UTC day", legend_title="course")
    windows = go.Figure(layout=layout)
    for window in WINDOWS:
        windows.add_trace(
            go.Bar(x=courses, y=[data.windows[c].get(window, 0) for c in courses], name=f"last {WINDOW_LABELS[window]}")
        )
    windows.update_layout(barmode="group", yaxis_title="distinct users", xaxis={"title": "course (shifu_bid)", **ticks})
    return [
        ("visitors-30d", "Visitors (30d) / 近30天访问人数 — top courses", visitors),
        ("daily-visitors", f"Daily distinct visitors, top {len(data.daily)} courses, last {DAILY_DAYS} days", daily),
        ("window-visitors", "Distinct visitors in the last 7, 30 and 90 days", windows),
    ]


def _short(course: str, width: int = 24) -> str:
    return course if len(course) <= width else course[: width - 1] + "…"


def _table(header: list[str], rows: list[list[object]], table_id: str) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>" for row in rows)
    return f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _age(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "never"
    hours = (now - moment).total_seconds() / 3600
    return f"{hours:.1f} h ago" if hours < 48 else f"{hours / 24:.1f} days ago"


def _instant(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC" if moment is not None else "never"


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #1d2733; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.2rem; margin-top: 2.2rem; }
table { border-collapse: collapse; margin: .5rem 0; } td, th { border-bottom: 1px solid #dde3ea;
padding: .3rem .8rem; text-align: left; } td:nth-child(n+2) { font-variant-numeric: tabular-nums; }
td:first-child { max-width: 28rem; overflow-wrap: anywhere; } .meta { color: #556; }
.differs { color: #b3261e; font-weight: 600; }
"""


def render_html(data: ReportData) -> str:
    """The page: plotly.js inlined once, then each chart's div and data, then the tables."""
    from plotly.offline import get_plotlyjs

    now = data.generated_at
    sections = []
    for element_id, heading, figure in _figures(data):
        chart = figure.to_html(full_html=False, include_plotlyjs=False, div_id=element_id, config={"responsive": True})
        sections.append(f"<h2>{html.escape(heading)}</h2>\n{chart}")
    windows = _table(
        ["course (shifu_bid)", *(f"last {WINDOW_LABELS[w]}" for w in WINDOWS)],
        [[course, *(data.windows[course].get(w, 0) for w in WINDOWS)] for course, _ in data.top],
        "windows-table",
    )
    freshness = _table(
        ["mart", "rows", "published", "data as of", "age of the data"],
        [[m.name, m.rows, _instant(m.published_at), _instant(m.as_of), _age(m.as_of, now)] for m in data.marts],
        "freshness-table",
    )
    reconciliation = _table(
        ["check", "window", "dates", "Umami", "warehouse", "result"],
        [
            [c.check_name, c.window_type, c.window, c.umami_count, c.warehouse_count, c.verdict]
            for c in data.reconciliation
        ],
        "reconciliation-table",
    ).replace("<td>differs", '<td class="differs">differs')
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Course analytics report</title>
<link rel="icon" href="data:,">
<style>{_STYLE}</style>
<script>{get_plotlyjs()}</script>
</head><body>
<h1>Course analytics — Visitors (30d) / 近30天访问人数</h1>
<p class="meta" id="report-meta">Generated {html.escape(_instant(now))} from {html.escape(data.warehouse)}.
Last successful load started {html.escape(_instant(data.last_load))}; last run: {html.escape(data.last_run)}.
Windows end on {html.escape(str(data.window_end or "—"))} (UTC days).</p>
{"".join(sections)}
<h2>Windows side by side</h2>
{windows}
<h2>How fresh each mart is</h2>
{freshness}
<h2>Reconciliation with Umami's own totals</h2>
{reconciliation if data.reconciliation else "<p>no reconciliation published yet</p>"}
</body></html>
"""


def write_report(warehouse: Warehouse, out: Path) -> Path:
    """Read the published marts and write the page to ``out``; returns its absolute path."""
    page = render_html(read_report(warehouse))
    out = out.expanduser().resolve()
    paths.write_text_atomically(out, page)
    return out


def default_path() -> Path:
    return paths.data_dir() / "report" / "index.html"
