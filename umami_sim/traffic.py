"""Realistic ``/api/send`` traffic in the contract's dataset format.

``generate(TrafficSpec(...))`` returns ``{"reference_time", "send_headers", "payloads": [{"seq", "at",
"note", "body"}], …}`` like ``umami-contract/dataset.json``, so the contract's stdlib oracle
(``oracle.compute(dataset)``) computes the expected marts from it independently, and
``UmamiSimulator.send_dataset`` replays it. ``seq`` is the send order; late arrivals are sent last.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta

BROWSER_USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
)
PLACEHOLDER = "__WEBSITE_ID__"
GUEST_USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 "
    "Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 "
    "Safari/537.36 Edg/124.0.0.0",
)
ENTRY_TYPES = ("catalog", "deep_link", "resume", "pay_redirect")
PLAY_TYPES = ("puzzle", "match3d", "square-hole", "custom-world", "big-fish", "visual-novel")
_SHANGHAI = timedelta(hours=8)


@dataclass(frozen=True)
class TrafficSpec:
    seed: int = 0
    users: int = 30
    courses: int = 5
    days: int = 40
    reference_time: str = "2026-11-20T00:00:00Z"
    activity: float = 0.25  # chance that a user is active on a given day
    visits_per_active_day: float = 2.0
    repeat_share: float = 0.3  # chance that a visit repeats the user's previous course that day
    guests: int = 6
    guest_share: float = 0.15  # share of course visits made by guests (no payload.id)
    preview_share: float = 0.05
    late_arrivals: int = 4  # events sent last, with their original (past) timestamps
    ties: int = 6  # extra course visits sharing another visit's exact second
    odd_values: int = 3  # course visits with a numeric, empty or missing shifu_bid
    other_events: bool = True  # pageviews, daily_login, work_play_start
    identify: bool = True  # one identify (with session data) per user, before its first event


@dataclass
class _Event:
    t: int
    note: str
    body: dict


def generate(spec: TrafficSpec | None = None) -> dict:
    spec = spec or TrafficSpec()
    rng = random.Random(spec.seed)
    reference = datetime.strptime(spec.reference_time, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    ref_s = int(reference.timestamp())
    start_s = ref_s - spec.days * 86400
    users = [f"u-{i:04d}" for i in range(1, spec.users + 1)]
    courses = [f"shifu-c{i:02d}" for i in range(1, spec.courses + 1)]
    guests = {
        f"g{i}": {
            "ip": f"192.0.2.{10 + i}" if i < 240 else f"198.18.{i // 256}.{i % 256}",
            "userAgent": GUEST_USER_AGENTS[i % len(GUEST_USER_AGENTS)],
        }
        for i in range(1, spec.guests + 1)
    }
    maker = _Maker(rng, spec)
    events: list[_Event] = []
    logins: set[tuple[str, str]] = set()
    for day in range(spec.days):
        day_start = start_s + day * 86400
        for user in users:
            if rng.random() < spec.activity:
                events += maker.user_day(user, day_start, users, courses, logins)
    user_visits = sum(1 for e in events if e.body["payload"].get("name") == "course_visit")
    guest_visits = round(user_visits * spec.guest_share / (1 - spec.guest_share)) if spec.guests else 0
    for _ in range(guest_visits):
        name = rng.choice(list(guests))
        t = rng.randrange(start_s, ref_s)
        events += maker.guest_visit(guests[name], name, t, courses)
    visits = [e for e in events if e.body["payload"].get("name") == "course_visit"]
    for original in rng.sample(visits, min(spec.ties, len(visits))):
        other = rng.choice(users)
        events.append(maker.course_visit(other, original.t, rng.choice(courses), note="timestamp tie"))
    for _ in range(spec.odd_values):
        events.append(maker.odd_visit(rng.choice(users), rng.randrange(start_s, ref_s)))
    if spec.identify:
        first_seen: dict[str, int] = {}
        for e in events:
            uid = e.body["payload"].get("id")
            if uid:
                first_seen[uid] = min(first_seen.get(uid, e.t), e.t)
        events += [maker.identify(uid, max(start_s, t - 60)) for uid, t in first_seen.items()]
    events.sort(key=lambda e: e.t)
    visit_positions = [i for i, e in enumerate(events) if e.body["payload"].get("name") == "course_visit"]
    late = rng.sample(visit_positions, min(spec.late_arrivals, len(visit_positions)))
    late_set = set(late)
    order = [e for i, e in enumerate(events) if i not in late_set] + [events[i] for i in late]
    for i in late:
        events[i].note = (events[i].note + "; " if events[i].note else "") + "late arrival: sent last"
    payloads = [{"seq": seq, "at": _iso(e.t), "note": e.note, "body": e.body} for seq, e in enumerate(order, start=1)]
    return {
        "schema": "umami-contract-dataset/1",
        "description": "Generated by umami_sim.traffic; send in seq order after replacing __WEBSITE_ID__.",
        "reference_time": spec.reference_time,
        "reference_epoch_s": ref_s,
        "website_placeholder": PLACEHOLDER,
        "send_headers": {"Content-Type": "application/json", "User-Agent": BROWSER_USER_AGENT},
        "users": users,
        "courses": courses,
        "guests": guests,
        "generator": asdict(spec),
        "payloads": payloads,
    }


def prepared_payloads(dataset: dict, website_id: str) -> Iterator[tuple[int, dict]]:
    """(seq, body) in seq order, with the dataset's placeholder replaced by ``website_id``."""
    placeholder = dataset.get("website_placeholder", PLACEHOLDER)
    for item in sorted(dataset["payloads"], key=lambda p: p["seq"]):
        body = copy.deepcopy(item.get("body", item))
        payload = body.get("payload")
        if isinstance(payload, dict) and payload.get("website") == placeholder:
            payload["website"] = website_id
        yield item["seq"], body


