"""Turning Umami API rows into warehouse rows (see loader/README.md for the raw tables)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from operator import attrgetter, itemgetter
from typing import Any

import msgspec
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from loader.umami.pages import EventRow, PropertyRow
from loader.umami.sensitive import REDACTED, SensitiveRules


def encode_properties(rows: Iterable[Mapping[str, Any]], rules: SensitiveRules) -> dict[str, dict[str, Any]]:
    """Umami event-data rows (``dataKey``, ``stringValue``, ...) as the ``properties`` object.

    Values whose key or content looks sensitive (``rules``) are replaced by ``[redacted]``; the key stays.
    """
    properties: dict[str, dict[str, Any]] = {}
    for row in rows:
        key = row.get("dataKey")
        if not isinstance(key, str):
            continue
        string_value = row.get("stringValue")
        number_value = row.get("numberValue")
        date_value = row.get("dateValue")
        if rules.is_sensitive(key, string_value if isinstance(string_value, str) else None):
            string_value = REDACTED
            number_value = date_value = None
        properties[key] = {
            "data_type": row.get("dataType"),
            "string_value": string_value,
            "number_value": None if number_value is None else str(number_value),
            "date_value": date_value,
        }
    return properties


def count_value(value: Any) -> int | None:
    """A count as Umami prints it (a number, or a string of digits in some answers), else None."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value if value >= 0 else None
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return None


def stats_counts(body: Any) -> dict[str, int] | None:
    """``events``, ``visitors`` and ``visits`` of an ``/events/stats`` answer; None when one is not a count."""
    data = body.get("data") if isinstance(body, Mapping) else None
    if not isinstance(data, Mapping):
        return None
    counts: dict[str, int] = {}
    for name in ("events", "visitors", "visits"):
        value = count_value(data.get(name))
        if value is None:
            return None
        counts[name] = value
    return counts


def session_problem(answer: Mapping[str, Any]) -> str | None:
    """Why a ``/sessions/{id}`` answer for the id asked cannot be stored (None when it can)."""
    if not isinstance(answer.get("distinctId"), str | None):
        return "distinctId_not_text"
    first_at = answer.get("firstAt")
    if first_at is not None and not _is_instant(first_at):
        return "bad_first_at"
    return None


def _is_instant(value: Any) -> bool:
    """An ISO 8601 instant with a zone, as Umami prints times."""
    if not isinstance(value, str):
        return False
    try:
        return datetime.fromisoformat(value).tzinfo is not None
    except ValueError:
        return False


def property_value_problem(item: Any) -> str | None:
    """Why a row of ``/event-data/values`` cannot be stored (None when it can)."""
    if not isinstance(item, Mapping):
        return "not_an_object"
    value = item.get("value")
    if value is None:
        return "missing_value"
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return "value_not_text"
    if count_value(item.get("total")) is None:
        return "bad_total"
    return None


EVENT_COLUMNS = ("event_id", "website_id", "session_id", "event_name", "created_at", "url_path", "has_data")

CREATED_AT_TYPE = pa.timestamp("ms", tz="UTC")
EVENTS_SCHEMA = pa.schema(
    [
        ("event_id", pa.string(), False),
        ("website_id", pa.string()),
        ("session_id", pa.string()),
        ("event_name", pa.string()),
        ("created_at", CREATED_AT_TYPE),
        ("url_path", pa.string()),
        ("has_data", pa.bool_()),
        ("properties", pa.string()),
        ("loaded_at", pa.timestamp("ms", tz="UTC")),
    ]
)


_TEXT_FIELDS = ("websiteId", "sessionId", "eventName", "urlPath")  # text or null when present


def split_valid(
    rows: Sequence[Mapping[str, Any]],
) -> tuple[list[Mapping[str, Any]], list[tuple[Mapping, str]]]:
    """Events that can be loaded, and the rest with the reason they cannot."""
    if rows and isinstance(rows[0], EventRow):  # typed rows were checked when their page was decoded
        return list(rows), []
    valid: list[Mapping[str, Any]] = []
    rejected: list[tuple[Mapping, str]] = []
    for row in rows:
        if not isinstance(row, Mapping):
            rejected.append(({"value": row}, "not_an_object"))
        elif not isinstance(row.get("id"), str) or not row["id"]:
            rejected.append((row, "missing_event_id"))
        elif not isinstance(row.get("createdAt"), str) or not row["createdAt"]:
            rejected.append((row, "missing_created_at"))
        elif (field := next((f for f in _TEXT_FIELDS if not isinstance(row.get(f), str | None)), None)) is not None:
            rejected.append((row, f"{field}_not_text"))
        else:
            valid.append(row)
    return valid, rejected


