"""The loader's shortcuts for throughput must not change what it loads: the remembered property
encodings equal a fresh encoding, reading ahead in a thread keeps order, errors and early stops,
and the events' Arrow tables reach the warehouse through dlt's CSV files with every value intact."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pyarrow as pa
import pytest

from flows.sync import sensitive_rules
from flows.warehouse import Warehouse
from loader.pipeline import configure_writers, make_pipeline
from loader.umami.read_ahead import read_ahead
from loader.umami.records import EVENTS_SCHEMA, PropertiesEncoder, encode_properties
from loader.umami.sensitive import REDACTED
from loader.umami.source import EVENT_COLUMNS


def _row(key: str, value: object, data_type: int = 1, created_at: str = "2026-11-19T10:00:00.000Z") -> dict:
    return {
        "dataKey": key,
        "stringValue": value,
        "numberValue": None,
        "dateValue": None,
        "dataType": data_type,
        "createdAt": created_at,
    }


PROPERTY_SETS = [
    [_row("shifu_bid", "shifu-a"), _row("preview_mode", "false", 3)],
    [_row("shifu_bid", "shifu-a", created_at="2026-11-20T00:00:00.000Z"), _row("preview_mode", "false", 3)],
    [_row("shifu_bid", "shifu-a"), _row("preview_mode", "true", 3)],
    [_row("shifu_bid", "shifu-b"), _row("token", "abc")],
    [_row("note", "call me on 13812345678")],
    [{**_row("count", None, 2), "numberValue": 12.5}],
    [_row("tags", ["a", "b"], 5)],  # an unhashable value (malformed): encoded without being remembered
    [{"dataKey": "shifu_bid", "stringValue": "shifu-c"}],  # keys missing
    ["not an object", _row("shifu_bid", "shifu-d")],
    [],
]


def test_remembered_encodings_equal_a_fresh_encoding_every_time() -> None:
    encode = PropertiesEncoder(sensitive_rules(), limit=3)  # a small limit: the memory starts over
    for _ in range(3):
        for rows in PROPERTY_SETS:
            fresh = encode_properties((r for r in rows if isinstance(r, dict)), sensitive_rules())
            assert orjson.loads(encode(rows)) == fresh


def test_the_remembered_encoding_still_redacts() -> None:
    encode = PropertiesEncoder(sensitive_rules())
    for _ in range(2):
        properties = orjson.loads(encode([_row("token", "abc"), _row("note", "call 13812345678")]))
        assert properties["token"]["string_value"] == REDACTED
        assert properties["note"]["string_value"] == REDACTED


def test_read_ahead_yields_every_item_in_order() -> None:
    assert list(read_ahead(iter(range(1000)), depth=2)) == list(range(1000))


def test_read_ahead_raises_the_producers_error_after_the_items_before_it() -> None:
    def items() -> Iterator[int]:
        yield 1
        yield 2
        raise ValueError("page 3 was malformed")

    seen = []
    with pytest.raises(ValueError, match="page 3 was malformed"):
        for item in read_ahead(items()):
            seen.append(item)
    assert seen == [1, 2]


def test_a_consumer_that_stops_early_stops_and_closes_the_producer() -> None:
    closed = threading.Event()
    produced = []

    def items() -> Iterator[int]:
        try:
            for i in range(10_000):
                produced.append(i)
                yield i
        finally:
            closed.set()

    reader = read_ahead(items(), depth=2)
    assert [next(reader) for _ in range(3)] == [0, 1, 2]
    reader.close()
    assert closed.is_set()
    assert len(produced) <= 3 + 2 + 1  # never more than the read-ahead depth past the consumer
    assert not any(t.name == "umami-read-ahead" for t in threading.enumerate())


def _events(first: int, count: int) -> pa.Table:
    """Events with the values CSV must survive: delimiters, quotes, newlines, unicode, nulls, ''."""
    at = datetime(2026, 11, 19, 23, 59, 59, 999_000, tzinfo=UTC)
    tricky = ['a,b "c"\nd', "课程访问 ✓", "", None, "'; drop table events; --"]
    return pa.Table.from_pydict(
        {
            "event_id": [f"e-{first + i}" for i in range(count)],
            "website_id": [tricky[i % 5] for i in range(count)],
            "session_id": [tricky[(i + 1) % 5] for i in range(count)],
            "event_name": ["course_visit"] * count,
            "created_at": [at] * count,
            "url_path": [tricky[(i + 2) % 5] for i in range(count)],
            "has_data": [[True, False, None][i % 3] for i in range(count)],
            "properties": [orjson.dumps({"shifu_bid": {"string_value": tricky[i % 5]}}).decode() for i in range(count)],
            "loaded_at": [at] * count,
        },
        schema=EVENTS_SCHEMA,
    )


def test_every_value_of_the_event_tables_reaches_the_warehouse(fresh_database: Warehouse, tmp_path: Path) -> None:
    """dlt writes the Arrow tables to CSV load files and COPYs them: delimiters, quotes, newlines,
    unicode and SQL survive; '' and null both arrive as null (dlt's FORCE_NULL); one load id each."""
    import dlt

    tables = [_events(first, 3) for first in range(0, 12, 3)] + [_events(0, 0)]
    configure_writers()
    pipeline = make_pipeline(fresh_database.dsn, tmp_path, pipeline_name="csv_round_trip")
    resource = dlt.resource(tables, name="events", primary_key="event_id", write_disposition="merge")
    resource.apply_hints(columns=EVENT_COLUMNS)
    info = pipeline.run(resource, loader_file_format="csv")
    with fresh_database.connect() as conn, conn.cursor() as cur:
        cur.execute(
            "select event_id, website_id, session_id, url_path, has_data, properties, created_at, _dlt_load_id "
            "from umami_raw.events order by event_id"
        )
        loaded = {row[0]: row for row in cur.fetchall()}
    sent = {event["event_id"]: event for table in tables for event in table.to_pylist()}
    assert sorted(loaded) == sorted(sent) and len(sent) == 12
    for event_id, (_, website, session, url, has_data, properties, created_at, load_id) in loaded.items():
        event = sent[event_id]
        assert (website, session, url) == tuple(event[k] or None for k in ("website_id", "session_id", "url_path"))
        assert has_data == event["has_data"]
        assert properties == orjson.loads(event["properties"])
        assert created_at == event["created_at"]
        assert load_id == info.loads_ids[0]
