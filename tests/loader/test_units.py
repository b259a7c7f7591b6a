"""Pure functions of the loader: windows, slicing, property encoding and redaction; source arguments."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime

import pytest

from loader.umami import umami_source
from loader.umami.client import ClientSettings, display_url
from loader.umami.errors import UmamiPermanentError
from loader.umami.reader import Slice
from loader.umami.records import (
    REDACTED,
    count_value,
    encode_properties,
    is_sensitive,
    property_value_problem,
    stats_counts,
)
from loader.umami.windows import aggregate_window, midnight_ms, read_start_ms, to_ms

AS_OF = to_ms(datetime(2026, 11, 19, 23, 59, 59, tzinfo=UTC))


def test_first_run_reads_from_start_date() -> None:
    start = read_start_ms(
        as_of_ms=AS_OF, start_date=date(2020, 1, 1), loaded_from=None, loaded_until_ms=None, lookback_days=3
    )
    assert start == midnight_ms(date(2020, 1, 1))


def test_later_runs_reread_the_last_lookback_utc_days() -> None:
    previous = to_ms(datetime(2026, 11, 19, 10, 0, tzinfo=UTC))
    start = read_start_ms(
        as_of_ms=AS_OF,
        start_date=date(2020, 1, 1),
        loaded_from=date(2020, 1, 1),
        loaded_until_ms=previous,
        lookback_days=3,
    )
    assert start == midnight_ms(date(2026, 11, 17))  # 17, 18, 19: three UTC days
    no_lookback = read_start_ms(
        as_of_ms=AS_OF,
        start_date=date(2020, 1, 1),
        loaded_from=date(2020, 1, 1),
        loaded_until_ms=previous,
        lookback_days=0,
    )
    assert no_lookback == previous + 1


def test_an_earlier_start_date_backfills() -> None:
    start = read_start_ms(
        as_of_ms=AS_OF,
        start_date=date(2019, 6, 1),
        loaded_from=date(2020, 1, 1),
        loaded_until_ms=AS_OF - 1000,
        lookback_days=3,
    )
    assert start == midnight_ms(date(2019, 6, 1))


def test_runs_without_a_start_date_after_a_first_run_with_one_stay_incremental() -> None:
    # first run: --start-date 2026-10-01; the hourly runs after it give none
    first = read_start_ms(as_of_ms=AS_OF, start_date=None, loaded_from=None, loaded_until_ms=None, lookback_days=3)
    assert first == midnight_ms(date(2020, 1, 1))
    later = read_start_ms(
        as_of_ms=AS_OF + 3_600_000,
        start_date=None,
        loaded_from=date(2026, 10, 1),
        loaded_until_ms=AS_OF,
        lookback_days=3,
    )
    assert later == midnight_ms(date(2026, 11, 17))


def test_aggregate_windows_are_inclusive_utc_dates_ending_on_the_as_of_date() -> None:
    window = aggregate_window("last_30_days", AS_OF)
    assert (window.start_date, window.end_date) == (date(2026, 10, 21), date(2026, 11, 19))
    assert window.start_ms == 1792540800000  # the contract's window start
    assert window.end_ms == AS_OF
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
        ]
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
    assert is_sensitive(key, value)
    props = encode_properties([{"dataKey": key, "stringValue": value, "dataType": 1}])
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
    assert not is_sensitive(key, value)


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


def test_slices_at_once_comes_from_the_argument_or_dlt_config_and_must_be_positive(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = {"api_url": "http://127.0.0.1:9/api", "website_id": "w", "username": "u", "password": "p"}
    with pytest.raises(ValueError, match="slices_at_once must be 1 or more"):
        umami_source(**settings, slices_at_once=0)
    monkeypatch.setenv("SOURCES__UMAMI__SLICES_AT_ONCE", "0")
    with pytest.raises(ValueError, match="slices_at_once must be 1 or more"):
        umami_source(**settings)