def split_times(
    rows: Sequence[Mapping[str, Any]] | Sequence[EventRow],
) -> tuple[list[Any], list[tuple[Mapping[str, Any], str]]]:
    """Events whose ``createdAt`` reads as a UTC instant, and the rest (``bad_created_at``, as plain
    objects). Row by row, so only for a page whose times failed to convert as a whole."""
    valid: list[Any] = []
    rejected: list[tuple[Mapping[str, Any], str]] = []
    for row in rows:
        created_at = row.createdAt if isinstance(row, EventRow) else row["createdAt"]
        try:
            pc.cast(pa.array([created_at], pa.string()), CREATED_AT_TYPE)
        except pa.ArrowInvalid:
            rejected.append((msgspec.structs.asdict(row) if isinstance(row, EventRow) else row, "bad_created_at"))
        else:
            valid.append(row)
    return valid, rejected


# What makes two event-data rows encode the same (their eventId and createdAt do not matter).
_PROPERTY_KEY = itemgetter("dataKey", "dataType", "stringValue", "numberValue", "dateValue")


class PropertiesEncoder:
    """``encode_properties`` as JSON text, remembered per distinct property set.

    Real traffic repeats a few thousand property sets (course x outline item x entry type) over
    millions of events, so most events cost one dictionary lookup instead of the redaction checks
    and a JSON dump. The memory is bounded: past ``limit`` sets it starts over.
    """

    def __init__(self, rules: SensitiveRules, limit: int = 100_000) -> None:
        self.rules = rules
        self.limit = limit
        self._known: dict[tuple, str] = {}

    def __call__(self, rows: Sequence[Mapping[str, Any]] | tuple[PropertyRow, ...]) -> str:
        try:
            key = rows if rows and isinstance(rows[0], PropertyRow) else tuple(map(_PROPERTY_KEY, rows))
            known = self._known.get(key)
        except (KeyError, TypeError):  # odd rows or unhashable values: encode without remembering
            return self._encode(rows)
        if known is None:
            known = self._encode(rows)
            if len(self._known) >= self.limit:
                self._known.clear()
            self._known[key] = known
        return known

    def _encode(self, rows: Sequence[Mapping[str, Any]] | tuple[PropertyRow, ...]) -> str:
        plain = (msgspec.structs.asdict(r) if isinstance(r, PropertyRow) else r for r in rows)
        return orjson.dumps(encode_properties((r for r in plain if isinstance(r, Mapping)), self.rules)).decode()


_TYPED_FIELDS = attrgetter("id", "websiteId", "sessionId", "eventName", "createdAt", "urlPath", "hasData")


def _mapping_fields(row: Mapping[str, Any]) -> tuple[Any, ...]:
    return (
        row["id"],
        row.get("websiteId"),
        row.get("sessionId"),
        row.get("eventName"),
        row["createdAt"],
        row.get("urlPath"),
        bool(row.get("hasData")),
    )


def events_table(
    rows: Sequence[Mapping[str, Any]] | Sequence[EventRow],
    properties: Mapping[str, str],
    loaded_at: datetime,
) -> pa.Table:
    """An arrow table of raw events (valid rows, see ``split_valid``), properties (JSON text, see
    ``PropertiesEncoder``) joined on the event id. ``pyarrow.ArrowInvalid`` when a ``createdAt``
    is not an ISO 8601 instant with a zone (see ``split_times``)."""
    if not rows:
        return EVENTS_SCHEMA.empty_table()
    fields = _TYPED_FIELDS if isinstance(rows[0], EventRow) else _mapping_fields
    columns = dict(zip(EVENT_COLUMNS, zip(*map(fields, rows), strict=True), strict=True))
    created_at = pa.array(columns.pop("created_at"), pa.string())  # ISO text, cast below
    arrays = {name: pa.array(values, EVENTS_SCHEMA.field(name).type) for name, values in columns.items()}
    arrays["created_at"] = pc.cast(created_at, CREATED_AT_TYPE)
    arrays["properties"] = pa.array([properties.get(event_id) or "{}" for event_id in columns["event_id"]], pa.string())
    arrays["loaded_at"] = pa.array([loaded_at] * len(rows), EVENTS_SCHEMA.field("loaded_at").type)
    return pa.Table.from_arrays([arrays[name] for name in EVENTS_SCHEMA.names], schema=EVENTS_SCHEMA)
