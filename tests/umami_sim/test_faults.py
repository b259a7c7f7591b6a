"""Every fault mode fires, is counted, can be limited to a path, and the server recovers after it."""

from __future__ import annotations

import time

import pytest
import requests

from tests.umami_sim.helpers import BROWSER_UA, Api
from umami_sim import Fault, UmamiSimulator

START = 1794000000


@pytest.fixture
def website(sim: UmamiSimulator) -> str:
    website_id = sim.create_website("faults", "course.example.com")
    for i in range(12):
        payload = {
            "website": website_id,
            "url": f"/c/{i}",
            "name": "course_visit",
            "id": f"u-{i % 4}",
            "timestamp": START + i * 60,
            "data": {"shifu_bid": f"shifu-{i % 3}"},
        }
        assert sim.send({"type": "event", "payload": payload})[0] == 200
    return website_id


def _events(api: Api, website: str, **params: str) -> requests.Response:
    query = {"startAt": str(START * 1000), "endAt": str((START + 3600) * 1000), **params}
    return api.get(f"/websites/{website}/events", query)


def test_latency(sim: UmamiSimulator, api: Api, website: str) -> None:
    sim.add_fault(kind="latency", latency_ms=400, count=2)
    for _ in range(2):
        started = time.perf_counter()
        assert _events(api, website).status_code == 200
        assert time.perf_counter() - started >= 0.4
    started = time.perf_counter()
    assert _events(api, website).status_code == 200
    assert time.perf_counter() - started < 0.4
    assert sim.stats()["faults_fired"] == {"latency": 2}


def test_rate_limited_with_retry_after(sim: UmamiSimulator, api: Api, website: str) -> None:
    sim.add_fault(Fault("status", status=429, retry_after=7, count=2))
    for _ in range(2):
        answer = _events(api, website)
        assert answer.status_code == 429 and answer.headers["Retry-After"] == "7"
        assert answer.json()["error"]["status"] == 429
    assert _events(api, website).status_code == 200


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_error_burst(sim: UmamiSimulator, api: Api, website: str, status: int) -> None:
    sim.add_fault(Fault("status", status=status, count=3))
    assert [_events(api, website).status_code for _ in range(4)] == [status, status, status, 200]
    assert sim.stats()["faults_fired"] == {"status": 3}


def test_connection_reset(sim: UmamiSimulator, api: Api, website: str) -> None:
    sim.add_fault(kind="reset")
    with pytest.raises(requests.ConnectionError):
        _events(api, website)
    assert _events(api, website).status_code == 200


def test_timeout_holds_the_request_open(sim: UmamiSimulator, api: Api, website: str) -> None:
    sim.add_fault(kind="timeout", hold_s=3.0)
    started = time.perf_counter()
    with pytest.raises(requests.Timeout):
        api.get(f"/websites/{website}/events", {"startAt": "0", "endAt": "1"}, timeout=0.5)
    assert time.perf_counter() - started < 2.5
    assert _events(api, website).status_code == 200


def test_malformed_json(sim: UmamiSimulator, api: Api, website: str) -> None:
    sim.add_fault(kind="malformed")
    answer = _events(api, website)
    assert answer.status_code == 200
    with pytest.raises(ValueError):
        answer.json()
    assert _events(api, website).json()["count"] == 12


def test_short_page_drops_rows_but_keeps_count(sim: UmamiSimulator, api: Api, website: str) -> None:
    sim.add_fault(kind="short_page", drop_rows=2, count=1)
    empty = _events(api, website, event="no-such-event")  # an empty list does not use the fault up
    assert empty.json()["data"] == []
    short = _events(api, website, pageSize="5").json()
    assert short["count"] == 12 and len(short["data"]) == 3
    full = _events(api, website, pageSize="5").json()
    assert full["count"] == 12 and len(full["data"]) == 5


