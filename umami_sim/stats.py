"""Aggregates under ``/websites/{websiteId}/``: stats, metrics and property values.

* visitors = distinct sessions, visits = distinct (session, UTC hour);
* ``/events/stats`` counts custom events; ``/stats`` counts page views only (so ``event=`` of a
  custom event gives zeros), with bounces (visits of one page view) and totaltime (per visit, last
  minus first, in seconds); ``/sessions/stats`` counts every event as a page view;
* ``comparison`` is the previous period of the same length in whole minutes;
* ties in ranked answers (values, metrics) come in a fresh random order on every request.

``/events/stats`` and ``/event-data/values`` for one event name and no other filter add the whole
UTC days of their range from the store's day totals (``day_total``) and count only the partial days
at its edges from the events: a 30-day window of ten million events stays well under a second.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Callable, Mapping

from . import params, responses
from .params import Filter, Problems, Range
from .properties import DATE, NUMBER
from .query import JOIN_PAGE, JOIN_SESSION, VISIT_KEY, scope
from .responses import MISSING_STRING, Response
from .store import DAY_MS, Store

# metric type -> (column, join it needs; None for the event name, read through e.name)
_METRICS: dict[str, tuple[str, str | None]] = {
    "event": ("e.name", None),
    "path": ("p.url_path", JOIN_PAGE),
    "url": ("p.url_path", JOIN_PAGE),
    "query": ("p.url_query", JOIN_PAGE),
    "title": ("p.page_title", JOIN_PAGE),
    "hostname": ("p.hostname", JOIN_PAGE),
    "referrer": ("p.referrer_domain", JOIN_PAGE),
    **{name: (f"s.{name}", JOIN_SESSION) for name in
       ("browser", "os", "device", "screen", "language", "country", "region", "city")},
}  # fmt: skip

Compute = Callable[[int | None, Range, list[Filter]], dict[str, int]]


class Stats:
    def __init__(self, store: Store, rng: random.Random) -> None:
        self._store = store
        self._rng = rng

    def event_stats(self, website_id: str, query: Mapping[str, str]) -> Response:
        """``/events/stats``: ``{data: {events, visitors, visits, uniqueEvents, comparison}}``."""
        return self._with_comparison(website_id, query, self._events, wrap=True)

    def website_stats(self, website_id: str, query: Mapping[str, str]) -> Response:
        """``/stats``: page views only."""
        return self._with_comparison(website_id, query, self._pageviews, wrap=False)

    def _with_comparison(self, website_id: str, query: Mapping[str, str], compute: Compute, wrap: bool) -> Response:
        problems = Problems()
        period = params.optional_range(problems, query)
        if not isinstance(period, Range):
            return period or problems.response() or responses.bad_request()
        website = self._store.website_key(website_id)
        filters = params.filters(query)
        body = {
            **compute(website, period, filters),
            "comparison": compute(website, period.shifted_back(), filters),
        }
        return responses.json_response({"data": body} if wrap else body)

    def _events(self, website: int | None, period: Range, filters: list[Filter]) -> dict[str, int]:
        row: tuple = (0, 0, 0, 0)
        if website is not None:
            days = _whole_days(period)
            name = self._name_key(filters)
            if days is not None and name is not None:
                row = self._events_by_day(website, name, period, days)
            else:
                s = scope(self._store, website, period, filters, ("e.name IS NOT NULL",))
                select = f"count(*), count(DISTINCT e.session), count(DISTINCT {VISIT_KEY}), count(DISTINCT e.name)"
                row = self._store.query_one(s.sql(select), s.params)
        return dict(zip(("events", "visitors", "visits", "uniqueEvents"), row, strict=True))

    def _events_by_day(self, website: int, name: int, period: Range, days: tuple[int, int]) -> tuple:
        """(events, visitors, visits, uniqueEvents) of one event name: the whole days from the day
        totals, the edges from the events (visits never span two days)."""
        in_days = "FROM day_total d WHERE d.website = ? AND d.name = ? AND d.day >= ? AND d.day < ?"
        by_day = (website, name, *days)
        events, visits = self._store.query_one(f"SELECT coalesce(sum(events), 0), coalesce(sum(visits), 0) {in_days}",
                                               by_day)  # fmt: skip
        sessions = [f"SELECT j.value AS session {in_days.replace('d WHERE', 'd, json_each(d.sessions) j WHERE')}"]
        params: list[object] = [*by_day]
        for edge in _edges(period, days):
            s = scope(self._store, website, edge, [], ("e.name = ?",), (name,))
            edge_events, edge_visits = self._store.query_one(s.sql(f"count(*), count(DISTINCT {VISIT_KEY})"), s.params)
            events, visits = events + edge_events, visits + edge_visits
            sessions.append(s.sql("e.session"))
            params += s.params
        visitors = self._store.query_one(
            f"SELECT count(DISTINCT session) FROM ({' UNION ALL '.join(sessions)})", params
        )[0]
        return events, visitors, visits, int(events > 0)

    def _name_key(self, filters: list[Filter]) -> int | None:
        """The key of the event name when ``event=`` (one exact name) is the only filter."""
        if len(filters) != 1 or filters[0].column != "name" or filters[0].operator != "eq":
            return None
        if len(filters[0].values) != 1:
            return None
        found = self._store.query_one("SELECT id FROM event_name WHERE name = ?", filters[0].values)
        return None if found is None else found[0]

    def _pageviews(self, website: int | None, period: Range, filters: list[Filter]) -> dict[str, int]:
        row: tuple = (0, 0, 0, 0, 0)
        if website is not None:
            s = scope(self._store, website, period, filters, ("e.name IS NULL",))
            per_visit = s.sql(
                "e.session AS session, count(*) AS c, (max(e.created_at) - min(e.created_at)) / 1000 AS t",
                tail="GROUP BY e.session, e.created_at / 3600000",
            )
            row = self._store.query_one(
                "SELECT coalesce(sum(c), 0), count(DISTINCT session), count(*), coalesce(sum(c = 1), 0), "
                f"coalesce(sum(t), 0) FROM ({per_visit})",
                s.params,
            )
        return dict(zip(("pageviews", "visitors", "visits", "bounces", "totaltime"), row, strict=True))

    def session_stats(self, website_id: str, query: Mapping[str, str]) -> Response:
        """``/sessions/stats``: ``pageviews`` is the number of events of any type."""
        problems = Problems()
        period = params.optional_range(problems, query)
        if not isinstance(period, Range):
            return period or problems.response() or responses.bad_request()
        row: tuple = (0, 0, 0, 0, 0)
        website = self._store.website_key(website_id)
        if website is not None:
            s = scope(self._store, website, period, params.filters(query), joins=(JOIN_SESSION,))
            select = (
                f"count(*), count(DISTINCT e.session), count(DISTINCT {VISIT_KEY}), "
                "count(DISTINCT s.country), coalesce(sum(e.name IS NOT NULL), 0)"
            )
            row = self._store.query_one(s.sql(select), s.params)
        names = ("pageviews", "visitors", "visits", "countries", "events")
        return responses.json_response({name: {"value": value} for name, value in zip(names, row, strict=True)})

    def metrics(self, website_id: str, query: Mapping[str, str], expanded: bool) -> Response:
        """``/metrics`` ([{x, y}]) and ``/metrics/expanded`` ([{name, pageviews, visitors, visits, bounces,
        totaltime}], pageviews and totaltime as strings). ``type=event`` counts custom events; page
        columns count page views; session columns count sessions."""
        problems = Problems()
        metric = query.get("type")
        if metric is None:
            problems.add("type", MISSING_STRING)
        elif metric not in _METRICS:
            problems.add("type", "Invalid option: expected one of " + "|".join(f'"{m}"' for m in _METRICS))
        limit = params.number(problems, query, "limit", positive=True) or 500
        offset = params.number(problems, query, "offset", positive=False) or 0
        period = params.optional_range(problems, query)
        if not isinstance(period, Range) or metric not in _METRICS:
            return period or problems.response() or responses.bad_request()
        website = self._store.website_key(website_id)
        if website is None:
            return responses.json_response([])
        column, join = _METRICS[metric]
        kind = "e.name IS NOT NULL" if metric == "event" else "e.name IS NULL"  # custom events / page views
        conditions = (kind, f"{column} IS NOT NULL")
        s = scope(self._store, website, period, params.filters(query), conditions, joins=(join,) if join else ())
        names = self._names() if metric == "event" else {}
        if expanded:
            per_visit = s.sql(
                f"{column} AS name, e.session AS session, count(*) AS c, "
                "(max(e.created_at) - min(e.created_at)) / 1000 AS t",
                tail=f"GROUP BY {column}, e.session, e.created_at / 3600000",
            )
            rows = self._store.query(
                "SELECT name, sum(c), count(DISTINCT session), count(*), sum(c = 1), sum(t) "
                f"FROM ({per_visit}) GROUP BY name",
                s.params,
            )
            rows.sort(key=lambda r: (-r[2], -r[3], self._rng.random()))
            return responses.json_response([
                {"name": names.get(r[0], r[0]), "pageviews": str(r[1]), "visitors": r[2], "visits": r[3],
                 "bounces": r[4], "totaltime": str(r[5])}
                for r in rows[offset : offset + limit]
            ])  # fmt: skip
        counted = "count(DISTINCT e.session)" if join == JOIN_SESSION else "count(*)"
        rows = self._store.query(s.sql(f"{column}, {counted}", tail=f"GROUP BY {column}"), s.params)
        rows.sort(key=lambda r: (-r[1], self._rng.random()))
        return responses.json_response([{"x": names.get(x, x), "y": y} for x, y in rows[offset : offset + limit]])

    def property_values(self, website_id: str, query: Mapping[str, str]) -> Response:
        """``/event-data/values``: the top 100 values of one property of one event, by event count.

        Numbers lose ``.0000`` (``"123"``, but ``"1.5000"``); dates are truncated to the hour."""
        problems = Problems()
        period = params.required_range(problems, query)
        for name in ("event", "propertyName"):
            if name not in query:
                problems.add(name, MISSING_STRING)
        if period is None or problems.tree:
            return problems.response() or responses.bad_request()
        website = self._store.website_key(website_id)
        if website is None or period.start > period.end:
            return responses.json_response([])
        filters = params.filters(query, ignore=frozenset({"event"}))
        name = self._store.query_one("SELECT id FROM event_name WHERE name = ?", (query["event"],))
        if name is None:
            return responses.json_response([])
        days = _whole_days(period)
        per_props: Counter[int] = Counter()
        if days is None or filters:
            parts = [period]
        else:
            parts = _edges(period, days)
            sql = (
                "SELECT CAST(j.key AS INTEGER), sum(j.value) FROM day_total d, json_each(d.props) j "
                "WHERE d.website = ? AND d.name = ? AND d.day >= ? AND d.day < ? GROUP BY j.key"
            )
            per_props.update(dict(self._store.query(sql, (website, *name, *days))))
        for part in parts:
            s = scope(self._store, website, part, filters, ("e.name = ?", "e.props IS NOT NULL"), name)
            per_props.update(dict(self._store.query(s.sql("e.props, count(*)", tail="GROUP BY e.props"), s.params)))
        totals: Counter[str] = Counter()
        data = self._props(list(per_props))
        for key, events in per_props.items():
            for data_key, data_type, text, _, date in json.loads(data[key]):
                if data_key == query["propertyName"]:
                    totals[_shown_value(data_type, text, date)] += events
        ranked = sorted(totals.items(), key=lambda kv: (-kv[1], self._rng.random()))
        return responses.json_response([{"value": value, "total": total} for value, total in ranked[:100]])

    def _names(self) -> dict[int, str]:
        return dict(self._store.query("SELECT id, name FROM event_name"))

    def _props(self, keys: list[int]) -> dict[int, str]:
        sql = "SELECT id, data FROM props WHERE id IN (SELECT value FROM json_each(?))"
        return dict(self._store.query(sql, (json.dumps(keys),)))


def _shown_value(data_type: int, text: str, date: str | None) -> str:
    if data_type == NUMBER:
        return text.replace(".0000", "")
    if data_type == DATE and date:
        return date[:13] + ":00:00Z"
    return text


def _whole_days(period: Range) -> tuple[int, int] | None:
    """[first, end) of the UTC days wholly inside the period, if any (day totals start in 1970)."""
    first, end = -(-period.start // DAY_MS), (period.end + 1) // DAY_MS
    return (first, end) if period.start >= 0 and first < end else None


def _edges(period: Range, days: tuple[int, int]) -> list[Range]:
    """The parts of the period before and after its whole days."""
    before = Range(period.start, days[0] * DAY_MS - 1)
    after = Range(days[1] * DAY_MS, period.end)
    return [edge for edge in (before, after) if edge.start <= edge.end]
