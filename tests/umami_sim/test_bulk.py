"""Bulk fill: what the API reports equals what was inserted; the throughput is printed, not asserted."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.umami_sim.helpers import Api
from umami_sim import BulkFillResult, FillSpec, UmamiSimulator


@pytest.fixture(scope="module")
def filled() -> Iterator[tuple[UmamiSimulator, Api, BulkFillResult]]:
    with UmamiSimulator(seed=2) as sim:
        website = sim.create_website()
        spec = FillSpec(events=200_000, days=40, users=3_000, guests=300, courses=60, tie_share=0.3, seed=4)
        result = sim.bulk_fill(website, spec)
        rate = result.events_per_second
        print(f"\nbulk fill: {result.events:,} events in {result.seconds:.2f} s = {rate:,.0f} events/s")
        yield sim, Api(sim.base_url, token=sim.token()), result


def test_counts_match_what_was_inserted(filled: tuple) -> None:
    _, api, result = filled
    path = f"/websites/{result.website_id}"
    whole = {"startAt": str(result.start_ms), "endAt": str(result.end_ms), "event": "course_visit"}
    stats = api.json(f"{path}/events/stats", **whole)["data"]
    assert (stats["events"], stats["visitors"], stats["uniqueEvents"]) == (result.events, result.sessions, 1)
    assert api.json(f"{path}/events", **whole, pageSize="1")["count"] == result.events
    assert api.json(f"{path}/event-data", **whole, pageSize="1")["count"] == result.events
    values = api.json(f"{path}/event-data/values", **whole, propertyName="shifu_bid")
    assert {v["value"]: v["total"] for v in values} == result.per_course_events
    previews = api.json(f"{path}/event-data/values", **whole, propertyName="preview_mode")
    assert {v["value"]: v["total"] for v in previews}["true"] == result.preview_events
    assert api.json(f"{path}/sessions/stats", **whole)["visitors"]["value"] == result.sessions


def test_daily_numbers_match(filled: tuple) -> None:
    _, api, result = filled
    path = f"/websites/{result.website_id}"
    for offset, (date, events) in enumerate(result.events_per_day.items()):
        if offset % 9:
            continue
        start = result.start_ms + offset * 86_400_000
        day = {"startAt": str(start), "endAt": str(start + 86_399_999), "event": "course_visit"}
        assert api.json(f"{path}/events/stats", **day)["data"]["events"] == events, date
        countable = sum(r["visit_count"] for r in result.daily_utc if r["stat_date"] == date)
        identified = api.json(f"{path}/event-data/values", **day, propertyName="preview_mode", distinctId="re.^u-")
        assert {v["value"]: v["total"] for v in identified}["false"] == countable, date


def test_ties_are_present_and_paging_over_them_is_lossy(filled: tuple) -> None:
    _, api, result = filled
    path = f"/websites/{result.website_id}/events"
    hour = {
        "startAt": str(result.start_ms),
        "endAt": str(result.start_ms + 3_599_999),
        "event": "course_visit",
    }
    rows = api.json(path, **hour, pageSize="10000")["data"]
    times = [r["createdAt"] for r in rows]
    assert len(times) > len(set(times)), "no timestamp ties"
    runs = [api.all_ids(path, 7, **hour) for _ in range(5)]
    assert all(count == len(rows) for _, count in runs)
    assert any(set(ids) != {r["id"] for r in rows} for ids, _ in runs), "paging over ties never lost an event"


def test_marts_have_the_oracle_format(filled: tuple, contract_dir: Path) -> None:
    _, _, result = filled
    expected = json.loads((contract_dir / "expected.json").read_text(encoding="utf-8"))
    assert set(result.daily_utc[0]) == set(expected["daily_utc"][0])
    assert set(result.window_30d_utc) == set(expected["window_30d_utc"])
    window = result.window_30d_utc
    assert window["all_courses"]["visit_count"] == sum(r["visit_count"] for r in window["rows"])
    assert window["end_ms_inclusive"] == result.end_ms and window["start_date"] == "2026-10-21"
    assert (
        sum(r["visit_count"] for r in result.daily_utc) + result.guest_events + result.preview_events >= result.events
    )
