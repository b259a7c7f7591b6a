"""The loader's two shortcuts for throughput must not change what it loads: the remembered
property encodings equal a fresh encoding, and reading ahead in a thread keeps order, errors and
early stops."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import orjson
import pytest

from loader.umami.read_ahead import read_ahead
from loader.umami.records import REDACTED, PropertiesEncoder, encode_properties


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
