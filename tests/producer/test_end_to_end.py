"""End to end: the real module in Chromium, what its tracker calls send to Umami, `course-analytics run`.

A scripted day of learners (several users and courses, a guest, a creator preview, rerenders, a
reload, a second tab, a user switch, bad course ids) drives producer/course-visit.js in headless
Chromium over the recording tracker. Each page's recorded calls become the `/api/send` bodies
Umami's tracker would post (an `identify` sets the page's distinct id, later events carry it as
`payload.id`; a page load starts unidentified), at the step's time, to the Umami-compatible
server. One `course-analytics run` (load, dbt build, publish) later, the course marts must hold
exactly the visits the script says are countable: the `counts` column below is written by hand,
from the rules, not derived from what the browser sent.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from flows.warehouse import Warehouse
from tests.browser import StaticServer, wait_for
from umami_sim import UmamiSimulator
from umami_sim.client import JsonClient

ROOT = Path(__file__).resolve().parents[2]
CLI = str(Path(sys.executable).parent / "course-analytics")
AS_OF = "2026-11-19T23:59:59Z"
WINDOW = ("2026-10-21", "2026-11-19")  # the 30 UTC dates ending with the as-of date
HOSTNAME = "learn.example.com"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def visit(course: object, user: object, **more: Any) -> dict:
    """The props a course page passes to trackCourseVisit."""
    return {"shifuBid": course, "userBid": user, "isLearnerCourseRoute": True, **more}


@dataclass(frozen=True)
class Step:
    """One thing a learner does in one tab: ``open`` (the tab's first page load), ``reload``,
    ``render`` (the same page renders again) or ``navigate`` (in-page, to ``path``); after each,
    the page renders the course page with ``props``."""

    tab: str
    action: str
    path: str
    props: dict
    at: datetime
    counts: bool  # by the rules: is this a countable visit of (user, course)?
    note: str = ""


# fmt: off
SCRIPT = [
    # tab, action, path, the course page's props, time (UTC), countable?, why
    Step("A", "open", "/learn/shifu-a", visit("shifu-a", "u-alice", entryType="catalog"),
         at("2026-11-17T09:00:00"), True, "first visit"),
    Step("A", "render", "/learn/shifu-a", visit("shifu-a", "u-alice", entryType="catalog"),
         at("2026-11-17T09:00:05"), False, "a rerender"),
    Step("A", "navigate", "/learn/shifu-a/outline/o-2", visit("shifu-a", "u-alice", outlineItemBid="o-2"),
         at("2026-11-17T09:01:00"), False, "another outline item of the same course"),
    Step("A", "navigate", "/learn/shifu-b", visit("shifu-b", "u-alice", entryType="deep_link"),
         at("2026-11-17T09:10:00"), True, "another course"),
    Step("A", "reload", "/learn/shifu-b", visit("shifu-b", "u-alice"),
         at("2026-11-17T09:20:00"), False, "a reload keeps the tab session"),
    Step("A", "navigate", "/learn/shifu-c", visit("shifu-c", "u-alice", entryType="resume"),
         at("2026-11-17T09:30:00"), True, "after the reload: the tracker must be identified again"),
    Step("B", "open", "/learn/shifu-a", visit("shifu-a", "u-bob", previewMode=True),
         at("2026-11-17T10:00:00"), False, "creator preview"),
    Step("B", "render", "/learn/shifu-a", visit("shifu-a", "u-bob", previewMode=False),
         at("2026-11-17T10:05:00"), True, "out of preview"),
    Step("B", "navigate", "/learn/x", visit("", "u-bob"),
         at("2026-11-17T10:06:00"), False, "empty shifu_bid"),
    Step("B", "render", "/learn/x", visit(123, "u-bob"),
         at("2026-11-17T10:07:00"), False, "numeric shifu_bid"),
    Step("B", "navigate", "/learn/catalog", visit("shifu-b", "u-bob", isLearnerCourseRoute=False),
         at("2026-11-17T10:10:00"), False, "not a course page"),
    Step("B", "navigate", "/learn/shifu-a", visit("shifu-a", None),
         at("2026-11-17T10:20:00"), False, "bob logged out: a guest"),
    Step("B", "render", "/learn/shifu-a", visit("shifu-a", "u-dave"),
         at("2026-11-17T10:25:00"), True, "dave logged in, in the same tab: another visitor"),
    Step("C", "open", "/learn/shifu-a", visit("shifu-a", None),
         at("2026-11-17T11:00:00"), False, "a guest"),
    Step("D", "open", "/learn/shifu-b", visit("shifu-b", "carol@example.com"),
         at("2026-11-17T12:00:00"), False, "an e-mail address is no user_bid"),
    Step("D", "render", "/learn/shifu-b", visit("shifu-b", "u-carol", entryType="pay_redirect"),
         at("2026-11-17T12:01:00"), True, "carol's user_bid"),
    Step("E", "open", "/learn/shifu-a", visit("shifu-a", "u-alice"),
         at("2026-11-18T08:00:00"), True, "alice in a second tab"),
    Step("E", "navigate", "/learn/shifu-b", visit("shifu-b", "u-alice"),
         at("2026-11-18T08:05:00"), True, "and another course there"),
    Step("A", "render", "/learn/shifu-c", visit("shifu-a", "u-alice"),
         at("2026-11-18T08:10:00"), False, "the first tab saw shifu-a already"),
    Step("F", "open", "/learn/shifu-c", visit("shifu-c", "u-bob"),
         at("2026-11-19T23:59:00"), True, "bob, in the last minute of the window"),
    Step("G", "open", "/learn/shifu-d", visit("shifu-d", "u-erin"),
         at("2026-10-01T10:00:00"), True, "before the 30-day window"),
]
# fmt: on


@dataclass
class Recorded:
    """What the tracker was asked to do on one page load, with the time of each call."""

    page: int
    calls: list[tuple[datetime, dict]] = field(default_factory=list)


def drive(browser, site: StaticServer) -> list[Recorded]:
    """Play SCRIPT in the browser; returns every page load's tracker calls in order."""
    home = browser.current_window_handle
    tabs: dict[str, str] = {}
    pages: list[Recorded] = []
    current: dict[str, Recorded] = {}
    seen: dict[str, int] = {}
    try:
        for step in SCRIPT:
            if step.action == "open":
                assert step.tab not in tabs, step
                browser.switch_to.new_window("tab")
                tabs[step.tab] = browser.current_window_handle
            else:
                browser.switch_to.window(tabs[step.tab])
            if step.action in ("open", "reload"):
                if step.action == "open":
                    browser.get(site.url(step.path) + "?tracker=recording")
                else:
                    browser.refresh()
                wait_for(browser, "return document.body.dataset.ready === '1'")
                current[step.tab] = Recorded(page=len(pages))
                pages.append(current[step.tab])
                seen[step.tab] = 0
            if step.action == "navigate":
                browser.execute_script("history.pushState({}, '', arguments[0])", step.path)
            outcome = browser.execute_script("return window.app.visit(arguments[0])", step.props)
            assert outcome["sent"] == step.counts, (step, outcome)  # the module agrees with the script
            calls = browser.execute_script("return window.__umamiCalls")
            current[step.tab].calls += [(step.at, call) for call in calls[seen[step.tab] :]]
            seen[step.tab] = len(calls)
            assert browser.execute_script("return window.__errors") == []
        user_agent = browser.execute_script("return navigator.userAgent")
    finally:
        for handle in tabs.values():
            browser.switch_to.window(handle)
            browser.close()
        browser.switch_to.window(home)
    assert "HeadlessChrome" in user_agent
    return pages


def umami_bodies(pages: list[Recorded], website: str) -> list[dict]:
    """The `/api/send` bodies Umami's tracker posts for these calls: `identify(id)` sets the page's
    distinct id, and every later body of that page carries it as `payload.id`."""
    bodies = []
    for page in pages:
        identity: str | None = None  # the tracker keeps it in a variable: each page load starts without
        for when, call in page.calls:
            payload: dict[str, Any] = {
                "website": website,
                "hostname": HOSTNAME,
                "url": call["url"],
                "language": "en-US",
                "screen": "1280x900",
                "timestamp": int(when.timestamp()),
            }
            name, args = call["name"], call["args"]
            if name == "identify":
                assert isinstance(args[0], str), call
                identity = args[0]
                kind = "identify"
            else:
                assert name == "track" and isinstance(args[0], str) and isinstance(args[1], dict), call
                kind = "event"
                payload |= {"name": args[0], "data": args[1]}
            if identity is not None:
                payload["id"] = identity
            bodies.append({"type": kind, "payload": payload})
    return bodies


@dataclass
class Run:
    warehouse: Warehouse
    bodies: list[dict]


@pytest.fixture(scope="module")
def run(browser, site: StaticServer, database_factory_module, tmp_path_factory) -> Run:
    pages = drive(browser, site)
    user_agent = browser.execute_script("return navigator.userAgent").replace("HeadlessChrome", "Chrome")
    warehouse = database_factory_module("producer_e2e")
    home = tmp_path_factory.mktemp("producer-e2e-home")
    with UmamiSimulator() as sim:
        website = sim.create_website("learner-frontend", HOSTNAME)
        bodies = umami_bodies(pages, website)
        with JsonClient(sim.root_url) as client:
            for body in bodies:
                # Umami drops a headless browser as a bot: send as the learner's Chrome would.
                status, answer = client.post("/api/send", body, {"User-Agent": user_agent})
                assert status == 200 and "sessionId" in answer, (body, status, answer)
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("UMAMI_")},
            "UMAMI_API_URL": sim.base_url,
            "UMAMI_WEBSITE_ID": website,
            "UMAMI_USERNAME": sim.username,
            "UMAMI_PASSWORD": sim.password,
            "WAREHOUSE_DSN": warehouse.dsn,
            "COURSE_ANALYTICS_HOME": str(home),
            # this checkout's code and dbt project, whichever checkout the venv was installed from
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        }
        result = subprocess.run(
            [CLI, "run", "--as-of", AS_OF], env=env, capture_output=True, text=True, timeout=600, cwd="/"
        )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    assert "synced up to 2026-11-19T23:59:59+00:00" in result.stdout
    return Run(warehouse, bodies)