def course_visit_body(website_id: str, distinct_id: str | None, shifu_bid: str, at_s: int, **data: object) -> dict:
    """One ``/api/send`` body: the learner frontend's ``course_visit`` of ``shifu_bid`` at Unix
    second ``at_s`` (``distinct_id`` None: a guest), not a preview unless ``data`` says so."""
    properties = {"shifu_bid": shifu_bid, "preview_mode": False, **data}
    payload = _page_payload(at_s, f"/c/{shifu_bid}", "Course", name="course_visit", data=properties, id=distinct_id)
    payload["website"] = website_id
    return {"type": "event", "payload": payload}


def _page_payload(t: int, url: str, title: str, **fields: object) -> dict:
    payload = {
        "website": PLACEHOLDER,
        "hostname": "course.example.com",
        "url": url,
        "language": "zh-CN",
        "screen": "1920x1080",
        "title": title,
    }
    payload.update({k: v for k, v in fields.items() if v is not None})
    payload["timestamp"] = t
    return payload


class _Maker:
    """Builds send bodies shaped like the contract dataset's."""

    def __init__(self, rng: random.Random, spec: TrafficSpec) -> None:
        self._rng = rng
        self._spec = spec

    def _payload(self, t: int, url: str, title: str, **fields: object) -> dict:
        return _page_payload(t, url, title, **fields)

    def course_visit(self, user: str | None, t: int, course: str, note: str = "", guest: dict | None = None) -> _Event:
        rng = self._rng
        outline = f"ol-{course.removeprefix('shifu-')}-{rng.randint(1, 8):02d}"
        preview = rng.random() < self._spec.preview_share
        data = {
            "shifu_bid": course,
            "outline_item_bid": outline,
            "entry_type": rng.choice(ENTRY_TYPES),
            "preview_mode": preview,
        }
        if preview:
            note = (note + "; " if note else "") + "preview"
        payload = self._payload(
            t, f"/c/{course}/{outline}", "Course", name="course_visit", data=data, id=user, **(guest or {})
        )
        return _Event(t, note, {"type": "event", "payload": payload})

    def user_day(
        self, user: str, day_start: int, users: list[str], courses: list[str], logins: set[tuple[str, str]]
    ) -> list[_Event]:
        rng, spec = self._rng, self._spec
        day_end = day_start + 86400
        t = day_start + rng.randrange(0, 86400 - 4 * 3600)
        out: list[_Event] = []
        if spec.other_events:
            shanghai_day = (datetime.fromtimestamp(t, UTC) + _SHANGHAI).date().isoformat()
            if (user, shanghai_day) not in logins:
                logins.add((user, shanghai_day))
                data = {"source": rng.choice(("app", "web"))} if rng.random() < 0.3 else None
                out.append(
                    _Event(
                        t,
                        "daily_login",
                        {
                            "type": "event",
                            "payload": self._payload(t, "/", "Home", name="daily_login", data=data, id=user),
                        },
                    )
                )
                t += rng.randint(5, 120)
            out.append(
                _Event(t, "pageview", {"type": "event", "payload": self._payload(t, "/catalog", "Page", id=user)})
            )
            t += rng.randint(5, 120)
        course = rng.choice(courses)
        for _ in range(max(1, round(rng.expovariate(1 / spec.visits_per_active_day)))):
            if t >= day_end:
                return out
            if rng.random() >= spec.repeat_share:
                course = rng.choice(courses)
            out.append(self.course_visit(user, t, course))
            t += rng.randint(60, 1800)
        if spec.other_events and t < day_end and rng.random() < 0.2:
            work = f"w-{rng.randint(1, 40):04d}"
            data = {"workId": work, "playType": rng.choice(PLAY_TYPES), "ownerUserId": rng.choice(users)}
            out.append(
                _Event(
                    t,
                    "work_play_start",
                    {
                        "type": "event",
                        "payload": self._payload(t, f"/w/{work}", "Work", name="work_play_start", data=data, id=user),
                    },
                )
            )
        return out

    def guest_visit(self, guest: dict, name: str, t: int, courses: list[str]) -> list[_Event]:
        course = self._rng.choice(courses)
        out = []
        if self._spec.other_events and self._rng.random() < 0.5:
            out.append(
                _Event(
                    t - 60,
                    f"guest {name} pageview",
                    {"type": "event", "payload": self._payload(t - 60, f"/c/{course}", "Page", **guest)},
                )
            )
        out.append(self.course_visit(None, t, course, note=f"guest {name}", guest=guest))
        return out

    def odd_visit(self, user: str, t: int) -> _Event:
        event = self.course_visit(user, t, "shifu-odd")
        data = event.body["payload"]["data"]
        kind = self._rng.choice(("numeric", "empty", "missing"))
        if kind == "missing":
            del data["shifu_bid"]
        else:
            data["shifu_bid"] = self._rng.randint(100, 999) if kind == "numeric" else ""
        event.note = f"{kind} shifu_bid: not counted"
        return event

    def identify(self, user: str, t: int) -> _Event:
        payload = self._payload(t, "/", "Home", data={"plan": self._rng.choice(("free", "pro"))}, id=user)
        del payload["title"]
        return _Event(t, "identify with session data", {"type": "identify", "payload": payload})


def _iso(t: int) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
