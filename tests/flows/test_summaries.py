"""The lines a load and a sync print: short totals; the detail stays in the DEBUG line and the report."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, date, datetime

from flows.steps import SyncReport
from loader.pipeline import RAW_TABLES, LoadResult
from loader.umami import LoadReport, plan_sync_window

AS_OF = datetime(2026, 11, 19, 23, 59, 59, tzinfo=UTC)
NAMES = ("course_visit", "daily_login", "work_play_start", "asset_operation")
MARTS = [f"tracking_mart_with_a_long_name_{n}" for n in range(12)]


def _load_result() -> LoadResult:
    window = plan_sync_window(event_names=NAMES, marks={}, as_of=AS_OF, start_date=date(2026, 10, 1))
    report = LoadReport(
        run_id="r",
        api_url="https://umami.example.com/api",
        website_id="644bc2d6-3f01-469e-b053-cf62e302a7bf",
        window=window,
        started_at=AS_OF,
        events={"course_visit": 6665, "daily_login": 2581, "work_play_start": 563, "asset_operation": 0},
        sessions_fetched=318,
        rejected=2,
    )
    rows = dict.fromkeys(RAW_TABLES, 0) | {"events": 9809, "sessions": 318, "window_property_values": 38}
    return LoadResult(report=report, load_ids=["1"], rows=rows, seconds=2.04)


def test_the_load_line_is_short_and_the_rows_per_table_are_the_debug_line() -> None:
    result = _load_result()
    assert result.summary() == (
        "9809 events of 3 names, 318 sessions, 0 requests, 2 rejected; "
        "read 2026-10-01T00:00:00Z .. 2026-11-19T23:59:59Z; 2.0s"
    )
    assert result.written() == (
        "Umami https://umami.example.com/api website 644bc2d6-3f01-469e-b053-cf62e302a7bf: "
        "rows written events 9809, sessions 318, window_property_values 38"
    )


def _sync_report() -> SyncReport:
    return SyncReport(
        as_of=AS_OF.isoformat(),
        sync_time="2026-11-20T00:05:00+00:00",
        steps="all",
        umami="https://umami.example.com/api",
        website_id="644bc2d6-3f01-469e-b053-cf62e302a7bf",
        windows={name: ["2026-10-01T00:00:00+00:00", AS_OF.isoformat()] for name in NAMES},
        requests=392,
        rows_loaded={"events": 9809, "sessions": 318, "window_stats": 1, "window_property_values": 38, "sync_runs": 1},
        rows_rejected=2,
        dbt="1 error, 150 pass, 3 skipped, 27 success, 2 warn",
        marts_rows_changed={mart: 100 + n for n, mart in enumerate(MARTS)},
        rebuild_from_date="2026-10-01",
    )


def test_the_sync_line_holds_the_totals_in_under_160_characters() -> None:
    line = _sync_report().one_line()
    assert line == (
        "as of 2026-11-19T23:59:59+00:00: 9809 events, 10167 rows loaded, 2 rejected; "
        "dbt 1 error, 150 pass, 3 skipped, 27 success, 2 warn; marts rows changed 1266"
    )
    assert len(line) < 160


def test_a_load_or_transform_only_sync_line_says_only_its_part() -> None:
    report = _sync_report()
    loaded_only = SyncReport(**{**asdict(report), "dbt": "", "marts_rows_changed": {}})
    transformed_only = SyncReport(**{**asdict(report), "umami": "", "rows_loaded": {}, "rows_rejected": 0})
    assert loaded_only.one_line() == "as of 2026-11-19T23:59:59+00:00: 9809 events, 10167 rows loaded, 2 rejected"
    assert transformed_only.one_line().startswith("as of 2026-11-19T23:59:59+00:00: dbt 1 error,")


def test_the_detail_stays_in_the_artifact_and_the_returned_dict() -> None:
    report = _sync_report()
    markdown = report.markdown()
    for table, rows in report.rows_loaded.items():
        assert f"| `{table}` | {rows} |" in markdown
    for mart, rows in report.marts_rows_changed.items():
        assert f"| `{mart}` | {rows} |" in markdown
    for name in NAMES:
        assert f"- `{name}`: 2026-10-01T00:00:00+00:00 .. {AS_OF.isoformat()}" in markdown
    assert json.loads(json.dumps(asdict(report))) == asdict(report)  # the flow's JSON return value
