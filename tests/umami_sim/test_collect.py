"""Collection beyond the captures: batch, identify, property encodings, filters, persistence."""

from __future__ import annotations

import time
from pathlib import Path

import requests

from tests.umami_sim.helpers import BROWSER_UA, Api
from umami_sim import UmamiSimulator

T = 1794000000  # 2026-11-09T21:20:00Z
DAY = {"startAt": str((T - 86400) * 1000), "endAt": str((T + 86400) * 1000)}


def _event(website: str, **payload: object) -> dict:
    return {"type": "event", "payload": {"website": website, "url": "/c/x", "timestamp": T, **payload}}


def test_batch_counts_bot_drops_as_processed(sim: UmamiSimulator, api: Api) -> None:
    website = sim.create_website()
    items = [
        _event(website, name="course_visit", id="u-1"),
        _event(website, name="x" * 51, id="u-1"),
        _event(
            website,
            name="course_visit",
            id="u-2",
            userAgent="Googlebot/2.1 (+http://www.google.com/bot.html)",
        ),
        _event(website, name="course_visit", id="u-3"),
    ]
    answer = requests.post(f"{sim.root_url}/api/batch", json=items, headers={"User-Agent": BROWSER_UA}, timeout=5)
    body = answer.json()
    assert answer.status_code == 200
    assert (body["size"], body["processed"], body["errors"]) == (4, 3, 1)
    assert body["details"][0]["index"] == 1 and body["details"][0]["response"]["error"]["status"] == 400
    assert api.json(f"/websites/{website}/events", **DAY)["count"] == 2
    not_a_list = requests.post(f"{sim.root_url}/api/batch", json={"a": 1}, headers={"User-Agent": BROWSER_UA})
    assert not_a_list.status_code == 400


def test_identify_sets_the_distinct_id_and_session_properties(sim: UmamiSimulator, api: Api) -> None:
    website = sim.create_website()
    identify = {"type": "identify", "payload": {"website": website, "id": "u-9", "timestamp": T,
                                                "data": {"plan": "free", "seats": 3}}}  # fmt: skip
    status, first = sim.send(identify)
    assert status == 200
    assert api.json(f"/websites/{website}/events", **DAY)["count"] == 0  # no event row
    assert api.json(f"/websites/{website}/sessions/{first['sessionId']}") == {}  # a session without events
    identify["payload"]["data"] = {"plan": "pro"}
    identify["payload"]["timestamp"] = T + 10
    assert sim.send(identify)[1]["sessionId"] == first["sessionId"]
    status, sent = sim.send(_event(website, name="course_visit", id="u-9"))
    assert sent["sessionId"] == first["sessionId"]
    session = api.json(f"/websites/{website}/sessions/{first['sessionId']}")
    assert session["distinctId"] == "u-9" and session["events"] == "1"
    properties = api.json(f"/websites/{website}/sessions/{first['sessionId']}/properties")
    assert [(p["dataKey"], p["stringValue"], p["numberValue"], p["dataType"]) for p in properties] == [
        ("seats", "3.0000", "3", 2),
        ("plan", "pro", None, 1),
    ]


def test_property_encodings(sim: UmamiSimulator, api: Api) -> None:
    website = sim.create_website()
    data = {"price": 1.23456, "neg": -2.5, "big": 12345678901234, "when": "2026-11-01T08:00:00.123+08:00",
            "deep": {"a": {"b": [1, 2.0, {"c": None}]}}, "empty": {}, "emoji": "学🎓"}  # fmt: skip
    status, _ = sim.send(_event(website, name="props", data=data))
    assert status == 200
    event = api.json(f"/websites/{website}/events", **DAY)["data"][0]
    rows = {r["dataKey"]: r for r in api.json(f"/websites/{website}/event-data/{event['id']}")}
    assert list(rows) == ["price", "neg", "big", "when", "deep.a.b", "emoji"]
    assert (rows["price"]["stringValue"], rows["price"]["numberValue"]) == ("1.2346", "1.2346")
    assert (rows["neg"]["stringValue"], rows["neg"]["numberValue"]) == ("-2.5000", "-2.5")
    assert rows["big"]["numberValue"] == "12345678901234"
    assert rows["when"]["dataType"] == 4 and rows["when"]["dateValue"] == "2026-11-01T00:00:00.123Z"
    assert (rows["deep.a.b"]["dataType"], rows["deep.a.b"]["stringValue"]) == (5, '[1,2,{"c":null}]')
    assert rows["emoji"]["stringValue"] == "学🎓"
    too_big = sim.send(_event(website, name="props", data={"n": 1e16}))
    assert too_big[0] == 500
    values = api.json(f"/websites/{website}/event-data/values", **DAY, event="props", propertyName="when")
    assert values == [{"value": "2026-11-01T00:00:00Z", "total": 1}]


