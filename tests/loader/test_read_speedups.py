"""The loader's shortcuts for throughput must not change what it loads: the remembered property
encodings equal a fresh encoding, reading ahead in a thread keeps order, errors and early stops,
and the events' CSV files hold every value of every event, with its column and load id."""

from __future__ import annotations

import csv
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pyarrow as pa
import pytest

from loader.umami.event_files import EVENT_FILE_COLUMNS, LOAD_ID_COLUMN, EventFiles
from loader.umami.read_ahead import read_ahead
from loader.umami.records import EVENTS_SCHEMA, REDACTED, PropertiesEncoder, encode_properties


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
    encode = PropertiesEncoder(limit=3)  # a small limit: the memory starts over several times
    for _ in range(3):
        for rows in PROPERTY_SETS:
            fresh = encode_properties(r for r in rows if isinstance(r, dict))
            assert orjson.loads(encode(rows)) == fresh


def test_the_remembered_encoding_still_redacts() -> None:
    encode = PropertiesEncoder()
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


def test_event_files_hold_every_value_with_its_column_and_the_load_id(tmp_path: Path) -> None:
    table = _events(0, 10)
    files = EventFiles(tmp_path, "1763596800.123456")
    written = [*files.add(table), *files.flush()]
    assert [f.rows for f in written] == [10]
    with written[0].path.open(newline="", encoding="utf-8") as text:
        header, *rows = list(csv.reader(text))
    assert header == list(EVENT_FILE_COLUMNS)  # dlt's COPY job takes the column names from here
    sent = table.to_pylist()
    assert len(rows) == len(sent)
    for row, event in zip(rows, sent, strict=True):
        got = dict(zip(header, row, strict=True))
        assert got[LOAD_ID_COLUMN] == "1763596800.123456"
        for name in ("event_id", "website_id", "session_id", "url_path", "properties"):
            assert got[name] == (event[name] or "")  # null and '' are both loaded as null (dlt's FORCE_NULL)
        assert got["has_data"] == {True: "true", False: "false", None: ""}[event["has_data"]]
        assert datetime.fromisoformat(got["created_at"]) == event["created_at"]
    files.close()
    assert not files.directory.exists()


def test_event_files_are_cut_after_rows_per_file_and_hold_every_row_once(tmp_path: Path) -> None:
    (tmp_path / "event-files-left-by-a-killed-run").mkdir()
    files = EventFiles(tmp_path, "1.5", rows_per_file=5)
    assert [p.name for p in tmp_path.iterdir()] == [files.directory.name]  # the stale directory is gone
    written = []
    for first in range(0, 12, 3):  # four tables of 3 rows
        written += files.add(_events(first, 3))
        written += files.add(_events(0, 0))  # an empty table writes nothing
    written += files.flush()
    assert [f.rows for f in written] == [6, 6]  # whole tables: a file is cut once it holds 5 rows or more
    rows = []
    for file in written:
        with file.path.open(newline="") as text:
            in_file = list(csv.reader(text))[1:]
        assert len(in_file) == file.rows
        rows += in_file
    assert sorted(row[0] for row in rows) == sorted(f"e-{i}" for i in range(12))
    assert {row[-1] for row in rows} == {"1.5"} and {len(row) for row in rows} == {len(EVENT_FILE_COLUMNS)}
    files.close()
    with pytest.raises(ValueError, match="rows_per_file"):
        EventFiles(tmp_path, "1.5", rows_per_file=0)
