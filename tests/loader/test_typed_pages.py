"""Typed page decoding (loader/umami/pages.py) must load exactly what plain JSON decoding loads."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import msgspec
import orjson
import pytest
import requests

from flows.sync import sensitive_rules
from flows.warehouse import Warehouse
from loader.umami import reader
from loader.umami.pages import EventDataPage, EventsPage, decode_event_data_page, decode_events_page
from loader.umami.records import PropertiesEncoder, events_table, split_valid
from tests.loader.conftest import AS_OF, raw_snapshot
from tests.loader.test_read_speedups import PROPERTY_SETS
from umami_sim import FillSpec, UmamiSimulator


@pytest.fixture(scope="module")
def filled_pages() -> tuple[bytes, bytes]:
    """One page of events and one of event data, as the Umami-compatible server sends them."""
    with UmamiSimulator() as sim:
        website = sim.create_website("typed", "course.example.com")
        sim.bulk_fill(website, FillSpec(events=3_000, days=3, end="2026-11-20T00:00:00Z", seed=3))
        headers = {"Authorization": f"Bearer {sim.token()}"}
        params = {"startAt": 0, "endAt": int(AS_OF.timestamp() * 1000), "event": "course_visit", "pageSize": 5000}
        pages = tuple(
            requests.get(f"{sim.base_url}/websites/{website}/{endpoint}", params=params, headers=headers, timeout=30)
            for endpoint in ("events", "event-data")
        )
    assert all(page.status_code == 200 for page in pages)
    return pages[0].content, pages[1].content


def test_typed_and_plain_pages_make_the_same_rows(filled_pages: tuple[bytes, bytes]) -> None:
    events_body, data_body = filled_pages
    typed_events, typed_data = decode_events_page(events_body), decode_event_data_page(data_body)
    assert isinstance(typed_events, EventsPage) and isinstance(typed_data, EventDataPage)
    plain_events, plain_data = orjson.loads(events_body), orjson.loads(data_body)
    assert typed_events.count == plain_events["count"] == 3_000

    typed_encode, plain_encode = PropertiesEncoder(sensitive_rules()), PropertiesEncoder(sensitive_rules())
    typed_props = {r.eventId: typed_encode(r.eventProperties or ()) for r in typed_data.data}
    plain_props = {r["eventId"]: plain_encode(r.get("eventProperties") or []) for r in plain_data["data"]}
    assert typed_props == plain_props

    loaded_at = datetime(2026, 11, 20, tzinfo=UTC)
    typed_valid, typed_bad = split_valid(typed_events.data)
    plain_valid, plain_bad = split_valid(plain_events["data"])
    assert typed_bad == plain_bad == []
    typed_table = events_table(typed_valid, typed_props, loaded_at)
    assert typed_table.num_rows == 3_000
    assert typed_table.equals(events_table(plain_valid, plain_props, loaded_at))


def test_typed_property_sets_encode_like_plain_ones() -> None:
    for rows in PROPERTY_SETS:
        if not all(isinstance(r, dict) for r in rows):
            continue
        body = orjson.dumps({"data": [{"eventId": "e", "eventProperties": rows}], "count": 1})
        typed = decode_event_data_page(body)
        assert isinstance(typed, EventDataPage)
        encoded = PropertiesEncoder(sensitive_rules())(typed.data[0].eventProperties or ())
        assert encoded == PropertiesEncoder(sensitive_rules())(rows)


@pytest.mark.parametrize(
    "row",
    [
        {"websiteId": "w", "createdAt": "2026-11-19T10:00:00.000Z"},  # no id
        {"id": "", "createdAt": "2026-11-19T10:00:00.000Z"},  # empty id
        {"id": "e", "createdAt": None},  # no time
        {"id": 12345, "createdAt": "2026-11-19T10:00:00.000Z"},  # a number for the id
        {"id": "e", "createdAt": "2026-11-19T10:00:00.000Z", "sessionId": 7},  # a number for a string
        {"id": "e", "createdAt": "2026-11-19T10:00:00.000Z", "hasData": None},
        "not an object",
    ],
)
def test_a_page_that_does_not_fit_the_types_is_plain_json(row: object) -> None:
    good = {"id": "g", "createdAt": "2026-11-19T10:00:00.000Z", "sessionId": "s", "hasData": False}
    page = decode_events_page(orjson.dumps({"data": [good, row], "count": 2}))
    assert page == {"data": [good, row], "count": 2}  # the tolerant path judges each row


def test_malformed_json_raises_for_a_retry() -> None:
    with pytest.raises(msgspec.DecodeError):
        decode_events_page(b'{"data": [{"id": "e", "createdAt": "2026')
    with pytest.raises(msgspec.DecodeError):
        decode_event_data_page(b"<html>gateway timeout</html>")


def test_a_load_with_plain_json_pages_equals_the_typed_load(
    contract_site, database_factory, load_site, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    typed: Warehouse = database_factory("typed")
    load_site(contract_site, typed, page_size=7)
    plain: Warehouse = database_factory("plain")
    monkeypatch.setenv("COURSE_ANALYTICS_HOME", str(tmp_path))  # a pipeline of its own: a first load again
    monkeypatch.setattr(reader, "_DECODERS", {"events": orjson.loads, "event-data": orjson.loads})
    load_site(contract_site, plain, page_size=7)
    assert raw_snapshot(plain) == raw_snapshot(typed)
    assert len(raw_snapshot(plain)["events"]) == 51
