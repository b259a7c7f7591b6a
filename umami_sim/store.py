"""SQLite storage: websites, sessions, session properties and events.

One ``event`` table holds every event as a narrow row of integers. What repeats is stored once and
referenced: event names (``event_name``), pages (``page``: hostname, URL path and query, referrer,
title) and property sets (``props``: the event's properties as one JSON array of ``[dataKey,
dataType, stringValue, numberValue, dateValue]`` rows). Real traffic repeats these heavily (a few
thousand courses x outline items x entry types), so ten million events stay a few hundred MB.

Indexes, all covering for paging, counting and the event/visitor/visit aggregates:

* ``(website, name, created_at, props, session)``: ``event=`` reads, stats and property values;
* ``(website, created_at, name, props, session)``: reads without ``event=``;
* ``(session, created_at)``: lifetime totals of one session.

A page view is an event without a name (Umami's eventType 1), a custom event has one (eventType 2);
an event has data when it references a property set.

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
    created_at INTEGER NOT NULL
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
CREATE TABLE IF NOT EXISTS event_name (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS page (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    hostname TEXT,
    url_path TEXT,
    url_query TEXT,
    referrer_path TEXT,
    referrer_query TEXT,
    referrer_domain TEXT,
    page_title TEXT
);
CREATE TABLE IF NOT EXISTS props (id INTEGER PRIMARY KEY, data TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS event (
    id INTEGER PRIMARY KEY,
    website INTEGER NOT NULL,
    session INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    name INTEGER,
    page INTEGER NOT NULL,
    props INTEGER
);
"""
_INDEXES = {
    "event_by_name": "event (website, name, created_at, props, session)",
    "event_by_time": "event (website, created_at, name, props, session)",
    "event_by_session": "event (session, created_at)",
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
_SESSION_COLUMNS = (
    "uuid, website, distinct_id, browser, os, device, screen, language, country, region, city, created_at"
)
_INSERT_SESSION = f"INSERT INTO session ({_SESSION_COLUMNS}) VALUES ({', '.join('?' * 12)})"


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
            "mmap_size=1073741824",
        ):
            self._conn.execute(f"PRAGMA {pragma}")
        self._conn.executescript(_SCHEMA)
        self.create_indexes()
        self._website_keys: dict[str, int] = {}
        self._session_keys: dict[str, int] = {}
        self._lookups: dict[str, dict[object, int]] = {"event_name": {}, "page": {}, "props": {}}
        self._generation = 0  # bumped by every event write: cached counts older than this are stale
        self._counts: dict[tuple[str, tuple], tuple[int, int]] = {}
        self._parsed_props: dict[int, list] = {}
        self._names: dict[int, str] = {}

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
                key = self._insert_session(self._conn, session)
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

    def _insert_session(self, conn: sqlite3.Connection, s: NewSession) -> int:
        key = int(conn.execute(_INSERT_SESSION, _session_row(s)).lastrowid or 0)
        self._session_keys[s.id] = key
        return key

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
        return self._lookup("event_name", name, ("name",), (name,))

    def page_key(self, page: Sequence[str | None]) -> int:
        """The key of a page: (hostname, url_path, url_query, referrer_path, referrer_query,
        referrer_domain, page_title)."""
        values = tuple(page)
        return self._lookup("page", values, ("key", *PAGE_COLUMNS), (_json_key(values), *values))

    def property_sets(self, keys: Iterable[int]) -> dict[int, list]:
        """Parsed property sets by key (they never change once stored)."""
        cache = self._parsed_props
        wanted = set(keys)
        found = {k: cache[k] for k in wanted if k in cache}
        if len(found) < len(wanted):
            sql = "SELECT id, data FROM props WHERE id IN (SELECT value FROM json_each(?))"
            missing = json.dumps([k for k in wanted if k not in found])
            fetched = {key: json.loads(data) for key, data in self.query(sql, (missing,))}
            if len(cache) + len(fetched) > _CACHE_LIMIT:
                cache.clear()
            cache.update(fetched)
            found.update(fetched)
        return found

    def event_name(self, key: int | None) -> str | None:
        if key is None:
            return None
        if key not in self._names:
            self._names.update(self.query("SELECT id, name FROM event_name"))
        return self._names[key]

    def props_key(self, data: str) -> int:
        """The key of a property set (its JSON text)."""
        return self._lookup("props", data, ("data",), (data,))

    def props_keys(self, datas: list[str]) -> list[int]:
        """The keys of many property sets at once (the bulk fill's thousands of combinations)."""
        with self._lock:
            self._conn.executemany("INSERT OR IGNORE INTO props (data) VALUES (?)", [(d,) for d in datas])
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
        """Insert one event (a tuple in EVENT_COLUMNS order); returns its rowid."""
        with self._lock:
            self._generation += 1
            return int(self._conn.execute(_INSERT_EVENT, row).lastrowid or 0)

    def insert_events(self, conn: sqlite3.Connection, website: int, name: int | None, rows: Iterable[tuple]) -> None:
        """Insert many events of one website and name inside an open transaction; ``rows`` are
        (session, created_at, page, props)."""
        literal_name = "NULL" if name is None else int(name)  # constants as literals: fewer binds per row
        sql = f"INSERT INTO event ({EVENT_COLUMNS}) VALUES ({int(website)}, ?, ?, {literal_name}, ?, ?)"
        self._generation += 1
        conn.executemany(sql, rows)

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
    return (
        s.id, s.website, s.distinct_id, s.browser, s.os, s.device, s.screen, s.language, s.country, s.region,
        s.city, s.created_at,
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
