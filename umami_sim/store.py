"""SQLite storage: websites, sessions, session properties, events and their running totals.

One ``event`` table holds every event as a narrow row of integers. What repeats is stored once and
referenced: event names (``event_name``), pages (``page``: hostname, URL path and query, referrer,
title) and property sets (``props``: the event's properties as one JSON array of ``[dataKey,
dataType, stringValue, numberValue, dateValue]`` rows). Real traffic repeats these heavily (a few
thousand courses x outline items x entry types), so ten million events take under 800 MB. Those
rows and the sessions also carry their JSON as the API prints it (see ``render``).

Indexes (a fill of at least half the table's size drops them and builds them again: faster):

* ``(website, name, created_at, props, session, page)``: ``event=`` reads, covering (a page of events
  reads no table row);
* ``(website, created_at, name, session)``: reads without ``event=``, and a send's visit so far.

Running totals, kept exact by every write (a send updates them; a bulk fill computes them):

* ``session_total``: a session's lifetime totals (``/sessions/{id}``), so no index by session;
* ``day_total``: per event name and UTC day, the events, the visits, the sessions (a JSON array) and
  the events of each property set (a JSON object ``{"<props>": n}``): ``/events/stats`` and
  ``/event-data/values`` add whole days from these and read only the partial days at the edges of
  their range from the events. A row per day keeps a fill's writes few.

A page view is an event without a name (Umami's eventType 1), a custom event has one (eventType 2);
an event has data when it references a property set. A visit is a session's hour, ``created_at /
3600000`` in SQLite's integer division (as the aggregates group); day totals cover custom events at
or after 1970 (``created_at // 86400000``).

One connection serves every thread, behind a lock; ``created_at`` is epoch milliseconds (UTC).
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain

from . import properties, render
from .properties import Property

SCHEMA_VERSION = "2"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS website (
    id INTEGER PRIMARY KEY,
    uuid TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    domain TEXT,
    user_id TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS session (
    id INTEGER PRIMARY KEY,
    uuid TEXT NOT NULL UNIQUE,
    website INTEGER NOT NULL,
    distinct_id TEXT,
    browser TEXT,
    os TEXT,
    device TEXT,
    screen TEXT,
    language TEXT,
    country TEXT,
    region TEXT,
    city TEXT,
    created_at INTEGER NOT NULL,
    geo TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS session_data (
    session INTEGER NOT NULL,
    data_key TEXT NOT NULL,
    data_type INTEGER NOT NULL,
    string_value TEXT,
    number_value TEXT,
    date_value TEXT,
    created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS session_data_by_session ON session_data (session);
CREATE TABLE IF NOT EXISTS event_name (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS page (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    hostname TEXT,
    url_path TEXT,
    url_query TEXT,
    referrer_path TEXT,
    referrer_query TEXT,
    referrer_domain TEXT,
    page_title TEXT,
    head TEXT NOT NULL,
    tail TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS props (id INTEGER PRIMARY KEY, data TEXT NOT NULL UNIQUE, rendered TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS event (
    id INTEGER PRIMARY KEY,
    website INTEGER NOT NULL,
    session INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    name INTEGER,
    page INTEGER NOT NULL,
    props INTEGER
);
CREATE TABLE IF NOT EXISTS session_total (
    session INTEGER PRIMARY KEY,
    views INTEGER NOT NULL,
    events INTEGER NOT NULL,
    visits INTEGER NOT NULL,
    totaltime INTEGER NOT NULL,
    first_at INTEGER NOT NULL,
    last_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS day_total (
    website INTEGER NOT NULL,
    name INTEGER NOT NULL,
    day INTEGER NOT NULL,
    events INTEGER NOT NULL,
    visits INTEGER NOT NULL,
    sessions TEXT NOT NULL,
    props TEXT NOT NULL,
    PRIMARY KEY (website, name, day)
) WITHOUT ROWID;
CREATE TEMP TABLE hour_prefix (hour INTEGER PRIMARY KEY, text TEXT NOT NULL);
"""
_INDEXES = {
    "event_by_name": "event (website, name, created_at, props, session, page)",
    "event_by_time": "event (website, created_at, name, session)",
}