def test_pages_referrers_and_guests(sim: UmamiSimulator, api: Api) -> None:
    website = sim.create_website()
    sim.send(_event(website, hostname="www.course.example.com", url="/a%20b/c?x=1#top",
                    referrer="https://www.google.com/search?q=umami", title="T%C3%AAte"))  # fmt: skip
    sim.send(_event(website, hostname="course.example.com", url="/d", referrer="/from-inside"))
    rows = api.json(f"/websites/{website}/events", **DAY)["data"]
    by_path = {r["urlPath"]: r for r in rows}
    first = by_path["/a b/c#top"]
    assert (first["urlQuery"], first["referrerDomain"], first["referrerPath"]) == (
        "x=1",
        "google.com",
        "/search",
    )
    assert (first["pageTitle"], first["eventType"], first["eventName"]) == ("Tête", 1, None)
    assert by_path["/d"]["referrerDomain"] is None and by_path["/d"]["referrerPath"] == "/from-inside"
    guest = api.json(f"/websites/{website}/sessions/{first['sessionId']}")
    assert guest["distinctId"] is None and guest["views"] == "2" and guest["browser"] == "chrome"


def test_filter_operators(sim: UmamiSimulator, api: Api) -> None:
    website = sim.create_website()
    senders = [
        ("course_visit", "u-1"), ("course_visit", "u-2"), ("daily_login", "u-1"), ("Course_Visit", "x-3"),
        (None, "u-4"),
    ]  # fmt: skip
    for i, (name, user) in enumerate(senders):
        sim.send(_event(website, name=name, id=user, timestamp=T + i))
    path = f"/websites/{website}/events"

    def count(**filters: str) -> int:
        return api.json(path, **DAY, **filters)["count"]

    assert count() == 5
    assert count(event="course_visit") == count(event="eq.course_visit") == 2
    assert count(event="neq.course_visit") == 2  # the page view has no name: no filter matches NULL
    assert count(event="c.visit") == 3 and count(event="dnc.visit") == 1
    assert count(event="re.^[a-z_]+$") == 3 and count(event="nre.^course") == 2
    assert count(event="course_visit,daily_login") == 3
    assert count(distinctId="re.^u-") == 4 and count(distinctId="u-1", event="daily_login") == 1
    assert count(event="nothing-like-this") == 0


def test_timestamp_defaults_to_now(sim: UmamiSimulator, api: Api) -> None:
    website = sim.create_website()
    before = int(time.time() * 1000)
    sim.send({"type": "event", "payload": {"website": website, "url": "/", "name": "now"}})
    window = {"startAt": str(before - 1000), "endAt": str(before + 60_000)}
    created = api.json(f"/websites/{website}/events", **window)["data"][0]["createdAt"]
    assert created.endswith("Z") and created.startswith(time.strftime("%Y-%m-%d", time.gmtime(before / 1000)))


def test_a_database_file_keeps_data_and_ids(tmp_path: Path) -> None:
    db = str(tmp_path / "umami.sqlite")
    with UmamiSimulator(db_path=db) as sim:
        website = sim.create_website()
        _, sent = sim.send(_event(website, name="course_visit", id="u-1", data={"shifu_bid": "s-1"}))
        event_id = Api(sim.base_url, token=sim.token()).json(f"/websites/{website}/events", **DAY)["data"][0]["id"]
    with UmamiSimulator(db_path=db) as sim:
        api = Api(sim.base_url, token=sim.token())
        assert api.json(f"/websites/{website}/events", **DAY)["data"][0]["id"] == event_id
        assert api.json(f"/websites/{website}/event-data/{event_id}")[0]["stringValue"] == "s-1"
        assert sim.send(_event(website, name="course_visit", id="u-1"))[1]["sessionId"] == sent["sessionId"]
