"""Running totals and rendered rows: every answer the store keeps totals for (``/sessions/{id}``,
``/events/stats``, ``/event-data/values``) equals what the events themselves give, after bulk fills,
sends into filled sessions and days, and a fill into days that already had events; list rows are
valid JSON with the values that were sent, whatever characters they hold.

The expected numbers are computed here from the events as ``/events`` and ``/event-data`` list them.
"""

from __future__ import annotations

import random
import sqlite3
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.umami_sim.helpers import Api
from umami_sim import FillSpec, UmamiSimulator
from umami_sim.store import OldStoreFile

DAY_MS = 86_400_000
END = "2026-11-20T00:00:00Z"
END_MS = int(datetime(2026, 11, 20, tzinfo=UTC).timestamp()) * 1000
START_MS = END_MS - 12 * DAY_MS  # the events lie in the 12 days before END (and the hour after)
EVERYTHING = {"startAt": str(START_MS - DAY_MS), "endAt": str(END_MS + DAY_MS)}


def _send(sim: UmamiSimulator, website: str, at_ms: int, user: str, name: str | None, data: dict | None) -> None:
    payload: dict[str, object] = {"website": website, "url": f"/c/{user}", "timestamp": at_ms // 1000, "id": user}
    if name:
        payload["name"] = name
    if data:
        payload["data"] = data
    status, _ = sim.send({"type": "event", "payload": payload})
    assert status == 200


def _sends(sim: UmamiSimulator, website: str, rng: random.Random, count: int) -> None:
    """Sends into the filled sessions (u-000000 …) and others, inside filled visits and days and after."""
    for _ in range(count):
        at = START_MS + rng.randrange(13 * DAY_MS) + rng.choice((0, 1_000, 59_000))
        user = f"u-{rng.randrange(40):06d}" if rng.random() < 0.8 else f"sender-{rng.randrange(5)}"
        name = rng.choice((None, "course_visit", "course_visit", "other"))
        data = {"shifu_bid": f"shifu-{rng.randrange(4):04d}", "n": rng.randrange(3)} if rng.random() < 0.7 else None
        _send(sim, website, at, user, name, data)


@pytest.fixture(scope="module")
def mixed() -> Iterator[tuple[UmamiSimulator, Api, list[str]]]:
    """Website A: a fill, then sends. Website B: sends, then a fill over the same days (recounted)."""
    with UmamiSimulator(seed=8) as sim:
        rng = random.Random(8)
        spec = FillSpec(events=6_000, days=12, end=END, users=40, guests=6, courses=4, outline_items=2,
                        tie_share=0.2, seed=3)  # fmt: skip
        first = sim.create_website("a")
        sim.bulk_fill(first, spec)
        _sends(sim, first, rng, 150)
        second = sim.create_website("b")
        _sends(sim, second, rng, 150)
        sim.bulk_fill(second, spec)
        _sends(sim, second, rng, 30)
        yield sim, Api(sim.base_url, token=sim.token()), [first, second]


def _all_events(api: Api, website: str) -> list[dict]:
    body = api.json(f"/websites/{website}/events", **EVERYTHING, pageSize="1000000")
    assert len(body["data"]) == body["count"]
    return body["data"]


def _hour(row: dict) -> str:
    return row["createdAt"][:13]


def _ms(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def test_sessions_have_their_lifetime_totals(mixed: tuple) -> None:
    _, api, websites = mixed
    for website in websites:
        by_session: defaultdict[str, list[dict]] = defaultdict(list)
        for row in _all_events(api, website):
            by_session[row["sessionId"]].append(row)
        for session, rows in by_session.items():
            visits: defaultdict[str, list[int]] = defaultdict(list)
            for row in rows:
                visits[_hour(row)].append(_ms(row["createdAt"]))
            expected = {
                "visits": len(visits),
                "views": str(sum(row["eventType"] == 1 for row in rows)),
                "events": str(sum(row["eventType"] == 2 for row in rows)),
                "totaltime": str(sum((max(times) - min(times)) // 1000 for times in visits.values())),
                "firstAt": min(row["createdAt"] for row in rows),
                "lastAt": max(row["createdAt"] for row in rows),
            }
            answer = api.json(f"/websites/{website}/sessions/{session}")
            assert {key: answer[key] for key in expected} == expected, session


def _ranges(rng: random.Random) -> Iterator[tuple[int, int]]:
    yield START_MS, END_MS - 1  # whole days
    yield START_MS - DAY_MS, END_MS + DAY_MS  # beyond the events
    yield START_MS + 3 * DAY_MS, START_MS + 4 * DAY_MS - 1  # one day
    for _ in range(12):
        start = START_MS + rng.randrange(-DAY_MS, 13 * DAY_MS)
        yield start, start + rng.choice((1, 3_600_000, DAY_MS - 1, DAY_MS, 2 * DAY_MS + 7, 5 * DAY_MS))


def test_event_stats_and_property_values_match_the_events(mixed: tuple) -> None:
    _, api, websites = mixed
    rng = random.Random(5)
    for website in websites:
        visits = _all_events(api, website)
        data = api.json(f"/websites/{website}/event-data", **EVERYTHING, event="course_visit", pageSize="1000000")
        properties = {row["eventId"]: row["eventProperties"] for row in data["data"]}
        for start, end in _ranges(rng):
            rows = [r for r in visits if start <= _ms(r["createdAt"]) <= end and r["eventName"] == "course_visit"]
            window = {"startAt": str(start), "endAt": str(end), "event": "course_visit"}
            stats = api.json(f"/websites/{website}/events/stats", **window)["data"]
            assert (stats["events"], stats["visitors"], stats["visits"], stats["uniqueEvents"]) == (
                len(rows),
                len({r["sessionId"] for r in rows}),
                len({(r["sessionId"], _hour(r)) for r in rows}),
                int(bool(rows)),
            ), (website, start, end)
            values = api.json(f"/websites/{website}/event-data/values", **window, propertyName="shifu_bid")
            shown = Counter(p["stringValue"] for r in rows for p in properties.get(r["id"], [])
                            if p["dataKey"] == "shifu_bid")  # fmt: skip
            assert {v["value"]: v["total"] for v in values} == dict(shown), (website, start, end)
            # the same answers without the day totals: a filter every event passes
            same = {**window, "hostname": "course.example.com,localhost"}
            assert api.json(f"/websites/{website}/events/stats", **same)["data"]["events"] == stats["events"]


def test_event_ids_are_uuid4_and_find_their_event(mixed: tuple) -> None:
    _, api, websites = mixed
    rows = _all_events(api, websites[0])
    ids = [row["id"] for row in rows]
    assert len(set(ids)) == len(ids)
    assert all(uuid.UUID(i).version == 4 and uuid.UUID(i).variant == uuid.RFC_4122 for i in ids)
    with_data = [row for row in rows if row["hasData"]][:20]
    for row in with_data:
        found = api.json(f"/websites/{websites[0]}/event-data/{row['id']}")
        assert found and {p["eventId"] for p in found} == {row["id"]}
        assert {p["createdAt"] for p in found} == {row["createdAt"]}
    assert api.json(f"/websites/{websites[0]}/event-data/{uuid.uuid4()}") == []
    assert api.json(f"/websites/{websites[1]}/event-data/{with_data[0]['id']}") == []  # another website's


def test_pages_cover_a_range_newest_first(mixed: tuple) -> None:
    _, api, websites = mixed
    path = f"/websites/{websites[0]}/events"
    whole = {**EVERYTHING, "event": "course_visit"}
    everything = api.json(path, **whole, pageSize="100000")["data"]
    seen: list[dict] = []
    page = 1
    while len(seen) < len(everything):
        body = api.json(path, **whole, page=str(page), pageSize="997")
        assert body["count"] == len(everything) and len(body["data"]) == min(997, len(everything) - len(seen))
        seen += body["data"]
        page += 1
    times = [row["createdAt"] for row in seen]
    assert times == sorted(times, reverse=True)
    assert Counter(times) == Counter(row["createdAt"] for row in everything)  # ties may swap rows, never times
    assert api.json(path, **whole, page=str(page), pageSize="997")["data"] == []


def test_rows_keep_any_characters(sim: UmamiSimulator, api: Api) -> None:
    website = sim.create_website()
    odd = 'quote " backslash \\ tab \t control \x01 \x1f percent %s %% %d unicode é 中文 🎓 </script>'
    at = END_MS - DAY_MS
    many = {f"key{i}": f"value {i} %s" for i in range(12)}  # more properties than printf takes at once
    for data in ({"text": odd, "ctl": "\x01", odd: 1}, many):
        payload = {"website": website, "url": "/c/x?q=" + odd.replace(" ", "%20"), "title": odd, "id": "u-odd",
                   "name": "course_visit", "timestamp": at // 1000, "data": data}  # fmt: skip
        assert sim.send({"type": "event", "payload": payload})[0] == 200
    window = {"startAt": str(at), "endAt": str(at), "event": "course_visit"}
    rows = api.json(f"/websites/{website}/events", **window)["data"]
    assert {row["pageTitle"] for row in rows} == {odd} and {row["createdAt"] for row in rows} == {
        "2026-11-19T00:00:00.000Z"
    }
    answers = {
        len(row["eventProperties"]): row["eventProperties"]
        for row in api.json(f"/websites/{website}/event-data", **window)["data"]
    }
    assert {p["dataKey"]: p["stringValue"] for p in answers[3]} == {"text": odd, "ctl": "\x01", odd: "1.0000"}
    assert {p["dataKey"]: p["stringValue"] for p in answers[12]} == many
    assert {p["createdAt"] for p in answers[3] + answers[12]} == {"2026-11-19T00:00:00.000Z"}


def test_times_before_1970_are_printed_and_counted(sim: UmamiSimulator, api: Api) -> None:
    website = sim.create_website()
    for seconds in (-3601, -1, 1, 59):  # 0 would mean now
        payload = {"website": website, "url": "/", "id": "u-old", "name": "old", "timestamp": seconds}
        assert sim.send({"type": "event", "payload": payload})[0] == 200
    rows = api.json(f"/websites/{website}/events", startAt="-100000000000", endAt="100000000", event="old")["data"]
    assert sorted(row["createdAt"] for row in rows) == [
        "1969-12-31T22:59:59.000Z", "1969-12-31T23:59:59.000Z", "1970-01-01T00:00:01.000Z", "1970-01-01T00:00:59.000Z",
    ]  # fmt: skip
    session = api.json(f"/websites/{website}/sessions/{rows[0]['sessionId']}")
    # visits group by SQL's integer division of the time by one hour: -1 s and 0 s share "hour 0"
    assert (session["visits"], session["events"], session["totaltime"]) == (2, "4", "60")


def test_a_store_file_of_another_version_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "old.sqlite"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    conn.execute("INSERT INTO meta VALUES ('secret', 'abc')")
    conn.commit()
    conn.close()
    with pytest.raises(OldStoreFile):
        UmamiSimulator(db_path=str(db))
