"""Bulk fill: millions of synthetic ``course_visit`` events straight into SQLite (not via /api/send).

Events carry the real property set (``shifu_bid``, ``outline_item_bid``, ``entry_type``,
``preview_mode``) stored exactly as a send would store them, belong to identified sessions (one per
user) and guest sessions (per guest and UTC month, as Umami keys them), and include timestamp ties.
The result holds the exact numbers to expect: per course, per UTC day, and the oracle-style
``daily_utc`` / ``window_30d_utc`` marts (countable = identified, not preview; every bulk
``shifu_bid`` is a non-empty string).
"""

from __future__ import annotations

import json
import random
import time
from array import array
from bisect import bisect_left
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import TYPE_CHECKING

from . import properties, urls
from .store import NewSession
from .traffic import BROWSER_USER_AGENT, ENTRY_TYPES, GUEST_USER_AGENTS
from .useragent import client_info

if TYPE_CHECKING:
    from .app import App

HOSTNAME = "course.example.com"


@dataclass(frozen=True)
class FillSpec:
    events: int = 100_000
    days: int = 30
    end: str = "2026-11-20T00:00:00Z"  # exclusive end of the filled range, a UTC midnight
    users: int = 5_000
    guests: int = 500
    courses: int = 100
    outline_items: int = 10
    guest_share: float = 0.1
    preview_share: float = 0.05
    tie_share: float = 0.05  # chance that an event repeats the previous event's second
    seed: int = 0


@dataclass
class BulkFillResult:
    website_id: str
    events: int
    sessions: int  # sessions that got at least one event
    seconds: float
    start_ms: int
    end_ms: int  # inclusive
    reference_time: str  # = spec.end, the oracle's reference_time
    guest_events: int
    preview_events: int
    per_course_events: dict[str, int]  # every event, by shifu_bid (Umami's /event-data/values)
    events_per_day: dict[str, int]  # every event, by UTC date
    daily_utc: list[dict[str, object]]  # countable visits, oracle format
    window_30d_utc: dict[str, object]  # oracle format

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


