"""An independent oracle: the expected raw rows and marts, computed from /api/send payloads alone.

It never reads Umami's answers, the loader or dbt. It follows the counting rules of docs/analysts.md
("What counts") and the contract's storage facts (tests/data/umami-contract/CAPTURE-NOTES.md, "How data
values are stored"). Datasets have the shape of
``tests/data/umami-contract/dataset.json``: ``{"reference_time", "payloads": [{"seq", "body"}]}``.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

CONTRACT_DIR = Path(__file__).resolve().parent / "data" / "umami-contract"
COURSE_EVENT = "course_visit"
# expected.json's names of why a visit does not count -> the warehouse's visit_class (docs/analysts.md)
EXPECTED_REASONS = {
    "guest": "guest",
    "preview": "preview",
    "no_shifu_bid": "missing_shifu_bid",
    "shifu_bid_not_a_string": "shifu_bid_not_a_string",
    "empty_shifu_bid": "empty_shifu_bid",
}


def load_json(name: str) -> Any:
    return json.loads((CONTRACT_DIR / name).read_text(encoding="utf-8"))


# -- how Umami stores a JSON value (CAPTURE-NOTES.md, "How data values are stored") ---------------
def stored_property(value: Any) -> tuple[int, str]:
    """(dataType, stringValue) Umami v3 keeps for a JSON property value (not nested objects)."""
    if isinstance(value, bool):
        return 3, "true" if value else "false"
    if isinstance(value, int | float):
        return 2, f"{value:.4f}"
    if value is None or isinstance(value, list):
        return 5, json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    if isinstance(value, str) and len(value) == 24 and value.endswith("Z") and value[19] == ".":
        return 4, value  # an ISO instant with milliseconds becomes a date
    return 1, value


def flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


@dataclass(frozen=True)
class SentEvent:
    name: str
    at: datetime
    user: str | None  # payload.id; None for guests
    url: str
    properties: frozenset[tuple[str, int, str]]  # (key, dataType, stringValue)

    @property
    def props(self) -> dict[str, tuple[int, str]]:
        return {k: (t, v) for k, t, v in self.properties}


def sent_events(dataset: dict, until: datetime | None = None, names: set[str] | None = None) -> list[SentEvent]:
    """Every custom event of the dataset (optionally only ``names``, at or before ``until``)."""
    events = []
    for item in dataset["payloads"]:
        body = item.get("body", item)
        payload = body["payload"]
        name = payload.get("name")
        if body.get("type") != "event" or not name:
            continue
        if names is not None and name not in names:
            continue
        at = datetime.fromtimestamp(payload["timestamp"], UTC)
        if until is not None and at > until:
            continue
        props = frozenset((k, *stored_property(v)) for k, v in flatten(payload.get("data") or {}).items())
        user = payload.get("id") or None
        url = payload.get("url", "").split("?", 1)[0]
        events.append(SentEvent(name, at, user, url, props))
    return events


# -- the course marts --------------------------------------------------------------------------------
def classify(event: SentEvent) -> str:
    """'countable' or the one reason a course_visit does not count (docs/analysts.md, "What counts")."""
    props = event.props
    if not event.user:
        return "guest"
    if "preview_mode" in props and props["preview_mode"][1] == "true":
        return "preview"
    if "shifu_bid" not in props:
        return "missing_shifu_bid"
    data_type, value = props["shifu_bid"]
    if data_type != 1:
        return "shifu_bid_not_a_string"
    if value == "":
        return "empty_shifu_bid"
    return "countable"


@dataclass(frozen=True)
class CourseMarts:
    classes: dict[str, int]
    daily: dict[tuple[date, str], tuple[int, int]]  # (stat_date, shifu_bid) -> (visits, visitors)
    windows: dict[tuple[str, str], tuple[int, int]]  # (window_type, shifu_bid) -> (visitors, visits)


WINDOWS = {"last_7_days": 7, "last_30_days": 30, "last_90_days": 90}


def course_marts(dataset: dict, as_of: datetime) -> CourseMarts:
    visits = sent_events(dataset, until=as_of, names={COURSE_EVENT})
    classes = Counter(classify(e) for e in visits)
    countable = [e for e in visits if classify(e) == "countable"]
    per_day: dict[tuple[date, str], list[str]] = defaultdict(list)
    for e in countable:
        per_day[(e.at.date(), e.props["shifu_bid"][1])].append(e.user)
    daily = {key: (len(users), len(set(users))) for key, users in per_day.items()}
    courses = {e.props["shifu_bid"][1] for e in countable}
    windows: dict[tuple[str, str], tuple[int, int]] = {}
    for window_type, days in WINDOWS.items():
        first = as_of.date() - timedelta(days=days - 1)
        for course in courses:
            users = [e.user for e in countable if e.props["shifu_bid"][1] == course and e.at.date() >= first]
            windows[(window_type, course)] = (len(set(users)), len(users))
    return CourseMarts(dict(classes), daily, windows)


# -- what Umami's own aggregates say (all course_visit events: guests, previews, odd values) -------
@dataclass(frozen=True)
class UmamiFigures:
    events: int
    visitors: int  # distinct Umami sessions
    visits: int  # distinct (session, UTC hour)
    identified_events: int
    identified_visitors: int


def _session_key(payload: dict, at: datetime) -> tuple:
    """Umami's session: the distinct id, or (ip, user agent, UTC month) for a guest."""
    if payload.get("id"):
        return ("user", payload["id"])
    return ("guest", payload.get("ip"), payload.get("userAgent"), at.strftime("%Y-%m"))


def umami_figures(dataset: dict, start: datetime, end: datetime, name: str = COURSE_EVENT) -> UmamiFigures:
    """Umami's /events/stats for ``name`` over the inclusive range [start, end]."""
    rows = []
    for item in dataset["payloads"]:
        body = item.get("body", item)
        payload = body["payload"]
        if body.get("type") != "event" or payload.get("name") != name:
            continue
        at = datetime.fromtimestamp(payload["timestamp"], UTC)
        if start <= at <= end:
            rows.append((_session_key(payload, at), at))
    sessions = {key for key, _ in rows}
    return UmamiFigures(
        events=len(rows),
        visitors=len(sessions),
        visits=len({(key, at.replace(minute=0, second=0)) for key, at in rows}),
        identified_events=sum(1 for key, _ in rows if key[0] == "user"),
        identified_visitors=sum(1 for key in sessions if key[0] == "user"),
    )


def umami_values(dataset: dict, start: datetime, end: datetime, key: str = "shifu_bid") -> Counter:
    """Umami's /event-data/values for course_visit: events per shown value (numbers lose .0000)."""
    values: Counter = Counter()
    for event in sent_events(dataset, until=end, names={COURSE_EVENT}):
        if event.at < start or key not in event.props:
            continue
        data_type, value = event.props[key]
        values[value.removesuffix(".0000") if data_type == 2 else value] += 1
    return values
