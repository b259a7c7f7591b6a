"""The oracle the suite checks every mart against reproduces the numbers captured with the
contract dataset (tests/data/umami-contract/expected.json), so that a wrong oracle cannot make
wrong marts pass."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests import oracle

EXPECTED = oracle.load_json("expected.json")
DATASET = oracle.load_json("dataset.json")
REFERENCE = datetime.fromisoformat(EXPECTED["reference_time"].replace("Z", "+00:00"))
WINDOW = EXPECTED["window_30d_utc"]
WINDOW_END = datetime.fromtimestamp(WINDOW["end_ms_inclusive"] / 1000, UTC)
REASONS = oracle.EXPECTED_REASONS


def test_counted_and_excluded_events() -> None:
    classes = oracle.course_marts(DATASET, REFERENCE).classes
    assert classes.pop("countable") == EXPECTED["counted_events"]
    assert classes == {REASONS[k]: v for k, v in EXPECTED["excluded_events"].items() if k in REASONS}
    # the two reasons that are not course_visit events at all: identify calls, other names
    assert set(EXPECTED["excluded_events"]) - set(REASONS) == {"not_an_event", "other_event_name"}


def test_daily_utc() -> None:
    daily = oracle.course_marts(DATASET, REFERENCE).daily
    got = {
        (d.isoformat(), c): {"visit_count": visits, "visitor_count": visitors}
        for (d, c), (visits, visitors) in daily.items()
    }
    want = {
        (r["stat_date"], r["shifu_bid"]): {"visit_count": r["visit_count"], "visitor_count": r["visitor_count"]}
        for r in EXPECTED["daily_utc"]
    }
    assert len(want) == len(EXPECTED["daily_utc"]) > 10
    assert got == want


def test_window_30d_utc_with_zero_rows() -> None:
    assert WINDOW["as_of_date"] == WINDOW_END.date().isoformat()
    assert WINDOW["start_date"] == (WINDOW_END.date() - timedelta(days=29)).isoformat()
    windows = oracle.course_marts(DATASET, WINDOW_END).windows
    rows = {c: {"visitor_count": v, "visit_count": n} for (w, c), (v, n) in windows.items() if w == "last_30_days"}
    want = {r["shifu_bid"]: {k: r[k] for k in ("visitor_count", "visit_count")} for r in WINDOW["rows"]}
    want |= {r["shifu_bid"]: {"visitor_count": 0, "visit_count": 0} for r in WINDOW["zero_rows"]}
    assert len(want) >= 5 and rows == want
    countable = [
        e
        for e in oracle.sent_events(DATASET, until=WINDOW_END, names={oracle.COURSE_EVENT})
        if oracle.classify(e) == "countable"
    ]
    in_window = [e for e in countable if e.at.date().isoformat() >= WINDOW["start_date"]]
    assert {"visitor_count": len({e.user for e in in_window}), "visit_count": len(in_window)} == WINDOW["all_courses"]


def test_umami_aggregates() -> None:
    start = datetime.fromisoformat(WINDOW["start_date"]).replace(tzinfo=UTC)
    figures = oracle.umami_figures(DATASET, start, WINDOW_END)
    assert vars(figures) == EXPECTED["umami_semantics"]["window_30d_utc"]
    values = oracle.umami_values(DATASET, start, WINDOW_END)
    want = {r["value"]: r["total"] for r in EXPECTED["umami_semantics"]["window_30d_utc_event_data_values_shifu_bid"]}
    assert len(want) > 5 and dict(values) == want
