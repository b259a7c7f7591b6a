"""Event and session properties ("event data"), encoded the way Umami v3.1.0 stores them.

Each property becomes ``(dataKey, dataType, stringValue, numberValue, dateValue)``:

* 1 string: the string as sent (whitespace kept; ``"true"`` stays a string);
* 2 number: stringValue is JS ``toFixed(4)`` (``"123.0000"``), numberValue the numeric(19,4) value as
  a string without trailing zeros (``"123"``, ``"1.5"``);
* 3 boolean: ``"true"`` / ``"false"``;
* 4 date: an ISO date-time string WITH milliseconds; stringValue and dateValue are its UTC ISO form
  (without milliseconds the value stays a string);
* 5 null or array: JSON text (``"null"``, ``["a","b"]``).

Nested objects are flattened to ``parent.child`` keys. Values longer than the database columns make
the save fail (the real server answers 500 after the event row is already written).
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

STRING, NUMBER, BOOLEAN, DATE, ARRAY = 1, 2, 3, 4, 5
MAX_KEY_LENGTH = 500
MAX_STRING_LENGTH = 500
_MAX_NUMBER = 1e15  # numeric(19,4)
_FOUR_PLACES = Decimal("0.0001")
_DATETIME_WITH_MS = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{3})(Z|[+-]\d{2}:\d{2})?$")

Property = tuple[str, int, str, str | None, str | None]


class PropertyTooLong(Exception):
    """A key or value does not fit Umami's columns (varchar(500), numeric(19,4))."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def flatten(data: dict[str, object]) -> list[Property]:
    """Umami's rows for a ``data`` object, in the order the keys were sent."""
    rows: list[Property] = []
    _flatten_into(rows, data, "")
    return rows


def check_lengths(rows: list[Property]) -> None:
    """Raise PropertyTooLong when Umami's insert of these rows would fail."""
    for key, data_type, string_value, number, _ in rows:
        if len(key) > MAX_KEY_LENGTH or len(string_value) > MAX_STRING_LENGTH:
            raise PropertyTooLong("value too long for type character varying(500)")
        if data_type == NUMBER and number is None:
            raise PropertyTooLong("numeric field overflow")


def _flatten_into(rows: list[Property], obj: dict[str, object], parent: str) -> None:
    for key, value in obj.items():
        full_key = f"{parent}.{key}" if parent else str(key)
        if isinstance(value, dict):
            _flatten_into(rows, value, full_key)
        else:
            rows.append(encode(full_key, value))


def encode(key: str, value: object) -> Property:
    if isinstance(value, bool):
        return (key, BOOLEAN, "true" if value else "false", None, None)
    if isinstance(value, int | float):
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number) or abs(number) >= _MAX_NUMBER:
            return (key, NUMBER, str(number), None, None)  # the insert fails: numeric overflow
        return (key, NUMBER, js_to_fixed4(number), number_value(number), None)
    if isinstance(value, str):
        date = parse_datetime_ms(value)
        if date is not None:
            iso = iso_ms(date)
            return (key, DATE, iso, None, iso)
        return (key, STRING, value, None, None)
    return (key, ARRAY, js_json(value), None, None)


def js_to_fixed4(number: float) -> str:
    """JavaScript ``Number.prototype.toFixed(4)`` (halves round away from zero, on the exact value)."""
    return str(Decimal(number).quantize(_FOUR_PLACES, rounding=ROUND_HALF_UP))


def number_value(number: float) -> str:
    """The numeric(19,4) value as PostgreSQL/Prisma print it: no trailing zeros."""
    text = format(Decimal(number).quantize(_FOUR_PLACES, rounding=ROUND_HALF_UP).normalize(), "f")
    return "0" if text == "-0" else text


def js_json(value: object) -> str:
    """``JSON.stringify``: compact, non-ASCII kept, integral floats without ``.0``."""
    return json.dumps(_js_numbers(value), separators=(",", ":"), ensure_ascii=False)


def _js_numbers(value: object) -> object:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return int(value)
    if isinstance(value, list):
        return [_js_numbers(v) for v in value]
    if isinstance(value, dict):
        return {k: _js_numbers(v) for k, v in value.items()}
    return value


def parse_datetime_ms(text: str) -> datetime | None:
    """A date for ISO date-time strings with milliseconds (what Umami stores as dataType 4)."""
    match = _DATETIME_WITH_MS.match(text)
    if match is None:
        return None
    zone = match.group(8) or "Z"
    try:
        parsed = datetime.fromisoformat(text[:23] + ("+00:00" if zone == "Z" else zone))
    except ValueError:
        return None
    return parsed.astimezone(UTC)


def iso_ms(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def to_json(rows: list[Property]) -> str:
    """A property set as stored (``props.data``): a JSON array of property rows."""
    return "[" + ",".join(map(_row_json, rows)) + "]"


@lru_cache(maxsize=16384)
def _row_json(row: Property) -> str:
    """One row's JSON (a bulk fill stores thousands of sets made of few rows)."""
    return json.dumps(row, separators=(",", ":"), ensure_ascii=False)
