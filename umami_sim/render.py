"""JSON rows written by SQLite: list pages without per-row Python.

What repeats is rendered once, when it is stored, as a JSON fragment: a page's columns (``page.head``,
``page.tail``), a session's client columns (``session.geo``), an event name (``event_name.json``) and
a property set (``props.rendered``, whose ``createdAt`` values are a placeholder). A page of events is
then one SQL query whose ``printf`` joins, per row, the event id (computed from the rowid, see
``ids``), the time and those fragments, and whose ``group_concat`` joins the rows: the server only
adds the envelope. The text is what ``json.dumps(…, ensure_ascii=False, separators=(",", ":"))`` of
the same values would give, keys in the same order.

Times: ``createdAt`` is the hour's prefix (``2026-11-19T23:``, from the connection's temporary
``hour_prefix`` table, keyed by ``HOUR_KEY``) followed by minutes, seconds and milliseconds. The key
is shifted by ``_SHIFT_HOURS`` so that it is a floor division for any time after 9400 BC.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from .clock import iso
from .ids import EVENT_ID_FORMAT, IdMaker
from .properties import Property

_SHIFT_HOURS = 100_000_000
HOUR_KEY = f"(e.created_at + {_SHIFT_HOURS * 3_600_000}) / 3600000"
_PAGE_KEYS = ("hostname", "urlPath", "urlQuery", "referrerPath", "referrerQuery", "referrerDomain")
_SESSION_KEYS = ("country", "city", "device", "os", "browser")
_PLACEHOLDER = "\x01"  # in props.rendered, char(1) is the event's createdAt (JSON text escapes it)
_ESCAPED_CREATED_AT = '"createdAt":' + json.dumps(_PLACEHOLDER)
_SHIFTED = f"(e.created_at + {_SHIFT_HOURS * 3_600_000})"
_TIME = f"({_SHIFTED} % 3600000) / 60000, ({_SHIFTED} % 60000) / 1000, {_SHIFTED} % 1000"


def value(item: object) -> str:
    """A value's JSON text."""
    return json.dumps(item, ensure_ascii=False)


def _members(obj: dict[str, object]) -> str:
    """An object's JSON without its braces."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))[1:-1]


def page_fragments(page: Sequence[str | None]) -> tuple[str, str]:
    """(head, tail) of a page: (hostname, url_path, url_query, referrer_path, referrer_query,
    referrer_domain) before the session's columns, page_title after them."""
    return _members(dict(zip(_PAGE_KEYS, page[:6], strict=True))), _members({"pageTitle": page[6]})


@lru_cache(maxsize=4096)
def session_fragment(country: str | None, city: str | None, device: str | None, os: str | None,
                     browser: str | None) -> str:  # fmt: skip
    return _members(dict(zip(_SESSION_KEYS, (country, city, device, os, browser), strict=True)))


def property_set(rows: Sequence[Property]) -> str:
    """``props.rendered``: the ``eventProperties`` array of an event with this property set."""
    return "[" + ",".join(map(_property, rows)) + "]"


@lru_cache(maxsize=16384)
def _property(row: Property) -> str:
    """One property, its createdAt the placeholder (a bulk fill renders thousands of sets of few rows)."""
    key, data_type, text, number, date = row
    item = {"dataKey": key, "stringValue": text, "numberValue": number, "dateValue": date, "dataType": data_type,
            "createdAt": _PLACEHOLDER}  # fmt: skip
    # the placeholder is escaped in JSON text, and a value's quotes are: this is only ever createdAt
    return json.dumps(item, ensure_ascii=False, separators=(",", ":")).replace(
        _ESCAPED_CREATED_AT, '"createdAt":"\x01"'
    )


def hour_key(created_at: int) -> int:
    """``HOUR_KEY`` of a time (epoch ms)."""
    return created_at // 3_600_000 + _SHIFT_HOURS


def hour_prefix(key: int) -> str:
    """The ``createdAt`` text of an hour up to its minutes: ``2026-11-19T23:``."""
    return iso((key - _SHIFT_HOURS) * 3_600_000)[:-10]


@dataclass(frozen=True)
class RowRender:
    """SQL rendering one list row per event of a subquery ``e``: ``columns`` are what the subquery must
    select besides the event's own columns, ``select`` the row's text (its first parameter is the
    website id as JSON), ``joins`` what it reads."""

    select: str
    joins: str
    columns: str


class RowSql:
    """The SQL that renders list rows, for the ids of one server."""

    def __init__(self, ids: IdMaker) -> None:
        self._columns = ids.event_id_columns("e.id")
        self._id = ids.event_id_sql("e")

    def events(self) -> RowRender:
        """``/events`` rows."""
        select = (
            f"""printf('{{"id":"{EVENT_ID_FORMAT}","websiteId":%s,"sessionId":"%s","createdAt":"%s%02d:%02d.%03dZ","""
            """%s,%s,%s,"eventType":%d,"eventName":%s,"hasData":%s}', """
            f"{self._id}, ?, s.uuid, h.text, {_TIME}, p.head, s.geo, p.tail, iif(e.name IS NULL, 1, 2), "
            "coalesce(n.json, 'null'), iif(e.props IS NULL, 'false', 'true'))"
        )
        joins = (
            "CROSS JOIN session s ON s.id = e.session CROSS JOIN page p ON p.id = e.page "
            f"LEFT JOIN event_name n ON n.id = e.name CROSS JOIN hour_prefix h ON h.hour = {HOUR_KEY}"
        )
        return RowRender(select, joins, self._columns)

    def event_data(self) -> RowRender:
        """``/event-data`` rows (of events that have properties)."""
        select = (
            f"""printf('{{"websiteId":%s,"eventId":"{EVENT_ID_FORMAT}","eventName":%s,"eventProperties":%s}}', ?, """
            f"{self._id}, coalesce(n.json, 'null'), "
            f"replace(pr.rendered, char(1), printf('%s%02d:%02d.%03dZ', h.text, {_TIME})))"
        )
        joins = (
            "CROSS JOIN props pr ON pr.id = e.props LEFT JOIN event_name n ON n.id = e.name "
            f"CROSS JOIN hour_prefix h ON h.hour = {HOUR_KEY}"
        )
        return RowRender(select, joins, self._columns)