def _rows(warehouse: Warehouse, query: str) -> list[tuple]:
    with warehouse.connect() as conn, conn.cursor() as cur:
        cur.execute(query)
        return cur.fetchall()


def countable() -> list[Step]:
    return [step for step in SCRIPT if step.counts]


def test_the_script_covers_what_it_claims() -> None:
    """The scripted sequence itself (no browser): every rule has a step that it forbids."""
    forbidden = [step for step in SCRIPT if not step.counts]
    assert {step.action for step in forbidden} >= {"render", "navigate", "reload"}
    assert any(step.props["userBid"] is None for step in forbidden)
    assert any(step.props.get("previewMode") for step in forbidden)
    assert any(not step.props["isLearnerCourseRoute"] for step in forbidden)
    assert any(not isinstance(step.props["shifuBid"], str) or not step.props["shifuBid"] for step in forbidden)
    assert len(countable()) == 10


def test_only_the_allowed_visits_were_sent(run: Run) -> None:
    events = [body["payload"] for body in run.bodies if body["type"] == "event"]
    assert len(events) == len(countable())
    assert all("id" in payload and "preview_mode" not in payload["data"] for payload in events)
    # one identify per page load that sent something, plus one per user switch in a page
    assert sum(body["type"] == "identify" for body in run.bodies) == 8