EVENT_COLUMNS = "website, session, created_at, name, page, props"
_INSERT_EVENT = f"INSERT INTO event ({EVENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)"
PAGE_COLUMNS = (
    "hostname",
    "url_path",
    "url_query",
    "referrer_path",
    "referrer_query",
    "referrer_domain",
    "page_title",
)
_CACHE_LIMIT = 200_000
_ROWS_AT_ONCE = 500  # rows per INSERT of a bulk fill (4 parameters each)
_SESSION_COLUMNS = (
    "uuid, website, distinct_id, browser, os, device, screen, language, country, region, city, created_at, geo"
)
_INSERT_SESSION = f"INSERT INTO session ({_SESSION_COLUMNS}) VALUES ({', '.join('?' * 13)})"
# the session's events in the visit (SQL hour) of a new event, and how many of them have its name
_VISIT_SO_FAR = (
    "SELECT count(*), min(created_at), max(created_at), coalesce(sum(name IS ?), 0) FROM event "
    "WHERE website = ? AND created_at BETWEEN ? - 3599999 AND ? + 3599999 AND created_at / 3600000 = ? / 3600000 "
    "AND session = ?"
)
_ADD_SESSION_TOTALS = (
    "INSERT INTO session_total VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (session) DO UPDATE SET "
    "views = views + excluded.views, events = events + excluded.events, visits = visits + excluded.visits, "
    "totaltime = totaltime + excluded.totaltime, first_at = min(first_at, excluded.first_at), "
    "last_at = max(last_at, excluded.last_at)"
)
# one more event in a day's totals: ?1 the session, ?2 1 for a new visit, ?3 the property set's JSON path
_COUNT_IN_DAY = (
    "UPDATE day_total SET events = events + 1, visits = visits + ?2, "
    "sessions = iif(EXISTS (SELECT 1 FROM json_each(sessions) WHERE value = ?1), sessions, "
    "json_insert(sessions, '$[#]', ?1)), "
    "props = iif(?3 IS NULL, props, json_set(props, ?3, coalesce(json_extract(props, ?3), 0) + 1)) "
    "WHERE website = ?4 AND name = ?5 AND day = ?6"
)
DAY_MS = 86_400_000


@dataclass(frozen=True)
class Website:
    key: int
    id: str
    name: str
    domain: str | None
    user_id: str
    created_at: int


@dataclass(frozen=True)
class NewSession:
    """What a send knows about the sender when it creates a session."""

    id: str
    website: int
    distinct_id: str | None
    browser: str | None
    os: str | None
    device: str | None
    screen: str | None
    language: str | None
    created_at: int
    country: str | None = None
    region: str | None = None
    city: str | None = None


class OldStoreFile(RuntimeError):
    """The store file was written by another version of the simulator (its tables differ)."""