def test_bad_rows_patch_some_rows_of_a_list(sim: UmamiSimulator, api: Api, website: str) -> None:
    sim.add_fault(kind="bad_rows", patch={"id": None, "extra": "x"}, patch_rows=2, count=1)
    assert _events(api, website, event="no-such-event").json()["data"] == []  # not used up
    spoiled = _events(api, website).json()
    assert spoiled["count"] == 12 and len(spoiled["data"]) == 12
    bad = [row for row in spoiled["data"] if row["id"] is None]
    assert len(bad) == 2 and all(row["extra"] == "x" and row["createdAt"] for row in bad)
    assert all(row["id"] for row in _events(api, website).json()["data"])  # one use only

    query = {"startAt": str(START * 1000), "endAt": str((START + 3600) * 1000), "event": "course_visit"}
    sim.add_fault(kind="bad_rows", patch={"total": "many"}, path="/event-data/values")
    values = api.get(f"/websites/{website}/event-data/values", {**query, "propertyName": "shifu_bid"}).json()
    assert [row["total"] for row in values].count("many") == 1  # a bare list answer too

    sim.add_fault(kind="bad_rows", patch={"data": {"events": "many"}}, path="/events/stats")
    assert api.get(f"/websites/{website}/events/stats", query).json() == {"data": {"events": "many"}}


def test_bad_rows_needs_a_patch() -> None:
    with pytest.raises(ValueError, match="patch"):
        Fault("bad_rows")
    with pytest.raises(ValueError, match="patch_rows"):
        Fault("bad_rows", patch={"id": None}, patch_rows=0)


def test_token_invalidation_until_login(sim: UmamiSimulator, api: Api, website: str) -> None:
    sim.add_fault(kind="token_expiry", path="/events")
    assert api.get("/heartbeat").status_code == 200  # not on the fault's path
    assert _events(api, website).status_code == 401
    assert _events(api, website).status_code == 401  # the old token stays dead
    api.login(sim.username, sim.password)
    assert _events(api, website).status_code == 200
    sim.invalidate_tokens()
    assert _events(api, website).status_code == 401


def test_fault_limited_to_a_path(sim: UmamiSimulator, api: Api, website: str) -> None:
    sim.add_fault(Fault("status", status=503, path="/event-data", count=None))
    range_ = {"startAt": str(START * 1000), "endAt": str((START + 3600) * 1000)}
    for _ in range(3):
        assert _events(api, website).status_code == 200
        assert api.get(f"/websites/{website}/event-data", range_).status_code == 503
    sim.clear_faults()
    assert api.get(f"/websites/{website}/event-data", range_).status_code == 200


def test_admin_endpoint_and_counters(sim: UmamiSimulator, api: Api, website: str) -> None:
    admin = requests.Session()
    answer = admin.post(
        f"{sim.admin_url}/faults",
        json={
            "faults": [
                {"kind": "status", "status": 502, "count": 1, "path": "/sessions/"},
                {"kind": "latency", "latency_ms": 1, "count": None},
            ]
        },
    )
    assert answer.status_code == 200 and len(answer.json()["faults"]) == 2
    assert admin.post(f"{sim.admin_url}/faults", json={"kind": "nope"}).status_code == 400
    admin.delete(f"{sim.admin_url}/stats")
    sessions = {row["sessionId"] for row in _events(api, website).json()["data"]}
    answers = [api.get(f"/websites/{website}/sessions/{s}").status_code for s in sorted(sessions)]
    assert sorted(answers) == [200, 200, 200, 502]
    stats = admin.get(f"{sim.admin_url}/stats").json()
    assert stats["total_requests"] == 5
    assert stats["faults_fired"] == {"status": 1, "latency": 5}
    assert sum(n for path, n in stats["requests"].items() if "/sessions/" in path) == 4
    assert sim.request_count("/sessions/") == 4 and sim.request_count() == 5
    assert admin.delete(f"{sim.admin_url}/faults").json() == {"faults": []}
    assert admin.get(f"{sim.admin_url}/stats").json()["active_faults"] == []


def test_faults_as_start_options() -> None:
    with UmamiSimulator(faults=[Fault("status", status=500, path="/heartbeat")]) as sim:
        api = Api(sim.base_url)
        assert api.get("/heartbeat", auth="none").status_code == 500
        assert api.get("/heartbeat", auth="none").status_code == 200


def test_sends_can_be_faulted_too(sim: UmamiSimulator, website: str) -> None:
    sim.add_fault(Fault("status", status=503, path="/api/send"))
    body = {"type": "event", "payload": {"website": website, "url": "/", "timestamp": START}}
    headers = {"User-Agent": BROWSER_UA}
    assert requests.post(sim.send_url, json=body, headers=headers, timeout=5).status_code == 503
    assert requests.post(sim.send_url, json=body, headers=headers, timeout=5).status_code == 200