def fill(app: App, website_id: str, spec: FillSpec | None = None) -> BulkFillResult:
    spec = spec or FillSpec()
    started = time.perf_counter()
    store = app.store
    website = store.website_key(website_id)
    if website is None:
        raise ValueError(f"unknown website {website_id}")
    end = datetime.strptime(spec.end, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    if end.hour or end.minute or end.second:
        raise ValueError("FillSpec.end must be a UTC midnight")
    end_s = int(end.timestamp())
    start_s = end_s - spec.days * 86400
    if start_s < 0:
        raise ValueError("a bulk fill starts in 1970 or later")
    rng = random.Random(spec.seed)
    months = sorted({_month(start_s + d * 86400) for d in range(spec.days)})
    users = [_user_session(app, website_id, website, i, start_s) for i in range(spec.users)]
    guests = [[_guest_session(app, website_id, website, g, m, start_s) for m in months] for g in range(spec.guests)]
    templates = _templates(app, spec)
    pages, props = [t.page for t in templates], [t.props for t in templates]
    name = store.name_key("course_visit")
    tally = _Tally(spec, start_s, templates)
    rebuild = spec.events >= store.event_count() // 2
    overlap = store.has_events(website, start_s * 1000, end_s * 1000 - 1)
    with store.transaction() as conn:
        keys = store.insert_sessions(conn, [*users, *(s for per_guest in guests for s in per_guest)])
        # "who" 0 … users-1 are the users, users … users+guests-1 the guests (with their month's session)
        user_keys = [keys[s.id] for s in users]
        sessions_by_month = [user_keys + [keys[g[m].id] for g in guests] for m in range(len(months))]
        totals = _Totals(website, name)
        if rebuild:
            store.drop_indexes(conn)
        n_users, n_guests, n_templates = spec.users, spec.guests, len(templates)
        guest_below = int((spec.guest_share if n_guests else 0.0) * 2**32)  # a draw below this is a guest
        for day in range(spec.days):
            day_start = start_s + day * 86400
            count = spec.events // spec.days + (1 if day < spec.events % spec.days else 0)
            seconds = sorted([x % 86400 for x in _draws(rng, count)])
            for i in [x % (count - 1) for x in _draws(rng, int((count - 1) * spec.tie_share))]:
                seconds[i + 1] = seconds[i]  # a tie with the previous event
            picks = [x % n_templates for x in _draws(rng, count)]
            who = [n_users + x % n_guests if x < guest_below else x % n_users for x in _draws(rng, count)]
            by_who = sessions_by_month[months.index(_month(day_start))]
            sessions = [by_who[w] for w in who]
            used = [props[p] for p in picks]
            # the time is SQL arithmetic on the second of the day: small integers bind faster
            columns = (sessions, seconds, [pages[p] for p in picks], used)
            store.insert_events(conn, website, name, columns, created_at=f"{day_start * 1000} + 1000 * ?")
            tally.add_day(day, picks, who)
            totals.add_day(day_start, sessions, seconds, used)
        if rebuild:
            store.create_indexes(conn)
        if overlap:  # days that already had events: their totals are not a sum
            store.recount(conn, website)
        else:
            store.add_totals(conn, totals.sessions(), totals.days)
    return BulkFillResult(
        website_id=website_id,
        events=spec.events,
        sessions=totals.count,
        seconds=time.perf_counter() - started,
        start_ms=start_s * 1000,
        end_ms=end_s * 1000 - 1,
        reference_time=spec.end,
        guest_events=tally.guest_events,
        preview_events=tally.preview_events,
        per_course_events={_bid(c): n for c, n in sorted(tally.per_course.items())},
        events_per_day=tally.per_day,
        daily_utc=tally.daily,
        window_30d_utc=tally.window(end_s),
    )


@dataclass(frozen=True)
class _Template:
    """One property combination of the fill: its page and property set, course and preview mode."""

    page: int
    props: int
    course: int
    preview: bool


class _Totals:
    """The store's running totals of the filled events (see ``Store.add_totals``), day by day; the
    times are whole seconds, so a visit's time is its last second minus its first."""

    def __init__(self, website: int, name: int) -> None:
        self._website, self._name = website, name
        self._events: Counter[int] = Counter()
        self._visits: Counter[int] = Counter()
        self._time: Counter[int] = Counter()
        self._first: dict[int, int] = {}  # session -> epoch second
        self._latest: list[tuple[int, dict[int, int]]] = []  # (day start, session -> its last second that day)
        self.days: list[tuple] = []  # day_total rows

    @property
    def count(self) -> int:
        """Sessions with events."""
        return len(self._events)

    def add_day(self, day_start: int, sessions: list[int], seconds: list[int], props: list[int]) -> None:
        """One day of events (``seconds`` ascending), an hour at a time: a visit is a session's hour."""
        visits = 0
        spent = self._time
        bounds = [bisect_left(seconds, hour * 3600) for hour in range(25)]
        for start, end in pairwise(bounds):
            who, when = sessions[start:end], seconds[start:end]
            events = Counter(who)
            visits += len(events)
            self._visits.update(events.keys())
            several = [s for s, n in events.items() if n > 1]  # one event: no time spent
            if several:
                last = dict(zip(who, when, strict=True))
                first = dict(zip(reversed(who), reversed(when), strict=True))
                for s in several:
                    spent[s] += last[s] - first[s]
        self._events.update(sessions)
        latest = dict(zip(sessions, seconds, strict=True))
        self._latest.append((day_start, latest))
        new = latest.keys() - self._first.keys()
        if new:
            earliest = dict(zip(reversed(sessions), reversed(seconds), strict=True))
            self._first.update((s, day_start + earliest[s]) for s in new)
        day = (self._website, self._name, day_start // 86400, len(sessions), visits)
        self.days.append((*day, json.dumps(list(latest)), json.dumps(Counter(props))))

    def sessions(self) -> list[tuple]:
        """The session_total rows: lifetime totals (custom events only: no views)."""
        last: dict[int, int] = {}
        for day_start, latest in reversed(self._latest):
            last.update((s, day_start + latest[s]) for s in latest.keys() - last.keys())
        return [
            (s, 0, n, self._visits[s], self._time[s], self._first[s] * 1000, last[s] * 1000)
            for s, n in self._events.items()
        ]


class _Tally:
    """The expected numbers, accumulated day by day."""

    def __init__(self, spec: FillSpec, start_s: int, templates: list[_Template]) -> None:
        self.start_s = start_s
        self.users = spec.users
        self.first_window_day = spec.days - 30
        self.kind = [t.course * 2 + t.preview for t in templates]  # course and preview in one small int
        # countable visits (a user, not a preview) as course * users + user: ints hash faster than pairs
        self.counted = [-1 if t.preview else t.course * spec.users for t in templates]
        self.per_course: Counter[int] = Counter()
        self.per_day: dict[str, int] = {}
        self.daily: list[dict[str, object]] = []
        self.guest_events = self.preview_events = 0
        self.seen: set[int] = set()  # courses with a countable visit
        self.window_visits: Counter[int] = Counter()
        self.window_pairs: set[int] = set()  # course * users + user, in the 30-day window

    def add_day(self, day: int, picks: list[int], who: list[int]) -> None:
        """One day: the template and the user (or guest) of every event."""
        date = _date(self.start_s + day * 86400)
        self.per_day[date] = len(picks)
        users, kind = self.users, self.kind
        for both, n in Counter([kind[p] for p in picks]).items():
            self.per_course[both // 2] += n
            self.preview_events += n * (both % 2)
        self.guest_events += len(who) - sum([w < users for w in who])
        counted = self.counted
        countable = [counted[p] + w for p, w in zip(picks, who, strict=True) if w < users and counted[p] >= 0]
        visits = Counter([pair // users for pair in countable])
        pairs = set(countable)
        visitors = Counter([pair // users for pair in pairs])
        self.daily += [
            {"stat_date": date, "shifu_bid": _bid(c), "visit_count": visits[c], "visitor_count": visitors[c]}
            for c in sorted(visits)
        ]
        self.seen.update(visits)
        if day >= self.first_window_day:
            self.window_visits.update(visits)
            self.window_pairs |= pairs

    def window(self, end_s: int) -> dict[str, object]:
        """The oracle's window_30d_utc (reference time = the end of the fill)."""
        ref_date = datetime.fromtimestamp(end_s, UTC).date()
        start = datetime.combine(ref_date - timedelta(days=30), datetime.min.time(), UTC)
        visitors = Counter(map(self.users.__rfloordiv__, self.window_pairs))
        return {
            "start_date": (ref_date - timedelta(days=30)).isoformat(),
            "end_date": (ref_date - timedelta(days=1)).isoformat(),
            "as_of_date": (ref_date - timedelta(days=1)).isoformat(),
            "start_ms": int(start.timestamp()) * 1000,
            "end_ms_inclusive": end_s * 1000 - 1,
            "rows": [
                {"shifu_bid": _bid(c), "visitor_count": visitors[c], "visit_count": self.window_visits[c]}
                for c in sorted(self.window_visits)
            ],
            "all_courses": {
                "visitor_count": len(set(map(self.users.__rmod__, self.window_pairs))),
                "visit_count": self.window_visits.total(),
            },
            "zero_rows": [
                {"shifu_bid": _bid(c), "visitor_count": 0, "visit_count": 0}
                for c in sorted(self.seen - set(self.window_visits))
            ],
        }


def _draws(rng: random.Random, count: int) -> array:
    """``count`` uniform 32-bit random integers (far cheaper than ``count`` calls to ``random()``)."""
    draws = array("I")
    draws.frombytes(rng.randbytes(draws.itemsize * count))
    return draws


def _month(epoch_s: int) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).strftime("%Y-%m")


def _bid(course: int) -> str:
    return f"shifu-{course:04d}"


def _date(epoch_s: int) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).date().isoformat()


def _templates(app: App, spec: FillSpec) -> list[_Template]:
    """Every property combination; non-preview combinations repeat so that a uniform pick is a preview
    with probability ``preview_share``."""
    combos: list[tuple[int, int, bool]] = []
    sets: list[list[properties.Property]] = []
    entries = [properties.encode("entry_type", entry) for entry in ENTRY_TYPES]  # encoded as a send would
    modes = [properties.encode("preview_mode", preview) for preview in (False, True)]
    for course in range(spec.courses):
        shifu_bid = properties.encode("shifu_bid", _bid(course))
        for outline in range(spec.outline_items):
            outline_bid = f"ol-{course:04d}-{outline:02d}"
            page = app.store.page_key(urls.page(HOSTNAME, f"/c/{_bid(course)}/{outline_bid}", None, "Course"))
            outline_row = properties.encode("outline_item_bid", outline_bid)
            for entry in entries:
                for preview, mode in enumerate(modes):
                    sets.append([shifu_bid, outline_row, entry, mode])
                    combos.append((page, course, bool(preview)))
    made = [_Template(page, props, course, preview)
            for (page, course, preview), props in zip(combos, app.store.props_keys(sets), strict=True)]  # fmt: skip
    plain = [t for t in made if not t.preview]
    previews = [t for t in made if t.preview]
    share = spec.preview_share
    if share <= 0:
        return plain
    if share >= 1:
        return previews
    return plain * max(1, round((1 - share) / share)) + previews


def _user_session(app: App, website_id: str, website: int, index: int, start_s: int) -> NewSession:
    distinct_id = f"u-{index:06d}"
    user_agent = BROWSER_USER_AGENT if index % 3 else GUEST_USER_AGENTS[index % len(GUEST_USER_AGENTS)]
    screen = "1920x1080"
    browser, system, device = client_info(user_agent, screen)
    return NewSession(
        app.ids.identified_session(website_id, distinct_id),
        website,
        distinct_id,
        browser,
        system,
        device,
        screen,
        "zh-CN",
        start_s * 1000,
    )


def _guest_session(app: App, website_id: str, website: int, index: int, month: str, start_s: int) -> NewSession:
    ip = f"198.18.{index // 256}.{index % 256}"
    user_agent = GUEST_USER_AGENTS[index % len(GUEST_USER_AGENTS)]
    browser, system, device = client_info(user_agent, "390x844")
    return NewSession(
        app.ids.guest_session(website_id, ip, user_agent, month),
        website,
        None,
        browser,
        system,
        device,
        "390x844",
        "zh-CN",
        start_s * 1000,
    )