class Store:
    """The simulator's database. Every method is thread-safe."""

    def __init__(self, path: str | None = None) -> None:
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(path or ":memory:", check_same_thread=False, isolation_level=None)
        self._conn.create_function("sim_regexp", 2, _regexp, deterministic=True)
        for pragma in (
            "journal_mode=WAL" if path else "journal_mode=MEMORY",
            "synchronous=OFF",
            "temp_store=MEMORY",
            "cache_size=-524288",
            "mmap_size=4294967296",
            "threads=2",
        ):
            self._conn.execute(f"PRAGMA {pragma}")
        self._check_version(path)
        self._conn.executescript(_SCHEMA)
        self.create_indexes()
        self._website_keys: dict[str, int] = {}
        self._session_keys: dict[str, int] = {}
        self._lookups: dict[str, dict[object, int]] = {"event_name": {}, "page": {}, "props": {}}
        self._generation = 0  # bumped by every event write: cached counts older than this are stale
        self._counts: dict[tuple[str, tuple], tuple[int, int]] = {}
        self._hours: set[int] = set()  # keys in the temporary hour_prefix table

    def _check_version(self, path: str | None) -> None:
        tables = {row[0] for row in self._conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "meta" not in tables:
            self._conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            self._conn.execute("INSERT INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
            return
        row = self._conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        if row is None or row[0] != SCHEMA_VERSION:
            raise OldStoreFile(f"{path} was written by another version of umami_sim: delete it or use a new file")

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """The connection inside BEGIN … COMMIT (ROLLBACK on error), holding the lock."""
        with self._lock:
            self._conn.execute("BEGIN")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def query(self, sql: str, params: Sequence[object] = ()) -> list[tuple]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def query_one(self, sql: str, params: Sequence[object] = ()) -> tuple | None:
        with self._lock:
            return self._conn.execute(sql, params).fetchone()

    def count(self, sql: str, params: tuple) -> int:
        """A ``SELECT count(*)`` result, cached until the next event is written (page after page of
        one list re-counts the same window)."""
        with self._lock:
            cached = self._counts.get((sql, params))
            if cached is not None and cached[0] == self._generation:
                return cached[1]
            value = self._conn.execute(sql, params).fetchone()[0]
            if len(self._counts) >= 1024:
                self._counts.clear()
            self._counts[(sql, params)] = (self._generation, value)
            return value

    def rendered(self, sql: str, params: Sequence[object], hours: Iterable[int]) -> bytes:
        """The one text value of a query that renders rows (see ``render``), as UTF-8 bytes; ``hours``
        are the ``render.HOUR_KEY`` values its events may have."""
        with self._lock:
            missing = [(key, render.hour_prefix(key)) for key in set(hours) - self._hours]
            if missing:
                self._conn.executemany("INSERT INTO hour_prefix VALUES (?, ?)", missing)
                self._hours.update(key for key, _ in missing)
            return self._conn.execute(sql, params).fetchone()[0] or b""

    # --- meta -------------------------------------------------------------------------------

    def meta(self, key: str, default: str) -> str:
        """The stored value of ``key``; stores ``default`` first when there is none."""
        with self._lock:
            self._conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)", (key, default))
            return self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()[0]

    # --- websites ---------------------------------------------------------------------------

    def add_website(self, website_id: str, name: str, domain: str | None, user_id: str, now: int) -> Website:
        with self._lock:
            cursor = self._conn.execute(
                "INSERT INTO website (uuid, name, domain, user_id, created_at) VALUES (?, ?, ?, ?, ?)",
                (website_id, name, domain, user_id, now),
            )
            key = int(cursor.lastrowid or 0)
            self._website_keys[website_id] = key
            return Website(key, website_id, name, domain, user_id, now)

    def website(self, website_id: str) -> Website | None:
        row = self.query_one(
            "SELECT id, uuid, name, domain, user_id, created_at FROM website WHERE uuid = ?", (website_id,)
        )
        return Website(*row) if row else None

    def website_key(self, website_id: str) -> int | None:
        key = self._website_keys.get(website_id)
        if key is None:
            found = self.website(website_id)
            if found is None:
                return None
            key = self._website_keys[website_id] = found.key
        return key

    def websites(self) -> list[Website]:
        rows = self.query("SELECT id, uuid, name, domain, user_id, created_at FROM website ORDER BY id")
        return [Website(*row) for row in rows]

    # --- sessions ---------------------------------------------------------------------------

    def session_key(self, session_id: str) -> int | None:
        key = self._session_keys.get(session_id)
        if key is None:
            row = self.query_one("SELECT id FROM session WHERE uuid = ?", (session_id,))
            if row is None:
                return None
            if len(self._session_keys) >= _CACHE_LIMIT:
                self._session_keys.clear()
            key = self._session_keys[session_id] = row[0]
        return key

    def ensure_session(self, session: NewSession) -> int:
        """The session's key, creating the row on first sight (later sends never change it)."""
        key = self.session_key(session.id)
        if key is not None:
            return key
        with self._lock:
            key = self.session_key(session.id)
            if key is None:
                key = int(self._conn.execute(_INSERT_SESSION, _session_row(session)).lastrowid or 0)
                self._session_keys[session.id] = key
            return key

    def insert_sessions(self, conn: sqlite3.Connection, sessions: list[NewSession]) -> dict[str, int]:
        """Create many sessions (those not there yet) inside an open transaction; returns id -> key."""
        ids = json.dumps([s.id for s in sessions])
        known = "SELECT uuid, id FROM session WHERE uuid IN (SELECT value FROM json_each(?))"
        existing = dict(conn.execute(known, (ids,)).fetchall())
        conn.executemany(_INSERT_SESSION, [_session_row(s) for s in sessions if s.id not in existing])
        keys = dict(conn.execute(known, (ids,)).fetchall())
        self._session_keys.update(keys)
        return keys

    def save_session_data(self, session_key: int, rows: list[tuple], created_at: int) -> None:
        """Replace the session's properties of the same keys (an identify overwrites them)."""
        with self.transaction() as conn:
            conn.executemany(
                "DELETE FROM session_data WHERE session = ? AND data_key = ?",
                [(session_key, row[0]) for row in rows],
            )
            conn.executemany(
                "INSERT INTO session_data (session, data_key, data_type, string_value, number_value, "
                "date_value, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(session_key, *row, created_at) for row in rows],
            )

    # --- shared values ----------------------------------------------------------------------

    def name_key(self, name: str) -> int:
        return self._lookup("event_name", name, ("name", "json"), (name, render.value(name)))

    def page_key(self, page: Sequence[str | None]) -> int:
        """The key of a page: (hostname, url_path, url_query, referrer_path, referrer_query,
        referrer_domain, page_title)."""
        values = tuple(page)
        columns = ("key", *PAGE_COLUMNS, "head", "tail")
        return self._lookup("page", values, columns, (_json_key(values), *values, *render.page_fragments(values)))

    def props_key(self, rows: list[Property]) -> int:
        """The key of a property set (its rows, see ``properties``)."""
        data = properties.to_json(rows)
        return self._lookup("props", data, ("data", "rendered"), (data, render.property_set(rows)))

    def props_keys(self, sets: list[list[Property]]) -> list[int]:
        """The keys of many property sets at once (the bulk fill's thousands of combinations)."""
        datas = [properties.to_json(rows) for rows in sets]
        with self._lock:
            self._conn.executemany(
                "INSERT OR IGNORE INTO props (data, rendered) VALUES (?, ?)",
                [(data, render.property_set(rows)) for data, rows in zip(datas, sets, strict=True)],
            )
            sql = "SELECT data, id FROM props WHERE data IN (SELECT value FROM json_each(?))"
            keys = dict(self._conn.execute(sql, (json.dumps(datas),)).fetchall())
        return [keys[d] for d in datas]

    def _lookup(self, table: str, value: object, columns: tuple[str, ...], row: tuple) -> int:
        """Get or create the row of a shared value; ``columns[0]`` is the table's unique column."""
        cache = self._lookups[table]
        key = cache.get(value)
        if key is None:
            with self._lock:
                marks = ", ".join("?" * len(row))
                self._conn.execute(f"INSERT OR IGNORE INTO {table} ({', '.join(columns)}) VALUES ({marks})", row)
                key = self._conn.execute(f"SELECT id FROM {table} WHERE {columns[0]} = ?", (row[0],)).fetchone()[0]
                if len(cache) >= _CACHE_LIMIT:
                    cache.clear()
                cache[value] = key
        return key

    # --- events -----------------------------------------------------------------------------

    def insert_event(self, row: tuple) -> int:
        """Insert one event (a tuple in EVENT_COLUMNS order) and update the running totals; returns
        its rowid."""
        website, session, created_at, name, _, props = row
        with self.transaction() as conn:
            self._generation += 1
            params = (name, website, created_at, created_at, created_at, session)
            before, first, last, same_name = conn.execute(_VISIT_SO_FAR, params).fetchone()
            rowid = int(conn.execute(_INSERT_EVENT, row).lastrowid or 0)
            spread = 0
            if before:
                spread = (max(last, created_at) - min(first, created_at)) // 1000 - (last - first) // 1000
            view = int(name is None)
            conn.execute(
                _ADD_SESSION_TOTALS, (session, view, 1 - view, int(not before), spread, created_at, created_at)
            )
            if name is not None and created_at >= 0:
                day, new_visit = created_at // DAY_MS, int(not same_name)
                props_path = None if props is None else f'$."{props}"'
                if not conn.execute(_COUNT_IN_DAY, (session, new_visit, props_path, website, name, day)).rowcount:
                    counted = json.dumps({props: 1} if props is not None else {})
                    day_row = (website, name, day, 1, new_visit, json.dumps([session]), counted)
                    conn.execute("INSERT INTO day_total VALUES (?, ?, ?, ?, ?, ?, ?)", day_row)
            return rowid

    def insert_events(
        self, conn: sqlite3.Connection, website: int, name: int | None, columns: Sequence[list[int]], created_at: str
    ) -> None:
        """Insert many events of one website and name inside an open transaction, from four columns:
        session, time, page and props, where the SQL ``created_at`` makes the event's time from the time
        parameter. Many rows per statement: far less work per row than one statement each. The caller
        adds their running totals."""
        literal_name = "NULL" if name is None else int(name)  # constants as literals: fewer binds per row
        row = f"({int(website)}, ?, {created_at}, {literal_name}, ?, ?)"
        values = list(chain.from_iterable(zip(*columns, strict=True)))
        self._generation += 1
        step = 4 * _ROWS_AT_ONCE
        full = len(values) // step * step
        sql = f"INSERT INTO event ({EVENT_COLUMNS}) VALUES {', '.join([row] * _ROWS_AT_ONCE)}"
        for start in range(0, full, step):
            conn.execute(sql, values[start : start + step])
        if full < len(values):
            rest = (len(values) - full) // 4
            conn.execute(f"INSERT INTO event ({EVENT_COLUMNS}) VALUES {', '.join([row] * rest)}", values[full:])

    def add_totals(self, conn: sqlite3.Connection, sessions: list[tuple], days: list[tuple]) -> None:
        """Add rows to session_total and day_total inside an open transaction: the events they count
        must be in no visit and on no day that already has events (otherwise ``recount``)."""
        conn.executemany(_ADD_SESSION_TOTALS, sessions)
        conn.executemany("INSERT INTO day_total VALUES (?, ?, ?, ?, ?, ?, ?)", days)

    def recount(self, conn: sqlite3.Connection, website: int) -> None:
        """Recompute every running total of a website from its events (after a bulk fill into days
        that already had events)."""
        conn.execute(
            "DELETE FROM session_total WHERE session IN (SELECT id FROM session WHERE website = ?)", (website,)
        )
        conn.execute(
            "INSERT INTO session_total SELECT session, sum(v), sum(c), count(*), sum(t), min(lo), max(hi) FROM ("
            " SELECT session, sum(name IS NULL) AS v, sum(name IS NOT NULL) AS c,"
            " (max(created_at) - min(created_at)) / 1000 AS t, min(created_at) AS lo, max(created_at) AS hi"
            " FROM event WHERE website = ? GROUP BY session, created_at / 3600000) GROUP BY session",
            (website,),
        )
        conn.execute("DELETE FROM day_total WHERE website = ?", (website,))
        named = f"created_at / {DAY_MS} AS day FROM event WHERE website = ?1 AND name IS NOT NULL AND created_at >= 0"
        conn.execute(
            "WITH per_session AS (SELECT name, session, count(*) AS n, count(DISTINCT created_at / 3600000) AS v, "
            f"{named} GROUP BY name, day, session), per_props AS (SELECT name, props, count(*) AS n, {named} "
            "AND props IS NOT NULL GROUP BY name, day, props) "
            "INSERT INTO day_total SELECT ?1, name, day, sum(n), sum(v), json_group_array(session), "
            "(SELECT json_group_object(props, p.n) FROM per_props p WHERE p.name = s.name AND p.day = s.day) "
            "FROM per_session s GROUP BY name, day",
            (website,),
        )

    def has_events(self, website: int, start: int, end: int) -> bool:
        found = self.query_one(
            "SELECT 1 FROM event WHERE website = ? AND created_at BETWEEN ? AND ?", (website, start, end)
        )
        return found is not None

    def event_count(self) -> int:
        return self.query_one("SELECT max(id) FROM event")[0] or 0

    def drop_indexes(self, conn: sqlite3.Connection) -> None:
        """Drop the event indexes (a big bulk insert then rebuilds them: about twice as fast)."""
        for name in _INDEXES:
            conn.execute(f"DROP INDEX IF EXISTS {name}")

    def create_indexes(self, conn: sqlite3.Connection | None = None) -> None:
        for name, definition in _INDEXES.items():
            (conn or self._conn).execute(f"CREATE INDEX IF NOT EXISTS {name} ON {definition}")


def _session_row(s: NewSession) -> tuple:
    geo = render.session_fragment(s.country, s.city, s.device, s.os, s.browser)
    return (
        s.id, s.website, s.distinct_id, s.browser, s.os, s.device, s.screen, s.language, s.country, s.region,
        s.city, s.created_at, geo,
    )  # fmt: skip


def _json_key(values: tuple) -> str:
    return json.dumps(values, ensure_ascii=False, separators=(",", ":"))


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern)
    except re.error:
        return None


def _regexp(pattern: str | None, value: str | None) -> int | None:
    """SQL ``sim_regexp(pattern, value)``: PostgreSQL ``value ~ pattern`` (NULL for NULL input)."""
    if pattern is None or value is None:
        return None
    compiled = _compiled(pattern)
    return int(compiled is not None and compiled.search(value) is not None)