def test_daily_stats_count_exactly_the_allowed_visits(run: Run) -> None:
    visits: Counter[tuple[str, str]] = Counter()
    visitors: defaultdict[tuple[str, str], set[str]] = defaultdict(set)
    for step in countable():
        key = (step.at.date().isoformat(), step.props["shifuBid"])
        visits[key] += 1
        visitors[key].add(step.props["userBid"])
    want = sorted((day, course, visits[day, course], len(visitors[day, course]), "umami") for day, course in visits)
    got = _rows(
        run.warehouse,
        "select stat_date::text, shifu_bid, visit_count, visitor_count, source "
        "from analytics.analytics_course_daily_stats order by 1, 2",
    )
    assert got == want


def test_window_stats_count_distinct_visitors_over_30_days(run: Run) -> None:
    start, end = (date.fromisoformat(d) for d in WINDOW)
    courses = {step.props["shifuBid"] for step in countable()}
    in_window = [step for step in countable() if start <= step.at.date() <= end]
    want = sorted(
        (
            course,
            len({s.props["userBid"] for s in in_window if s.props["shifuBid"] == course}),
            sum(s.props["shifuBid"] == course for s in in_window),
            *WINDOW,
        )
        for course in courses
    )
    assert want == [  # the same, worked out by hand
        ("shifu-a", 3, 4, *WINDOW),  # alice twice (two tabs), bob (after his preview), dave (after bob, same tab)
        ("shifu-b", 2, 3, *WINDOW),  # alice twice, carol
        ("shifu-c", 2, 2, *WINDOW),  # alice after the reload, bob
        ("shifu-d", 0, 0, *WINDOW),  # erin, before the window
    ]
    got = _rows(
        run.warehouse,
        "select shifu_bid, visitor_count, visit_count, window_start_date::text, window_end_date::text "
        "from analytics.analytics_course_window_stats where window_type = 'last_30_days' order by 1",
    )
    assert got == want


def test_every_loaded_course_visit_is_countable(run: Run) -> None:
    classes = dict(
        _rows(
            run.warehouse, "select visit_class, count(*) from analytics_build.int_course_visits_classified group by 1"
        )
    )
    assert classes == {"countable": len(countable())}
    facts = _rows(
        run.warehouse,
        "select user_id, scope_id, metadata_json ->> 'entry_type', metadata_json ->> 'outline_item_bid', "
        "metadata_json ? 'preview_mode' from analytics.tracking_event where event_key = 'course_visit'",
    )
    assert Counter(facts) == Counter(
        (s.props["userBid"], s.props["shifuBid"], s.props.get("entryType"), s.props.get("outlineItemBid"), False)
        for s in countable()
    )
