"""Lists and single items under ``/websites/{websiteId}/``, with Umami v3.1.0's semantics and flaws.

* Ranges are inclusive epoch-ms ``startAt``/``endAt``; ``startAt > endAt`` gives empty results.
* Lists are newest first by ``created_at`` with ties in a fresh random order on every request and
  offset paging, so paging over tied timestamps can repeat and skip rows (see ``paging``).
* Unknown websites, sessions and events answer 200 with empty results, ``{}`` or ``[]``.
* ``/sessions/{id}`` gives lifetime totals (``views``/``events``/``totaltime`` as strings); a visit is
  a session's UTC hour and ``totaltime`` sums, per visit, last minus first event time in seconds.
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping

from . import params, responses
from .clock import iso
from .ids import IdMaker
from .paging import page_rows
from .params import Filter, Paging, Problems, Range
from .query import JOIN_PAGE, JOIN_SESSION, scope
from .render import RowRender, RowSql
from .responses import JSON_TYPE, Response
from .store import Store

_SESSION_FIELDS = "s.browser, s.os, s.device, s.screen, s.language, s.country, s.region, s.city"
_SESSION_KEYS = ("browser", "os", "device", "screen", "language", "country", "region", "city")
_SEARCH = (
    "(e.name IN (SELECT id FROM event_name WHERE instr(lower(name), lower(?)) > 0)"
    " OR (e.name IS NULL AND e.page IN (SELECT id FROM page WHERE instr(lower(url_path), lower(?)) > 0)))"
)


class Reader:
    def __init__(self, store: Store, ids: IdMaker, rng: random.Random, version: str) -> None:
        self._store = store
        self._ids = ids
        self._rng = rng
        self._version = version
        rows = RowSql(ids)
        self._event_rows, self._event_data_rows = rows.events(), rows.event_data()

    # --- lists ------------------------------------------------------------------------------

    def events(self, website_id: str, query: Mapping[str, str]) -> Response:
        """``/events`` (every event type); v2.11.0 ignores ``event=``."""
        problems = Problems()
        page = params.paging(problems, query)
        period = params.optional_range(problems, query)
        if not isinstance(period, Range):
            return period or problems.response() or responses.bad_request()
        ignore = frozenset({"event"}) if self._version == "2.11.0" else frozenset()
        search = query.get("search")
        conditions, values = ((_SEARCH,), (search, search)) if search else ((), ())
        filters = params.filters(query, ignore)
        return self._list_page(website_id, period, page, filters, conditions, values, self._event_rows)

    def event_data(self, website_id: str, query: Mapping[str, str]) -> Response:
        """``/event-data`` (v3.1.0): the events that have properties, paged by event."""
        problems = Problems()
        period = params.required_range(problems, query)
        page = params.paging(problems, query)
        if period is None or problems.tree:
            return problems.response() or responses.bad_request()
        filters = params.filters(query)
        return self._list_page(website_id, period, page, filters, ("e.props IS NOT NULL",), (), self._event_data_rows)

    def _list_page(
        self,
        website_id: str,
        period: Range,
        page: Paging,
        filters: list[Filter],
        conditions: tuple[str, ...],
        values: tuple[object, ...],
        render: RowRender,
    ) -> Response:
        """``{data, count, page, pageSize}``, the rows rendered by SQLite (see ``render``)."""
        count, rows = 0, b""
        website = self._store.website_key(website_id)
        if website is not None and period.start <= period.end:
            s = scope(self._store, website, period, filters, conditions, values)
            count = self._store.count(s.sql("count(*)"), s.params)
            rows = page_rows(self._store, s, page, count, render, json.dumps(website_id), self._rng)
        tail = f'],"count":{count},"page":{page.page},"pageSize":{page.page_size}}}'
        return Response(200, b'{"data":[' + rows + tail.encode(), JSON_TYPE)

    def sessions(self, website_id: str, query: Mapping[str, str]) -> Response:
        """``/sessions``: sessions with events in the range (after filters), aggregated over those
        events only, newest ``lastAt`` first; ``createdAt`` equals ``lastAt``."""
        problems = Problems()
        page = params.paging(problems, query)
        period = params.optional_range(problems, query)
        if not isinstance(period, Range):
            return period or problems.response() or responses.bad_request()
        body: dict[str, object] = {"data": [], "count": 0, "page": page.page, "pageSize": page.page_size}
        website = self._store.website_key(website_id)
        if website is None or period.start > period.end:
            return responses.json_response(body)
        s = scope(self._store, website, period, params.filters(query), joins=(JOIN_SESSION, JOIN_PAGE))
        select = (
            f"s.uuid, p.hostname, {_SESSION_FIELDS}, min(e.created_at), max(e.created_at), "
            "count(DISTINCT e.created_at / 3600000), sum(e.name IS NULL), sum(e.name IS NOT NULL)"
        )
        groups = self._store.query(s.sql(select, tail="GROUP BY e.session, p.hostname"), s.params)
        groups.sort(key=lambda g: (-g[11], self._rng.random()))
        body["count"] = len(groups)
        body["data"] = [self._session_row(website_id, g) for g in groups[page.offset : page.offset + page.page_size]]
        return responses.json_response(body)

    @staticmethod
    def _session_row(website_id: str, g: tuple) -> dict[str, object]:
        row: dict[str, object] = {"id": g[0], "websiteId": website_id, "hostname": g[1]}
        row.update(zip(_SESSION_KEYS, g[2:10], strict=True))
        row.update(firstAt=iso(g[10]), lastAt=iso(g[11]), visits=g[12], views=g[13], events=g[14])
        row["createdAt"] = iso(g[11])
        return row

    # --- single items -----------------------------------------------------------------------

    def event_properties(self, website_id: str, event_id: str) -> Response:
        """``/event-data/{eventId}``: the event's properties as flat rows (``[]`` when none/unknown)."""
        rowid = self._ids.event_rowid(event_id)
        website = self._store.website_key(website_id)
        row = None
        if rowid is not None and website is not None:
            row = self._store.query_one(
                "SELECT n.name, e.created_at, pr.data FROM event e JOIN props pr ON pr.id = e.props "
                "LEFT JOIN event_name n ON n.id = e.name WHERE e.id = ? AND e.website = ?",
                (rowid, website),
            )
        if row is None:
            return responses.json_response([])
        name, created, data = row
        return responses.json_response([
            {"websiteId": website_id, "eventId": event_id, "eventName": name, "dataKey": key,
             "stringValue": text, "numberValue": number, "dateValue": date, "dataType": data_type,
             "createdAt": iso(created)}
            for key, data_type, text, number, date in json.loads(data)
        ])  # fmt: skip

    def session(self, website_id: str, session_id: str) -> Response:
        """Lifetime totals, kept by the store (``session_total``)."""
        found = self._session(website_id, session_id)
        if found is None:
            return responses.json_response({})
        key, distinct_id, attributes = found
        totals = self._store.query_one(
            "SELECT visits, views, events, totaltime, first_at, last_at FROM session_total WHERE session = ?", (key,)
        )
        if totals is None or not totals[0]:
            return responses.json_response({})
        visits, views, events, totaltime, first, last = totals
        body: dict[str, object] = {"id": session_id, "distinctId": distinct_id, "websiteId": website_id}
        body.update(zip(_SESSION_KEYS, attributes, strict=True))
        body.update(firstAt=iso(first), lastAt=iso(last), visits=visits, views=str(views), events=str(events))
        body["totaltime"] = str(totaltime)
        return responses.json_response(body)

    def session_properties(self, website_id: str, session_id: str) -> Response:
        found = self._session(website_id, session_id)
        if found is None:
            return responses.json_response([])
        rows = self._store.query(
            "SELECT data_key, data_type, string_value, number_value, date_value, created_at "
            "FROM session_data WHERE session = ? ORDER BY rowid",
            (found[0],),
        )
        return responses.json_response([
            {"websiteId": website_id, "sessionId": session_id, "dataKey": key, "dataType": data_type,
             "stringValue": text, "numberValue": number, "dateValue": date, "createdAt": iso(created)}
            for key, data_type, text, number, date, created in rows
        ])  # fmt: skip

    def _session(self, website_id: str, session_id: str) -> tuple[int, str | None, tuple] | None:
        row = self._store.query_one(
            f"SELECT s.id, s.distinct_id, {_SESSION_FIELDS} FROM session s "
            "JOIN website w ON w.id = s.website WHERE s.uuid = ? AND w.uuid = ?",
            (session_id, website_id),
        )
        return None if row is None else (row[0], row[1], row[2:])
