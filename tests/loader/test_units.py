"""Pure functions of the loader: windows, slicing, property encoding and redaction; source arguments."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

import pytest

from flows.sync import sensitive_rules
from loader.umami import LoadedMark, SyncWindow, plan_sync_window, umami_source
from loader.umami.client import ClientSettings, display_url
from loader.umami.errors import UmamiPermanentError
from loader.umami.reader import Slice
from loader.umami.records import count_value, encode_properties, property_value_problem, stats_counts
from loader.umami.sensitive import REDACTED, SensitiveRules
from loader.umami.windows import DEFAULT_START_DATE, ReadWindow, aggregate_window, midnight, to_ms

AS_OF = datetime(2026, 11, 19, 23, 59, 59, tzinfo=UTC)
NOW = datetime(2026, 11, 20, 0, 10, tzinfo=UTC)
RULES = sensitive_rules()


def _plan(marks: dict[str, LoadedMark] | None = None, **options: object) -> SyncWindow:
    return plan_sync_window(event_names=["course_visit"], marks=marks or {}, as_of=AS_OF, now=NOW, **options)


def _mark(loaded_from: date, loaded_until: datetime) -> dict[str, LoadedMark]:
    return {"course_visit": LoadedMark(loaded_from, loaded_until)}


def test_first_run_reads_from_start_date() -> None:
    window = _plan(start_date=date(2024, 1, 1))
    assert window.reads["course_visit"] == ReadWindow(midnight(date(2024, 1, 1)), AS_OF)
    assert _plan().reads["course_visit"].start == midnight(DEFAULT_START_DATE)  # all history
    assert window.rebuild_from == date(2024, 1, 1)  # everything read is rebuilt
    assert window.marks_after["course_visit"] == LoadedMark(date(2024, 1, 1), AS_OF)


def test_later_runs_reread_the_last_lookback_utc_days() -> None:
    marks = _mark(date(2020, 1, 1), datetime(2026, 11, 19, 10, 0, tzinfo=UTC))
    window = _plan(marks)
    assert window.reads["course_visit"].start == midnight(date(2026, 11, 17))  # 17, 18, 19: three UTC days
    assert window.rebuild_from == date(2026, 11, 17)
    no_lookback = _plan(marks, lookback_days=0)
    assert no_lookback.reads["course_visit"].start == datetime(2026, 11, 19, 10, 0, 0, 1000, tzinfo=UTC)
    assert no_lookback.rebuild_from == date(2026, 11, 19)  # the as-of date is always rebuilt
    assert window.marks_after["course_visit"] == LoadedMark(date(2020, 1, 1), AS_OF)  # history kept


def test_an_earlier_start_date_backfills() -> None:
    window = _plan(_mark(date(2020, 1, 1), AS_OF), start_date=date(2019, 6, 1))
    assert window.reads["course_visit"].start == midnight(date(2019, 6, 1))
    assert window.marks_after["course_visit"].loaded_from == date(2019, 6, 1)


def test_runs_without_a_start_date_after_a_first_run_with_one_stay_incremental() -> None:
    first = _plan(start_date=date(2026, 1, 1))
    later = _plan(dict(first.marks_after))
    assert later.reads["course_visit"].start == midnight(date(2026, 11, 17))
    assert later.marks_after["course_visit"].loaded_from == date(2026, 1, 1)


def test_a_full_refresh_reads_everything_again_and_the_window_refuses_the_future() -> None:
    window = _plan(_mark(date(2024, 1, 1), AS_OF), full_refresh=True)
    assert window.reads["course_visit"].start == midnight(DEFAULT_START_DATE) and window.full_refresh
    with pytest.raises(ValueError, match="in the future"):
        plan_sync_window(event_names=["x"], marks={}, as_of=NOW + timedelta(seconds=1), now=NOW)
    with pytest.raises(ValueError, match="lookback_days"):
        _plan(lookback_days=-1)


def test_the_window_gives_dbt_resolved_values_only() -> None:
    window = _plan(_mark(date(2020, 1, 1), AS_OF))
    assert window.dbt_vars(NOW) == {
        "as_of": "2026-11-19T23:59:59+00:00",
        "as_of_date": "2026-11-19",
        "sync_time": "2026-11-20T00:10:00+00:00",
        "rebuild_from_date": "2026-11-17",
    }
    naive = plan_sync_window(event_names=[], marks={}, as_of=datetime(2026, 11, 19, 23, 59, 59, 123456), now=NOW)
    assert naive.as_of == datetime(2026, 11, 19, 23, 59, 59, 123000, tzinfo=UTC)  # UTC, whole milliseconds


def test_aggregate_windows_are_inclusive_utc_dates_ending_on_the_as_of_date() -> None:
    window = aggregate_window("last_30_days", AS_OF)
    assert (window.start_date, window.end_date) == (date(2026, 10, 21), date(2026, 11, 19))
    assert to_ms(window.start) == 1792540800000  # the contract's window start
    assert window.end == AS_OF
    assert aggregate_window("last_7_days", AS_OF).start_date == date(2026, 11, 13)
    with pytest.raises(ValueError, match="unknown window"):
        aggregate_window("last_31_days", AS_OF)


def test_slices_split_into_contiguous_pieces_that_cover_the_range() -> None:
    whole = Slice(1_000, 1_999)
    parts = whole.split(7)
    assert parts[0].start_ms == 1_000 and parts[-1].end_ms == 1_999
    assert all(a.end_ms + 1 == b.start_ms for a, b in itertools.pairwise(parts))
    assert Slice(5, 6).split(10) == [Slice(5, 5), Slice(6, 6)]  # never below one millisecond


def test_properties_keep_umami_types_and_values() -> None:
    props = encode_properties(
        [
            {
                "dataKey": "shifu_bid",
                "stringValue": "123.0000",
                "numberValue": "123",
                "dateValue": None,
                "dataType": 2,
            },
            {
                "dataKey": "preview_mode",
                "stringValue": "false",
                "numberValue": None,
                "dateValue": None,
                "dataType": 3,
            },
            {
                "dataKey": "title",
                "stringValue": "数学 α🎓",
                "numberValue": None,
                "dateValue": None,
                "dataType": 1,
            },
        ],
        RULES,
    )
    assert props["shifu_bid"] == {
        "data_type": 2,
        "string_value": "123.0000",
        "number_value": "123",
        "date_value": None,
    }
    assert props["preview_mode"]["string_value"] == "false"
    assert props["title"]["string_value"] == "数学 α🎓"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("phone", "anything"),
        ("asset.uploadPolicy", "eyJhbGciOi"),
        ("accessToken", "x"),
        ("inviteCode", "ABC123"),
        ("note", "call me on 13812345678"),
        ("header", "Bearer abcdefghijklmnop"),
        ("url", "https://oss.example.com/a.png?OSSAccessKeyId=1&Signature=abc"),
        ("jwt", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlX3g"),
        ("dsn", "postgresql://u:p@h/db"),
        ("conn", "postgresql://user:pw@host:5432/db"),
    ],
)
def test_sensitive_values_are_redacted(key: str, value: str) -> None:
    assert RULES.is_sensitive(key, value)
    props = encode_properties([{"dataKey": key, "stringValue": value, "dataType": 1}], RULES)
    assert props[key]["string_value"] == REDACTED


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("shifu_bid", "13812345678"),
        ("entry_type", "deep_link"),
        ("route", "/api/profile/tasks"),
        ("hotel", "x"),
        ("status", "200"),
        ("workId", "w-0001"),
    ],
)
def test_ordinary_values_are_kept(key: str, value: str) -> None:
    assert not RULES.is_sensitive(key, value)


@pytest.mark.parametrize(
    ("value", "count"),
    [(0, 0), (43, 43), ("43", 43), ("", None), ("4.5", None), (4.5, None), (-1, None), (True, None), (None, None)],
)
def test_counts_are_whole_numbers_or_their_digits(value: object, count: int | None) -> None:
    assert count_value(value) == count


def test_stats_answers_need_every_count() -> None:
    good = {"data": {"events": 43, "visitors": "13", "visits": 37, "uniqueEvents": 1}}
    assert stats_counts(good) == {"events": 43, "visitors": 13, "visits": 37}
    missing = {"data": {"events": 43, "visitors": 13}}
    not_a_count = {"data": {**good["data"], "visits": "n/a"}}
    for bad in (missing, not_a_count, {"data": []}, []):
        assert stats_counts(bad) is None


@pytest.mark.parametrize(
    ("item", "problem"),
    [
        ({"value": "shifu-alpha", "total": 9}, None),
        ({"value": "", "total": "1"}, None),
        ({"value": 123, "total": 1}, None),
        ({"total": 1}, "missing_value"),
        ({"value": None, "total": 1}, "missing_value"),
        ({"value": True, "total": 1}, "value_not_text"),
        ({"value": ["a"], "total": 1}, "value_not_text"),
        ({"value": "x"}, "bad_total"),
        ({"value": "x", "total": "many"}, "bad_total"),
        ("shifu-alpha", "not_an_object"),
    ],
)
def test_property_value_rows_are_judged(item: object, problem: str | None) -> None:
    assert property_value_problem(item) == problem


def test_client_settings_need_credentials_and_urls_hide_userinfo() -> None:
    with pytest.raises(UmamiPermanentError):
        ClientSettings(api_url="http://x/api")
    assert ClientSettings(api_url="https://api.umami.is/v1", api_key="k").requests_per_window == 50
    assert display_url("https://user:pw@umami.example.com:8443/api?x=1") == "https://umami.example.com:8443/api"


def test_the_source_refuses_bad_arguments(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = {"api_url": "http://127.0.0.1:9/api", "website_id": "w", "username": "u", "password": "p"}
    window = _plan()
    with pytest.raises(ValueError, match="slices_at_once must be 1 or more"):
        umami_source(**settings, window=window, sensitive_rules=RULES, slices_at_once=0)
    with pytest.raises(ValueError, match="page_size must be 1 or more"):
        umami_source(**settings, window=window, sensitive_rules=RULES, page_size=0)
    with pytest.raises(ValueError, match="unknown window"):
        umami_source(**settings, window=window, sensitive_rules=RULES, aggregate_windows=["last_31_days"])
    monkeypatch.setenv("SOURCES__UMAMI__SLICES_AT_ONCE", "0")  # dlt's configuration reaches the source too
    with pytest.raises(ValueError, match="slices_at_once must be 1 or more"):
        umami_source(**settings, window=window, sensitive_rules=RULES)


def test_the_sensitive_rules_refuse_a_bad_row() -> None:
    with pytest.raises(ValueError, match="rule must be one of"):
        SensitiveRules.from_rows([{"rule": "keys", "finding": "x", "pattern": "x"}])
    with pytest.raises(ValueError, match="bad pattern"):
        SensitiveRules.from_rows([{"rule": "key", "finding": "x", "pattern": "("}])
